"""Shared by the client scripts (run by *both* the newest and the 0.x huggingface_hub, so
stdlib only): a step recorder that keeps going after a failed check, and the result line.

A script records concrete values (`out[...]`), and every failing step's exception under
`errors[step]`; the pytest side asserts on those values, so one broken endpoint shows up as
one precise failure instead of hiding everything after it.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import sys
import traceback
from typing import Any

RESULT_PREFIX = "COMPAT-RESULT: "


class Recorder:
    def __init__(self) -> None:
        self.out: dict[str, Any] = {}
        self.errors: dict[str, str] = {}

    @contextlib.contextmanager
    def step(self, name: str):
        try:
            yield
        except Exception as exc:  # noqa: BLE001 - reported to the test, which fails on it
            tb = traceback.format_exc(limit=6)
            self.errors[name] = f"{type(exc).__name__}: {exc}\n{tb[-3000:]}"

    def expect_error(self, name: str, func, *args, **kwargs) -> None:
        """Call `func`; record the class name and HF base classes of what it raises."""
        from huggingface_hub import errors

        bases = ("RepositoryNotFoundError", "RevisionNotFoundError", "EntryNotFoundError", "GatedRepoError")
        try:
            func(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001
            self.out.setdefault("raised", {})[name] = {
                "class": type(exc).__name__,
                "is": sorted(b for b in bases if isinstance(exc, getattr(errors, b))),
                "status": getattr(getattr(exc, "response", None), "status_code", None),
            }
        else:
            self.out.setdefault("raised", {})[name] = {"class": None, "is": [], "status": None}

    def finish(self) -> None:
        print(RESULT_PREFIX + json.dumps({"out": self.out, "errors": self.errors}, sort_keys=True, default=str))
        sys.stdout.flush()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def safetensors_bytes() -> tuple[bytes, dict[str, Any]]:
    """A tiny, valid safetensors file written by hand (no safetensors package in the 0.x venv)."""
    import struct

    header = {
        "__metadata__": {"format": "pt"},
        "w": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]},
        "b": {"dtype": "F16", "shape": [4], "data_offsets": [24, 32]},
    }
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    data = bytes(range(32))
    return struct.pack("<Q", len(raw)) + raw + data, header
