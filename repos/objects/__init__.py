"""THE byte door: the only code that stores or reads large-file (LFS) bytes.

Every path that takes bytes in (LFS PUT, browser upload, later Xet) calls `ingest`; every path
that serves or reads them (`/resolve/`, blob and safetensors views, git-lfs downloads, the
analysis task, job snapshots) calls `open_object`. Whether a repository may read an object is
decided by `repos.gate.object_readable`: an object is readable through a repository only if it
was uploaded (or pushed) *to that repository* and is stored whole - knowing a sha256 from
another, private, repository gives nothing. The backend is the named storage `STORAGES["lfs"]`.
"""
from typing import TYPE_CHECKING, Any

# The door (Django models, settings) is loaded on first use, so that the pure subpackages
# (`backends`, `crypto`) can be imported without Django.
__all__ = ["ObjectNotFound", "ObjectVerifyError", "StoredObject", "encrypted_objects_remover", "encrypted_store",
           "find", "ingest", "ingest_file", "link", "open_object", "purge_stale_temporaries", "readable_objects",
           "storage_backend", "stored_whole", "unlink"]

if TYPE_CHECKING:
    from repos.objects.door import (
        ObjectNotFound,
        ObjectVerifyError,
        StoredObject,
        encrypted_objects_remover,
        encrypted_store,
        find,
        ingest,
        ingest_file,
        link,
        open_object,
        purge_stale_temporaries,
        readable_objects,
        storage_backend,
        stored_whole,
        unlink,
    )


def __getattr__(name: str) -> Any:
    if name in __all__:
        from repos.objects import door

        return getattr(door, name)
    raise AttributeError(f"module 'repos.objects' has no attribute {name!r}")

