"""The git-lfs batch API (``POST .../info/lfs/objects/batch``): request parsing and response
building as plain dicts. The view parses JSON, calls ``parse_batch_request``, decides per
object (permissions, presence in the store, signed URLs) and assembles the answer with the
builders below; the JSON shapes live only here.

Two client rules shape the builders (HF_PROTOCOL.md 6.3, XET.md §2.3): ``transfer`` is
``"xet"`` only when the hub runs its Xet CAS and the client offered it (huggingface_hub
0.31-1.19 then uploads through Xet instead of the actions), and an object that needs no
transfer is answered without ``actions``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

from repos.lfs.errors import LfsError
from repos.lfs.pointer import is_valid_oid

Operation = Literal["upload", "download"]

MAX_BATCH_OBJECTS = 1000
# Transfers this server can speak, in order of preference. "xet" is chosen by the caller
# (`select_transfer(..., offered=...)`), never by default: only a hub with a Xet CAS offers it.
SUPPORTED_TRANSFERS: tuple[str, ...] = ("xet", "basic", "multipart")


class BatchError(LfsError):
    """A batch request the server refuses as a whole. ``code`` is the HTTP status the git-lfs
    spec prescribes: 422 malformed/invalid, 413 too many objects, 409 unsupported hash."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class BatchObject(NamedTuple):
    """One requested object; a tuple so callers may unpack ``for oid, size in req.objects``."""

    oid: str
    size: int


@dataclass(frozen=True, slots=True)
class BatchRequest:
    operation: Operation
    objects: list[BatchObject]
    transfers: list[str] = field(default_factory=lambda: ["basic"])
    ref: str | None = None


@dataclass(frozen=True, slots=True)
class LfsAction:
    """One action link: where to send or fetch the bytes, and for how long it is valid."""

    href: str
    header: Mapping[str, str] | None = None
    expires_in: int | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"href": self.href}
        if self.header:
            out["header"] = dict(self.header)
        if self.expires_in is not None:
            out["expires_in"] = self.expires_in
        return out


def parse_batch_request(obj: object) -> BatchRequest:
    """Validate a decoded batch request body; raise ``BatchError`` on anything malformed."""
    if not isinstance(obj, Mapping):
        raise BatchError(422, "batch request must be a JSON object")

    operation = obj.get("operation")
    if operation not in ("upload", "download"):
        raise BatchError(422, f"unknown operation: {operation!r}")

    hash_algo = obj.get("hash_algo", "sha256")
    if hash_algo != "sha256":
        raise BatchError(409, f"unsupported hash algorithm: {hash_algo!r}")

    transfers_raw = obj.get("transfers")
    if transfers_raw is None:
        # The spec: omitted means the client only speaks "basic".
        transfers = ["basic"]
    elif isinstance(transfers_raw, list) and all(isinstance(t, str) for t in transfers_raw):
        transfers = list(transfers_raw)
    else:
        raise BatchError(422, "transfers must be a list of strings")

    ref_raw = obj.get("ref")
    ref: str | None
    if ref_raw is None:
        ref = None
    elif isinstance(ref_raw, Mapping) and isinstance(ref_raw.get("name"), str):
        ref = ref_raw["name"]
    else:
        raise BatchError(422, "ref must be an object with a string name")

    objects_raw = obj.get("objects")
    if not isinstance(objects_raw, list):
        raise BatchError(422, "objects must be a list")
    if len(objects_raw) > MAX_BATCH_OBJECTS:
        raise BatchError(413, f"too many objects in one batch: {len(objects_raw)} > {MAX_BATCH_OBJECTS}")
    objects: list[BatchObject] = []
    seen: set[BatchObject] = set()
    for i, item in enumerate(objects_raw):
        if not isinstance(item, Mapping):
            raise BatchError(422, f"objects[{i}] must be an object")
        oid, size = item.get("oid"), item.get("size")
        if not isinstance(oid, str) or not is_valid_oid(oid):
            raise BatchError(422, f"objects[{i}]: invalid oid {oid!r}")
        # bool is an int subclass; JSON true must not pass as size 1.
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise BatchError(422, f"objects[{i}]: invalid size {size!r}")
        entry = BatchObject(oid=oid, size=size)
        # Exact duplicates would only produce duplicate answers (and duplicate signed URLs).
        if entry not in seen:
            seen.add(entry)
            objects.append(entry)
    return BatchRequest(
        operation=operation,  # type: ignore[arg-type]  # narrowed by the membership test
        objects=objects,
        transfers=transfers,
        ref=ref,
    )


def select_transfer(requested: Sequence[str], *, offered: Iterable[str] = ("basic",)) -> str:
    """The transfer adapter to announce: the first of ours (and of `offered`) the client
    listed, else "basic" (every client speaks it, and the spec makes it the default)."""
    offered_set = {t for t in offered if t in SUPPORTED_TRANSFERS}
    for transfer in SUPPORTED_TRANSFERS:
        if transfer in offered_set and transfer in requested:
            return transfer
    return "basic"


def object_actions(
    oid: str,
    size: int,
    *,
    upload: LfsAction | None = None,
    download: LfsAction | None = None,
    verify: LfsAction | None = None,
    authenticated: bool = True,
) -> dict[str, Any]:
    """One object of a batch response. With no action at all, the object is reported as
    already present, which clients read as "nothing to transfer"."""
    out: dict[str, Any] = {"oid": oid, "size": size}
    actions: dict[str, Any] = {}
    if upload is not None:
        actions["upload"] = upload.to_json()
    if download is not None:
        actions["download"] = download.to_json()
    if verify is not None:
        actions["verify"] = verify.to_json()
    if actions:
        out["authenticated"] = authenticated
        out["actions"] = actions
    return out


def object_error(oid: str, size: int, code: int, message: str) -> dict[str, Any]:
    """A per-object failure (e.g. 404 unknown object on download, 422 size mismatch); the
    rest of the batch still proceeds."""
    return {"oid": oid, "size": size, "error": {"code": int(code), "message": str(message)}}


def batch_response(objects: Sequence[Mapping[str, Any]], *, transfer: str = "basic") -> dict[str, Any]:
    """The full response body (content type ``application/vnd.git-lfs+json``)."""
    if transfer not in SUPPORTED_TRANSFERS:
        raise ValueError(f"refusing to announce unsupported transfer {transfer!r}")
    return {"transfer": transfer, "objects": [dict(o) for o in objects], "hash_algo": "sha256"}
