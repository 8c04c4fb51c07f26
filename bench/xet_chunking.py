"""Xet chunking + hashing throughput of repos/xet vs plain sha256 of the same stream.

Server-side LFS -> Xet conversion (repos/xet/conversion.py) must chunk and hash every byte of
an object that was already sha256-hashed once on upload; this measures what that costs. All
measurements run in this process over the same in-memory stream of random bytes, fed in 8 MiB
blocks, alternating the candidates in every round (median of the rounds):

* ``sha256``            hashlib.sha256 over the blocks (baseline);
* ``chunk``             repos.xet.chunking.Chunker (boundaries only);
* ``chunk_hash``        iter_chunks: boundaries + BLAKE3 chunk hashes;
* ``chunk_hash_file``   the above + the file hash (Merkle tree): what conversion computes;
* ``hf_xet``            hf_xet.hash_files on the same bytes in a temp file (the Rust client,
                        for scale; includes reading the page-cached file), if installed.

Ratios are ``cpu(candidate) / cpu(sha256)``: how many sha256 passes one chunking pass costs.
Process CPU time (all threads) rather than wall time, because the development VM is shared and
wall time swings with other people's load; wall-clock throughput is printed alongside.

    .venv/bin/python -m bench.xet_chunking [--size-mb 256] [--rounds 3]
"""

from __future__ import annotations

import argparse
import hashlib
import time
from collections.abc import Callable

import numpy as np

from bench.common import MiB, Report, install_deadline, median, temp_dir
from repos.xet.chunking import Chunker, iter_chunks
from repos.xet.hashes import MerkleHash, file_hash

BLOCK = 8 * MiB


def _blocks(size: int, seed: int) -> list[bytes]:
    rng = np.random.default_rng(seed)
    return [rng.bytes(min(BLOCK, size - off)) for off in range(0, size, BLOCK)]


def _sha256(blocks: list[bytes]) -> None:
    h = hashlib.sha256()
    for b in blocks:
        h.update(b)
    h.hexdigest()


def _chunk(blocks: list[bytes]) -> None:
    chunker = Chunker()
    for b in blocks:
        chunker.feed(b)
    chunker.finish()


def _chunk_hash(blocks: list[bytes]) -> None:
    for _ in iter_chunks(blocks):
        pass


def _chunk_hash_file(blocks: list[bytes]) -> None:
    pairs: list[tuple[MerkleHash, int]] = [(c.hash, c.size) for c in iter_chunks(blocks)]
    file_hash(pairs)


def _timed(fn: Callable[[], object]) -> tuple[float, float]:
    """(cpu seconds of this process, all threads; wall seconds)."""
    cpu, wall = time.process_time(), time.perf_counter()
    fn()
    return time.process_time() - cpu, time.perf_counter() - wall


def _hf_xet(path: str) -> Callable[[], object] | None:
    try:
        import hf_xet
    except ImportError:
        return None
    return lambda: hf_xet.hash_files([path])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--timeout", type=int, default=0, help="seconds (default: scales with size)")
    parser.add_argument("--strict", action="store_true", help="exit 1 if a target is missed")
    args = parser.parse_args(argv)
    install_deadline(args.timeout or int(120 + args.size_mb * 2))

    size = args.size_mb * MiB
    blocks = _blocks(size, seed=1)
    report = Report(f"xet chunking, {args.size_mb} MiB random stream, {args.rounds} rounds")
    with temp_dir("xet-bench-") as tmp:
        path = tmp / "stream.bin"
        with path.open("wb") as f:
            for b in blocks:
                f.write(b)
        candidates: dict[str, Callable[[], object]] = {
            "sha256": lambda: _sha256(blocks),
            "chunk": lambda: _chunk(blocks),
            "chunk_hash": lambda: _chunk_hash(blocks),
            "chunk_hash_file": lambda: _chunk_hash_file(blocks),
        }
        rust = _hf_xet(str(path))
        if rust is not None:
            candidates["hf_xet"] = rust
        cpu: dict[str, list[float]] = {name: [] for name in candidates}
        wall: dict[str, list[float]] = {name: [] for name in candidates}
        for _ in range(args.rounds):
            for name, fn in candidates.items():
                c, w = _timed(fn)
                cpu[name].append(c)
                wall[name].append(w)

    base = median(cpu["sha256"])
    for name in candidates:
        report.info(
            f"{name}_throughput",
            f"{args.size_mb / median(cpu[name]):.0f} MiB per CPU-second, "
            f"{args.size_mb / median(wall[name]):.0f} MiB/s wall (median of {args.rounds})",
        )
    for name in candidates:
        if name != "sha256":
            report.note(f"xet_{name}_vs_sha256", median(cpu[name]) / base, what="CPU time ratio, lower is better")
    return report.summary(strict=args.strict)


if __name__ == "__main__":
    raise SystemExit(main())
