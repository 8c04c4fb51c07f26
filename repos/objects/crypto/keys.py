"""Master keys, data keys, and the envelope between them.

The hierarchy (SECURITY.md a8, T62):

- A **master key** (KEK, 32 bytes) comes from the environment or from a key file kept outside
  the data directory. It never touches object bytes; it only wraps data keys. Several master
  keys can be loaded at once (a ``Keyring``: one current, any number of previous) so a rotation
  can run while the hub serves: unwrap with whichever key a wrapped value names, wrap with the
  current one, re-wrap everything, then retire the old key.
- A **data key** (DEK, 32 bytes, one or more per repository, each with a short random id) is
  what objects are encrypted with (``format.py`` derives a separate key per object from it). The
  database stores data keys only wrapped, as ``WrappedKey.to_text()`` strings.

Wrapping uses AES-256-GCM rather than AES-KW (RFC 3394). AES-KW is deterministic and takes no
associated data, so a wrapped key row copied to another repository or key id would unwrap
without complaint. GCM's AAD binds the wrapped value to (repository id, data-key id, master-key
fingerprint); any move or edit fails as ``UnwrapError``. A master key wraps one key per
repository per rotation, many orders of magnitude below the 2^32 messages that random 96-bit
nonces allow under one key.

Master-key fingerprints are HMAC-SHA256(key, label) truncated to 64 bits: they identify a key in
a wrapped value and in logs without revealing anything about it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import os
import re
import secrets
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from repos.objects.crypto.atomic_file import AtomicFile
from repos.objects.crypto.errors import (
    KeyFileLocationError,
    KeyMaterialError,
    MasterKeyInvalid,
    MasterKeyMissing,
    UnknownMasterKey,
    UnwrapError,
    WrappedKeyInvalid,
)

logger = logging.getLogger(__name__)

KEY_BYTES = 32
KEY_ID_MAX = 64
REPO_ID_MAX = 256
_KEY_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
_FINGERPRINT_RE = re.compile(r"[0-9a-f]{16}")
_HEX_KEY_RE = re.compile(r"[0-9a-fA-F]{64}")
_B64_RE = re.compile(r"[A-Za-z0-9+/_-]+={0,2}")
_FINGERPRINT_LABEL = b"modelhub/master-key-fingerprint/v1"
_WRAP_LABEL = b"modelhub/wrapped-data-key/v1\x00"
_WRAP_PREFIX = "mhwk1"
_WRAP_NONCE = 12
_WRAPPED_BLOB = _WRAP_NONCE + KEY_BYTES + 16
# A key file is a few lines; anything bigger is a misconfiguration (the wrong path), not a key.
_KEY_FILE_MAX_BYTES = 64 * 1024
_KEY_FILE_MAX_KEYS = 16
_KEY_TEXT_MAX = 200


def _check_secret(secret: bytes, *, what: str) -> None:
    if not isinstance(secret, bytes) or len(secret) != KEY_BYTES:
        raise MasterKeyInvalid(f"{what} must be exactly {KEY_BYTES} bytes")
    # A key of one repeated byte is a placeholder someone forgot to replace, never a random key.
    if secret == secret[:1] * KEY_BYTES:
        raise MasterKeyInvalid(f"{what} is one byte repeated {KEY_BYTES} times: a placeholder, not a random key")


def _lp(value: bytes) -> bytes:
    """Length-prefixed, so concatenated fields cannot be re-split differently."""
    return len(value).to_bytes(2, "big") + value


def check_key_id(key_id: str) -> str:
    """Data-key ids go into object headers and wrapped-key strings: 1-64 of ``[A-Za-z0-9_-]``."""
    if not isinstance(key_id, str) or not _KEY_ID_RE.fullmatch(key_id):
        raise ValueError(f"invalid data key id {key_id!r}: 1-{KEY_ID_MAX} characters of A-Z a-z 0-9 _ -")
    return key_id


def _repo_id_bytes(repo_id: str) -> bytes:
    if not isinstance(repo_id, str) or not repo_id:
        raise ValueError("repo_id must be a non-empty string")
    raw = repo_id.encode("utf-8")
    if len(raw) > REPO_ID_MAX:
        raise ValueError(f"repo_id longer than {REPO_ID_MAX} bytes")
    return raw


@dataclass(frozen=True, repr=False, eq=False)
class MasterKey:
    """A key-encryption key. ``repr`` shows only the fingerprint, so a logged or printed key
    never leaks."""

    secret: bytes
    fingerprint: str = field(init=False)

    def __post_init__(self) -> None:
        _check_secret(self.secret, what="a master key")
        digest = hmac.new(self.secret, _FINGERPRINT_LABEL, hashlib.sha256).hexdigest()[:16]
        object.__setattr__(self, "fingerprint", digest)

    def __repr__(self) -> str:
        return f"MasterKey(fingerprint={self.fingerprint!r})"

    def to_text(self) -> str:
        """Standard base64 (44 characters), the form key files and env values use."""
        return base64.b64encode(self.secret).decode("ascii")


@dataclass(frozen=True, repr=False, eq=False)
class DataKey:
    """A data-encryption key with its id (the id is stored in every object it encrypts)."""

    key_id: str
    secret: bytes

    def __post_init__(self) -> None:
        check_key_id(self.key_id)
        if not isinstance(self.secret, bytes) or len(self.secret) != KEY_BYTES:
            raise ValueError(f"a data key must be exactly {KEY_BYTES} bytes")

    def __repr__(self) -> str:
        return f"DataKey(key_id={self.key_id!r})"


def generate_master_key() -> MasterKey:
    return MasterKey(secrets.token_bytes(KEY_BYTES))


def generate_data_key() -> DataKey:
    """A fresh random data key with a random 16-hex-character id (unique per repository with
    overwhelming probability; the caller's table should still enforce uniqueness)."""
    return DataKey(key_id=secrets.token_hex(8), secret=secrets.token_bytes(KEY_BYTES))


def parse_master_key(text: str, *, origin: str) -> MasterKey:
    """Decode a master key written as 64 hex characters or as base64 (standard or URL-safe,
    padding optional) of exactly 32 bytes.

    ``origin`` names where the text came from (``"environment variable HUB_MASTER_KEY"``) and
    appears in error messages; the value itself never does.
    """
    value = text.strip()
    if not value:
        raise MasterKeyMissing(f"the master key in {origin} is empty")
    if len(value) > _KEY_TEXT_MAX:
        raise MasterKeyInvalid(f"the master key in {origin} is {len(value)} characters long; expected 64 hex "
                               f"characters or 44 base64 characters encoding {KEY_BYTES} bytes")
    if _HEX_KEY_RE.fullmatch(value):
        secret = bytes.fromhex(value)
    else:
        secret = _decode_base64(value, origin=origin)
    try:
        return MasterKey(secret)
    except MasterKeyInvalid as exc:
        raise MasterKeyInvalid(f"the master key in {origin} is invalid: {exc}") from None


def _decode_base64(value: str, *, origin: str) -> bytes:
    if not _B64_RE.fullmatch(value):
        raise MasterKeyInvalid(f"the master key in {origin} is neither 64 hex characters nor base64 "
                               f"(it contains characters outside both alphabets)")
    unpadded = value.rstrip("=").replace("-", "+").replace("_", "/")
    try:
        secret = base64.b64decode(unpadded + "=" * (-len(unpadded) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise MasterKeyInvalid(f"the master key in {origin} is not valid base64 or hex") from None
    if len(secret) != KEY_BYTES:
        raise MasterKeyInvalid(f"the master key in {origin} decodes to {len(secret)} bytes; a master key is "
                               f"{KEY_BYTES} bytes (64 hex characters or 44 base64 characters)")
    return secret


# ---------------------------------------------------------------- wrapping


@dataclass(frozen=True)
class WrappedKey:
    """A data key encrypted under a master key, as stored in the database.

    Text form: ``mhwk1.<master fingerprint>.<data key id>.<base64url(nonce | ciphertext | tag)>``
    (about 110 characters). The repository id is not in the text: the caller supplies it on
    unwrap, and it must match the one given on wrap.
    """

    master_fingerprint: str
    key_id: str
    blob: bytes

    def __post_init__(self) -> None:
        if not _FINGERPRINT_RE.fullmatch(self.master_fingerprint):
            raise WrappedKeyInvalid("a wrapped key's master fingerprint must be 16 lowercase hex characters")
        if not isinstance(self.key_id, str) or not _KEY_ID_RE.fullmatch(self.key_id):
            raise WrappedKeyInvalid("a wrapped key's data key id is malformed")
        if len(self.blob) != _WRAPPED_BLOB:
            raise WrappedKeyInvalid(f"a wrapped key's payload must be {_WRAPPED_BLOB} bytes")

    def to_text(self) -> str:
        payload = base64.urlsafe_b64encode(self.blob).rstrip(b"=").decode("ascii")
        return f"{_WRAP_PREFIX}.{self.master_fingerprint}.{self.key_id}.{payload}"

    @classmethod
    def from_text(cls, text: str) -> WrappedKey:
        if not isinstance(text, str) or len(text) > 300:
            raise WrappedKeyInvalid("not a wrapped key (wrong type or too long)")
        parts = text.split(".")
        if len(parts) != 4 or parts[0] != _WRAP_PREFIX:
            raise WrappedKeyInvalid(f"not a wrapped key: expected '{_WRAP_PREFIX}.<fingerprint>.<key id>.<payload>'")
        payload = parts[3]
        if not re.fullmatch(r"[A-Za-z0-9_-]+", payload):
            raise WrappedKeyInvalid("a wrapped key's payload is not base64url")
        try:
            blob = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        except (binascii.Error, ValueError):
            raise WrappedKeyInvalid("a wrapped key's payload is not base64url") from None
        return cls(master_fingerprint=parts[1], key_id=parts[2], blob=blob)


def _wrap_aad(*, repo_id: str, key_id: str, master_fingerprint: str) -> bytes:
    return (_WRAP_LABEL + _lp(_repo_id_bytes(repo_id)) + _lp(key_id.encode("ascii"))
            + _lp(master_fingerprint.encode("ascii")))


def wrap_data_key(data_key: DataKey, *, master: MasterKey, repo_id: str) -> WrappedKey:
    """Encrypt ``data_key`` under ``master``, bound to ``repo_id`` and the data key's id."""
    nonce = secrets.token_bytes(_WRAP_NONCE)
    aad = _wrap_aad(repo_id=repo_id, key_id=data_key.key_id, master_fingerprint=master.fingerprint)
    sealed = AESGCM(master.secret).encrypt(nonce, data_key.secret, aad)
    return WrappedKey(master_fingerprint=master.fingerprint, key_id=data_key.key_id, blob=nonce + sealed)


def unwrap_data_key(wrapped: WrappedKey, *, master: MasterKey, repo_id: str) -> DataKey:
    """The data key inside ``wrapped``; ``UnwrapError`` unless ``master`` is the key it was
    wrapped with and ``repo_id`` the repository it was wrapped for."""
    if wrapped.master_fingerprint != master.fingerprint:
        raise UnwrapError(f"data key {wrapped.key_id} is wrapped by master key {wrapped.master_fingerprint}, "
                          f"not by {master.fingerprint}")
    aad = _wrap_aad(repo_id=repo_id, key_id=wrapped.key_id, master_fingerprint=master.fingerprint)
    try:
        secret = AESGCM(master.secret).decrypt(wrapped.blob[:_WRAP_NONCE], wrapped.blob[_WRAP_NONCE:], aad)
    except InvalidTag:
        raise UnwrapError(f"data key {wrapped.key_id} does not unwrap under master key {master.fingerprint} "
                          f"for repository {repo_id!r}: the wrapped value was modified or belongs to another "
                          f"repository or key id") from None
    return DataKey(key_id=wrapped.key_id, secret=secret)


def rewrap(wrapped: WrappedKey, old_master: MasterKey, new_master: MasterKey, *, repo_id: str) -> WrappedKey:
    """The same data key wrapped under ``new_master``. Objects are untouched: a master-key
    rotation rewrites one short database value per data key, not the stored bytes."""
    return wrap_data_key(unwrap_data_key(wrapped, master=old_master, repo_id=repo_id), master=new_master,
                         repo_id=repo_id)


class Keyring:
    """The master keys a process knows: one ``current`` (wraps new and re-wrapped data keys)
    and ``previous`` ones (only unwrap), looked up by the fingerprint a wrapped key names.

    Rotation while serving: (1) give every process a keyring whose current key is the new one
    and whose previous keys include the old one; (2) re-wrap every wrapped key for which
    ``needs_rewrap`` is true (``rewrap``), in any order, repeatable after a crash; (3) when none
    is left, drop the old key (``without``). Readers work throughout, because every process can
    unwrap under both keys between (1) and (3).
    """

    def __init__(self, current: MasterKey, previous: Iterable[MasterKey] = ()) -> None:
        self.current = current
        kept: list[MasterKey] = []
        seen = {current.fingerprint}
        for key in previous:
            if key.fingerprint not in seen:
                seen.add(key.fingerprint)
                kept.append(key)
        self.previous: tuple[MasterKey, ...] = tuple(kept)

    def __repr__(self) -> str:
        return f"Keyring(current={self.current.fingerprint!r}, previous={[k.fingerprint for k in self.previous]!r})"

    def __iter__(self) -> Iterator[MasterKey]:
        yield self.current
        yield from self.previous

    @property
    def fingerprints(self) -> tuple[str, ...]:
        return tuple(key.fingerprint for key in self)

    def master_for(self, fingerprint: str) -> MasterKey:
        for key in self:
            if hmac.compare_digest(key.fingerprint, fingerprint):
                return key
        raise UnknownMasterKey(f"no master key with fingerprint {fingerprint} is loaded (loaded: "
                               f"{', '.join(self.fingerprints)}); was it retired before every data key "
                               f"was re-wrapped?")

    def wrap(self, data_key: DataKey, *, repo_id: str) -> WrappedKey:
        return wrap_data_key(data_key, master=self.current, repo_id=repo_id)

    def unwrap(self, wrapped: WrappedKey, *, repo_id: str) -> DataKey:
        return unwrap_data_key(wrapped, master=self.master_for(wrapped.master_fingerprint), repo_id=repo_id)

    def needs_rewrap(self, wrapped: WrappedKey) -> bool:
        return wrapped.master_fingerprint != self.current.fingerprint

    def rewrap(self, wrapped: WrappedKey, *, repo_id: str) -> WrappedKey:
        """``wrapped`` under the current key (returned unchanged if it already is)."""
        if not self.needs_rewrap(wrapped):
            return wrapped
        return rewrap(wrapped, self.master_for(wrapped.master_fingerprint), self.current, repo_id=repo_id)

    def rotated(self) -> Keyring:
        """A keyring with a fresh current key and every key of this one as previous."""
        return Keyring(generate_master_key(), tuple(self))

    def without(self, fingerprint: str) -> Keyring:
        """This keyring less a retired previous key. The current key cannot be retired."""
        if fingerprint == self.current.fingerprint:
            raise ValueError("the current master key cannot be retired; rotate first")
        self.master_for(fingerprint)
        return Keyring(self.current, (k for k in self.previous if k.fingerprint != fingerprint))


# ---------------------------------------------------------------- key files and loading


def _check_outside(path: Path, data_dir: Path | None) -> None:
    if data_dir is None:
        return
    resolved, data = path.resolve(), data_dir.resolve()
    if resolved == data or resolved.is_relative_to(data):
        raise KeyFileLocationError(
            f"the master key file {path} is inside the data directory {data_dir}: a copy or backup of the data "
            f"would carry the key that decrypts it. Keep the key file elsewhere (or pass the key in the environment)"
        )


def parse_key_file_text(text: str, *, origin: str) -> Keyring:
    """One key per line (hex or base64), the first being the current key; blank lines and lines
    starting with ``#`` are ignored."""
    keys: list[MasterKey] = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if len(keys) == _KEY_FILE_MAX_KEYS:
            raise MasterKeyInvalid(f"{origin} holds more than {_KEY_FILE_MAX_KEYS} keys")
        keys.append(parse_master_key(line, origin=f"{origin}, line {number}"))
    if not keys:
        raise MasterKeyMissing(f"{origin} contains no key")
    return Keyring(keys[0], keys[1:])


def read_key_file(path: Path, *, data_dir: Path | None = None) -> Keyring:
    """The keyring in ``path``. Logs a warning when group or others may read it (it should be
    0600, owned by the hub's user)."""
    path = Path(path)
    _check_outside(path, data_dir)
    try:
        with open(path, "rb") as f:
            st = os.fstat(f.fileno())
            if not stat.S_ISREG(st.st_mode):
                raise MasterKeyInvalid(f"the master key file {path} is not a regular file")
            raw = f.read(_KEY_FILE_MAX_BYTES + 1)
    except FileNotFoundError:
        raise MasterKeyMissing(f"the master key file {path} does not exist") from None
    except IsADirectoryError:
        raise MasterKeyInvalid(f"the master key file {path} is a directory") from None
    except PermissionError:
        raise KeyMaterialError(f"the master key file {path} cannot be read by this process (permission denied)") \
            from None
    if len(raw) > _KEY_FILE_MAX_BYTES:
        raise MasterKeyInvalid(f"the master key file {path} is larger than {_KEY_FILE_MAX_BYTES} bytes: wrong file?")
    if st.st_mode & 0o077:
        logger.warning("the master key file %s has mode %o: group or others can read it; run chmod 600 %s",
                       path, stat.S_IMODE(st.st_mode), path)
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        raise MasterKeyInvalid(f"the master key file {path} is not ASCII text (hex or base64 keys)") from None
    return parse_key_file_text(text, origin=f"the master key file {path}")


def write_key_file(path: Path, keyring: Keyring, *, data_dir: Path | None = None, replace: bool = False) -> None:
    """Write ``keyring`` to ``path`` atomically with mode 0600 (creating missing parent
    directories with mode 0700). Without ``replace``, refuses to overwrite an existing file
    (``FileExistsError``): overwriting the only copy of a key loses every object under it."""
    path = Path(path)
    _check_outside(path, data_dir)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    lines = [
        f"# ModelHub master keys, written {stamp}. The first key is current; the others only unwrap.",
        "# Back this file up apart from the data directory: without it encrypted objects are lost.",
        *(key.to_text() for key in keyring),
    ]
    with AtomicFile(path, mode=0o600, no_clobber=not replace) as out:
        out.file.write(("\n".join(lines) + "\n").encode("ascii"))
        out.commit()


def generate_key_file(path: Path, *, data_dir: Path | None = None) -> Keyring:
    """Create ``path`` with one fresh master key, loudly. If another process created it first
    (several web workers starting together), its key is loaded and returned instead."""
    keyring = Keyring(generate_master_key())
    try:
        write_key_file(path, keyring, data_dir=data_dir)
    except FileExistsError:
        return read_key_file(path, data_dir=data_dir)
    logger.warning(
        "\n%s\nGENERATED A NEW MASTER KEY (fingerprint %s) in %s\nEvery encrypted object depends on it. Back this file "
        "up NOW, apart from the data directory; losing it makes encrypted data unrecoverable.\n%s",
        "!" * 78, keyring.current.fingerprint, path, "!" * 78,
    )
    return keyring


def load_keyring(
    *,
    env_value: str | None,
    env_previous: str | None = None,
    key_file: Path | None = None,
    data_dir: Path | None = None,
    generate: bool = False,
    env_name: str = "the master key environment variable",
) -> Keyring:
    """The process's keyring, from the first source that is configured:

    1. ``env_value`` (the current key) plus ``env_previous`` (older keys separated by commas or
       whitespace), read by the caller from the environment; the key file is then not read;
    2. ``key_file`` (must lie outside ``data_dir``); when it does not exist and ``generate`` is
       true (the embedded default), a new key is generated into it with a loud warning.

    Anything else raises ``MasterKeyMissing`` naming what to set. ``env_name`` only labels
    messages.
    """
    if env_value is not None and env_value.strip():
        current = parse_master_key(env_value, origin=f"environment variable {env_name}")
        previous = [parse_master_key(item, origin=f"previous master key #{i} in the environment")
                    for i, item in enumerate(re.split(r"[\s,]+", (env_previous or "").strip()), start=1) if item]
        return Keyring(current, previous)
    if env_previous is not None and env_previous.strip():
        raise MasterKeyMissing(f"previous master keys are set but the current one ({env_name}) is not")
    if key_file is not None:
        key_file = Path(key_file)
        _check_outside(key_file, data_dir)
        if not key_file.exists() and generate:
            return generate_key_file(key_file, data_dir=data_dir)
        if not key_file.exists():
            raise MasterKeyMissing(f"no master key: set {env_name} or create the key file {key_file}")
        return read_key_file(key_file, data_dir=data_dir)
    raise MasterKeyMissing(f"no master key: set {env_name} or configure a key file outside the data directory")
