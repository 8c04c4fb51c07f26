"""Helpers for the HTML page tests (repositories and commits come from tests/factories.py)."""
from __future__ import annotations

import json
import struct


def safetensors_bytes(tensors: dict[str, tuple[str, list[int]]], metadata: dict[str, str] | None = None) -> bytes:
    """A valid safetensors file with zeroed data."""
    sizes = {"F32": 4, "F16": 2, "BF16": 2, "I64": 8}
    header: dict[str, object] = {}
    offset = 0
    for name, (dtype, shape) in tensors.items():
        n = sizes[dtype]
        for d in shape:
            n *= d
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + n]}
        offset += n
    if metadata:
        header["__metadata__"] = metadata
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw)) + raw + b"\0" * offset


def copy_snippets(html: str) -> dict[str, str]:
    """The text each "Use this" copy button copies, by snippet key (`data-snippet`)."""
    from html.parser import HTMLParser

    found: dict[str, str] = {}

    class Parser(HTMLParser):
        key = ""

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            a = dict(attrs)
            if a.get("data-snippet"):
                self.key = a["data-snippet"] or ""
            if "data-copy" in a and self.key and self.key not in found:
                found[self.key] = a["data-copy"] or ""

    Parser().feed(html)
    return found
