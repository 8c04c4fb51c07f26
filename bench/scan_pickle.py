"""Pickle scanning cost against simply reading the same file, measured side by side.

Generates, in a temp dir, ~1 GiB benign checkpoints (torch zip format, torch legacy format,
and a protocol-5 pickle of numpy arrays), then alternates rounds of (a) reading the file
in 1 MiB chunks and (b) `scan_model_file` on it, with the page cache warm for both. Prints
one line per file:

    scan_pickle_<kind>: <ratio> (scan <s>/GiB, read <s>/GiB; target <= 2.0)

The non-seekable variant feeds the same raw pickle through a pipe-like wrapper, so every byte
must flow through the scanner (no seeking over tensor data).

    .venv/bin/python -m bench.scan_pickle [--size-mb 1024] [--rounds 3] [--strict]
"""

from __future__ import annotations

import argparse
import io
import os
import pickle
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from typing import BinaryIO

TARGET = 2.0


class _Pipe(io.RawIOBase):
    """A file that cannot seek (like a socket or a decompressor)."""

    def __init__(self, f: BinaryIO) -> None:
        super().__init__()
        self._f = f

    def readable(self) -> bool:
        return True

    def read(self, n: int | None = -1) -> bytes:
        return self._f.read(-1 if n is None else n)


def _make_files(directory: str, size_mb: int) -> dict[str, str]:
    import torch

    tensor_mb = 16
    count = max(1, size_mb // tensor_mb)
    state = {f"layer.{i}.weight": torch.randn(tensor_mb * 1024 * 1024 // 4) for i in range(count)}
    paths = {
        "torch_zip": os.path.join(directory, "pytorch_model.bin"),
        "torch_legacy": os.path.join(directory, "legacy.pt"),
        "numpy_pickle_p5": os.path.join(directory, "arrays.pkl"),
    }
    torch.save(state, paths["torch_zip"])
    torch.save(state, paths["torch_legacy"], _use_new_zipfile_serialization=False)
    with open(paths["numpy_pickle_p5"], "wb") as f:
        pickle.dump({k: v.numpy() for k, v in state.items()}, f, protocol=5)
    del state
    return paths


def _read_all(path: str) -> None:
    with open(path, "rb", buffering=0) as f:
        while f.read(1 << 20):
            pass


def _scan(path: str, *, pipe: bool) -> str:
    from safety.scanners.pickles import scan_model_file

    with open(path, "rb") as f:
        result = scan_model_file(_Pipe(f) if pipe else f)
    return result.status


def _time(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    missed = False
    with tempfile.TemporaryDirectory(prefix="bench-scan-") as directory:
        paths = _make_files(directory, args.size_mb)
        cases = [(kind, path, False) for kind, path in paths.items()]
        cases.append(("numpy_pickle_p5_nonseekable", paths["numpy_pickle_p5"], True))
        for kind, path, pipe in cases:
            gib = os.path.getsize(path) / (1 << 30)
            _read_all(path)  # warm the page cache for both sides
            status = _scan(path, pipe=pipe)
            reads, scans = [], []
            for _ in range(args.rounds):
                reads.append(_time(lambda p=path: _read_all(p)))  # type: ignore[misc]
                scans.append(_time(lambda p=path, q=pipe: _scan(p, pipe=q)))  # type: ignore[misc]
            read_s, scan_s = statistics.median(reads) / gib, statistics.median(scans) / gib
            ratio = scan_s / read_s
            missed |= ratio > TARGET or status != "safe"
            print(f"scan_pickle_{kind}: {ratio:.3f} (scan {scan_s:.3f} s/GiB, read {read_s:.3f} s/GiB, "
                  f"{gib:.2f} GiB, verdict {status}; target <= {TARGET})")
    return 1 if (missed and args.strict) else 0


if __name__ == "__main__":
    sys.exit(main())
