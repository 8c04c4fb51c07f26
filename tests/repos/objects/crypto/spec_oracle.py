"""An independent decoder of the encrypted-object format, written from the layout described in
``repos/objects/crypto/format.py``'s docstring (not from its code), with plain ``struct``,
``HKDF`` and one-shot ``AESGCM.decrypt``. Tests compare the real reader against it, so the code
and the documented format cannot drift apart silently."""
from __future__ import annotations

import hashlib
import hmac
import struct
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


@dataclass
class Decoded:
    plaintext: bytes
    object_key: bytes
    nonces: list[bytes]
    header: bytes
    salt: bytes
    key_id: str
    chunk_size: int


def _lp(b: bytes) -> bytes:
    return struct.pack(">H", len(b)) + b


def decode(blob: bytes, *, dek: bytes, oid: str) -> Decoded:
    assert blob[:8] == b"\x89MHENC\r\n"
    version, shift = blob[8], blob[9]
    assert version == 1
    (size,) = struct.unpack(">Q", blob[10:18])
    salt = blob[18:50]
    key_check = blob[50:66]
    id_len = blob[66]
    key_id = blob[67:67 + id_len].decode("ascii")
    header = blob[:67 + id_len]
    chunk = 1 << shift
    assert hmac.new(dek, b"modelhub/key-check/v1\x00" + salt, hashlib.sha256).digest()[:16] == key_check
    info = b"modelhub/object-key/v1\x00" + _lp(key_id.encode()) + _lp(oid.encode())
    material = HKDF(algorithm=hashes.SHA256(), length=40, salt=salt, info=info).derive(dek)
    aead = AESGCM(material[:32])
    count = max(1, -(-size // chunk))
    pos, out, nonces = len(header), [], []
    for i in range(count):
        n = chunk if i < count - 1 else size - i * chunk
        nonce = material[32:] + struct.pack(">I", i)
        aad = (b"modelhub/object-chunk/v1\x00" + _lp(header) + _lp(oid.encode())
               + struct.pack(">QB", i, 1 if i == count - 1 else 0))
        out.append(aead.decrypt(nonce, blob[pos:pos + n + 16], aad))
        nonces.append(nonce)
        pos += n + 16
    assert pos == len(blob), "trailing bytes after the last chunk"
    return Decoded(b"".join(out), material[:32], nonces, header, salt, key_id, chunk)
