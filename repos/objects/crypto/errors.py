"""Exceptions of the encryption-at-rest layer.

They carry no HTTP knowledge (this package imports no Django); the byte door maps them at the
edge. Every message names what failed (object id, chunk index, key ids, key fingerprints, file
paths) and never contains key material or plaintext, so they are safe to log.

Two families matter to callers:
- ``KeyMaterialError``: the master key could not be loaded. Raised at start-up; the hub must not
  run without its key, so the right reaction is to stop with the message.
- ``DecryptionError``: stored bytes cannot be turned back into plaintext. Raised instead of ever
  returning unauthenticated bytes; the right reaction is an error response and an alert, never
  a retry with another guess.
"""

from __future__ import annotations


class CryptoError(Exception):
    """Base class for every error raised by ``repos.objects.crypto``."""


# ---------------------------------------------------------------- master keys and key files


class KeyMaterialError(CryptoError):
    """A master key is missing, malformed, or stored somewhere it must not be."""


class MasterKeyMissing(KeyMaterialError):
    """Neither the environment nor a key file provides a master key."""


class MasterKeyInvalid(KeyMaterialError, ValueError):
    """A master key value does not decode to exactly 32 bytes (or is an obvious placeholder)."""


class KeyFileLocationError(KeyMaterialError):
    """The key file lies inside the data directory: a copy or backup of the data would then
    carry the key that unlocks it."""


# ---------------------------------------------------------------- data keys and wrapping


class UnknownMasterKey(CryptoError):
    """A wrapped data key names a master-key fingerprint that is not in the keyring (a retired
    master key was removed before every data key was re-wrapped)."""


class UnknownDataKey(CryptoError):
    """No data key with the requested id is known (raised by key lookups the caller passes in,
    when they choose to use this type)."""


class WrappedKeyInvalid(CryptoError, ValueError):
    """A wrapped-key string is not in the ``mhwk1.`` format."""


# ---------------------------------------------------------------- decryption


class DecryptionError(CryptoError):
    """Stored bytes cannot be authenticated and decrypted. No plaintext is returned."""


class UnwrapError(DecryptionError):
    """A wrapped data key does not authenticate under its master key: wrong master key, a
    wrapped key copied to another repository or key id, or a modified value."""


class MalformedHeader(DecryptionError):
    """The file does not start with a well-formed encrypted-object header (not an encrypted
    object, an unknown format version, or out-of-range fields)."""


class WrongDataKey(DecryptionError):
    """The data key offered is not the one the object was encrypted with (its id differs from
    the header's, or its key-check value does not match)."""


class ObjectLengthMismatch(DecryptionError):
    """The file's length is not what its header implies: it was truncated or extended."""


class ChunkAuthenticationError(DecryptionError):
    """A chunk fails AES-GCM authentication under the right data key: the file was modified,
    chunks were reordered or swapped, or the file belongs to another object."""


# ---------------------------------------------------------------- encryption and rewriting


class SourceSizeMismatch(CryptoError, ValueError):
    """The plaintext stream is longer or shorter than the size announced for it. The partial
    output holds ciphertext only and must be discarded by the caller."""


class DigestMismatch(CryptoError):
    """The plaintext's sha256 is not the expected one; the target was left untouched."""


class ObjectChanged(CryptoError):
    """The object file was replaced or deleted while it was being rewritten; the rewrite was
    abandoned so it cannot resurrect a deleted object or undo a newer write."""
