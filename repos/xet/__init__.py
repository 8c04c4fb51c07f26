"""PURE Xet storage format layer (no Django, no ORM): hashes, chunking, xorbs, shards,
reconstruction plans, signed fetch URLs, CAS tokens and shard verification.

The CAS views (XET.md §2-§3) are meant to be thin wrappers: they authorise, hand streams and
callables (xorb lookup, ranged opens of stored bytes, secrets, clocks) to these modules, and
serialise what comes back. Module map:

* ``hashes``: ``MerkleHash`` and chunk/xorb/file/verification/keyed hashes.
* ``chunking``: content-defined chunking, byte-exact with hf_xet.
* ``compression``: chunk payload schemes (none, LZ4 frame, BG4 + LZ4).
* ``xorb``: parse/validate uploads, build xorbs, footers, read chunk ranges.
* ``shard``: parse uploads, serialise shards, global-dedup answer shards.
* ``shard_progress``: NDJSON frames of ``POST /v2/shards``.
* ``verify``: everything a shard claims, checked before registration.
* ``reconstruction``: reconstruction answers (v1/v2 JSON) and file byte streaming.
* ``fetch_signing``: self-authenticating fetch URLs bound to xorb + byte range + expiry + reader.
* ``tokens``: signed CAS access tokens and the xet-token answer.
* ``http_range``: the single ``Range`` header forms the Xet routes accept.
* ``conversion``: LFS object -> xorbs + file entry (server-side conversion).
"""
