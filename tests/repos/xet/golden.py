"""Golden bytes captured from the real hf_xet: one xorb and one shard of a 4-file upload.

The files are generated from fixed seeds (``golden_files``); ``fixtures/`` holds what hf-xet
1.8.0 uploaded for them to ``StubCas``. Tests parse these bytes with our code and compare
against what the client itself computed (file hashes, sha256 in ``meta.json``), so format
regressions show up even without hf_xet installed.

Regenerate (only when deliberately changing client version):
``.venv/bin/python -m tests.repos.xet.golden``.
"""

from __future__ import annotations

import json
import random
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

FIXTURES = Path(__file__).with_name("fixtures")


def golden_files() -> dict[str, bytes]:
    """One chunk of random bytes (stored uncompressed), text over several chunks (LZ4), float32
    (byte-grouped LZ4), and a one-byte file."""
    text = b"".join(f"line {i}: the quick brown fox jumps over the lazy dog\n".encode() for i in range(3000))
    return {
        "random.bin": random.Random(11).randbytes(40_000),
        "text.txt": text,
        "floats.f32": np.random.default_rng(2).normal(size=10_000).astype("<f4").tobytes(),
        "one.bin": b"x",
    }


@dataclass(frozen=True)
class Golden:
    xorb_name: str
    xorb: bytes
    shard: bytes
    files: dict[str, dict[str, Any]]  # name -> {"hash", "size", "sha256"} as hf_xet reported
    client: str


def load_golden() -> Golden:
    meta = json.loads((FIXTURES / "meta.json").read_text())
    return Golden(
        xorb_name=meta["xorb"],
        xorb=(FIXTURES / "upload.xorb").read_bytes(),
        shard=(FIXTURES / "upload.shard").read_bytes(),
        files=meta["files"],
        client=meta["client"],
    )


def main() -> None:
    import importlib.metadata

    from tests.repos.xet.cas_stub import StubCas
    from tests.repos.xet.hf_xet_driver import run_hf_xet

    files = golden_files()
    with tempfile.TemporaryDirectory() as tmp, StubCas() as cas:
        paths = []
        for name, data in files.items():
            p = Path(tmp) / name
            p.write_bytes(data)
            paths.append(str(p))
        results = run_hf_xet(cas, {"op": "upload", "paths": paths})
        (xorb_body,) = cas.state.xorb_bodies
        (shard_body,) = cas.state.shard_bodies
        (xorb_name,) = (path.rsplit("/", 1)[1] for method, path, _ in cas.state.log if path.startswith("/v1/xorbs/"))
    FIXTURES.mkdir(exist_ok=True)
    (FIXTURES / "upload.xorb").write_bytes(xorb_body)
    (FIXTURES / "upload.shard").write_bytes(shard_body)
    meta = {
        "client": f"hf-xet {importlib.metadata.version('hf-xet')}",
        "xorb": xorb_name,
        "files": dict(zip(files, results, strict=True)),
    }
    (FIXTURES / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    print(f"wrote {len(xorb_body)} + {len(shard_body)} bytes to {FIXTURES}")


if __name__ == "__main__":
    main()
