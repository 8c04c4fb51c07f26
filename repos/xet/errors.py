"""Exceptions of the Xet format layer.

Two families, because the web layer answers them differently:

* ``XetFormatError``: the bytes are not a well-formed Xet object (bad header, truncated, over a
  limit, bad compression, hash of the body differs from its name). Always the client's fault: a
  400, never retried.
* ``XetVerificationError``: a well-formed shard makes a claim the server cannot confirm from data
  it already holds (a file hash that is not the hash of its chunks, a forged verification range
  hash, a sha256 that is not the sha256 of the reconstructed bytes). Also a 400, but it is the
  error that means "someone tried to register content they do not own", worth logging as such.

Like ``repos.lfs.errors`` they carry no HTTP knowledge; the edge maps them.
"""

from __future__ import annotations


class XetError(Exception):
    """Base class for every error raised by ``repos.xet``."""


class XetFormatError(XetError, ValueError):
    """Bytes that are not a valid Xet object (also a ``ValueError``: bad input, not a bug)."""


class InvalidHashString(XetFormatError):
    """A hash in a URL or JSON is not 64 lowercase hex characters."""


class TruncatedInput(XetFormatError):
    """The stream ended inside a structure that promised more bytes."""


class LimitExceeded(XetFormatError):
    """A count or size is over the configured bound (chunks per xorb, bytes per shard, ...).

    Raised *before* the oversized thing is read or allocated, so hostile declared counts cost
    nothing.
    """


class CompressionError(XetFormatError):
    """A chunk payload does not decompress to exactly the length its header declares."""


class XorbFormatError(XetFormatError):
    """A xorb body (chunk records, optional footer) is malformed."""


class XorbHashMismatch(XorbFormatError):
    """The xorb hash recomputed from the chunks differs from the hash it was uploaded under."""


class ShardFormatError(XetFormatError):
    """A shard (header, file-info section, xorb-info section, footer) is malformed."""


class MalformedRange(XetFormatError):
    """A ``Range`` header that is not one syntactically valid byte range."""


class RangeNotSatisfiable(XetError, ValueError):
    """A byte range starts at or past the end of the file (HTTP 416 for reconstructions)."""


class FetchDenied(XetError):
    """A fetch URL is unsigned, forged, expired, or asked for bytes outside its signed range.

    HTTP 403: hf_xet then asks for a fresh reconstruction (new URLs) and retries.
    """


class InvalidCasToken(XetError):
    """A CAS access token is malformed, forged or expired (HTTP 401; clients do not retry)."""


class XetVerificationError(XetError):
    """A shard's claim about content does not match the content the server holds."""


class UnknownXorb(XetVerificationError):
    """A shard references a xorb the caller does not hold or may not see.

    The two cases must look identical to the client (same message), so existence of other
    tenants' xorbs never leaks.
    """


class SegmentMismatch(XetVerificationError):
    """A file segment's chunk range or byte count disagrees with the xorb's real chunks."""


class VerificationHashMismatch(XetVerificationError):
    """A segment's verification range hash is not the hash of the xorb's chunk hashes."""


class MissingVerification(XetVerificationError):
    """A shard registers files without the verification entries that prove possession."""


class XorbBlockMismatch(XetVerificationError):
    """A shard's xorb-info block lists other chunks than the xorb really holds."""


class FileHashMismatch(XetVerificationError):
    """A file hash is not the Merkle hash of the chunks its segments name."""


class Sha256Mismatch(XetVerificationError):
    """The sha256 a shard claims for a file is not the sha256 of the reconstructed bytes."""


class FileSizeLimitExceeded(XetVerificationError):
    """A registered file would be larger than the hub accepts."""
