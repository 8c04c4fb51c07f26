"""Encryption at rest for large objects (SECURITY.md a8, T62). PURE: imports no Django.

- ``keys``: master keys (env or key file), the keyring used during rotation, data keys and
  their AES-GCM wrapping.
- ``format``: the chunked AES-256-GCM object format and its public API (``encrypt_stream``,
  ``EncryptedReader``, ``open_plaintext``, ``plaintext_size``), implemented in ``header``,
  ``encrypt``, ``reader`` and ``streams``; ``buffers`` pools the reader's buffers per thread.
- ``reencrypt``: rewrite one object under another key (or into/out of encryption) atomically.
- ``atomic_file``: same-directory temporary file + fsync + rename.
- ``errors``: the typed exceptions (``DecryptionError``, ``KeyMaterialError`` and subclasses).
"""
