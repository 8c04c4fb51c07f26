"""Encryption at rest of large objects (repos/objects/crypto) vs the same work on plain files.

    .venv/bin/python -m bench.crypto_object [--size-mb 1024] [--rounds 3] [--ranges 200]

In-process, no server: it measures the crypto layer alone, against the plain-file work the byte
door does today, side by side and alternating (same page cache, same CPU contention).

- encrypt_write_time: `encrypt_stream` of the object (sha256 + AES-256-GCM, 64 KiB chunks) into
  a temp file, fsync / the baseline: read 1 MiB, sha256, write, fsync (what
  `LfsStore.write_stream` does). Both read the same plain source file. Target <= 1.3.
- decrypt_read_throughput: plain-file read throughput of `EncryptedReader.read(256 KiB)` to
  the end / `read(256 KiB)` on the plain file (256 KiB = the serving helper's block size).
  Page cache warm for both. Target >= 0.8.
- range_latency_p50 / range_latency_total: random 1 MiB ranges, each: open, seek, read
  in 256 KiB blocks, close (as one ranged GET does); encrypted (open_encrypted: header, key
  check, chunk 0 authenticated) / plain. Target <= 1.5.
- the same read lines with the suffix `_cold`: both files dropped from the page cache
  (posix_fadvise DONTNEED) before each read / each range, so bytes come from the disk, as for
  a large model file nobody downloaded recently.

Hot-cache reads compare AES-GCM (~8 GB/s per core here) with a memory copy (~13 GB/s): the
decryption alone takes longer than the whole plain read, so their ratios measure the cost of
the cipher, and cannot reach the targets whatever the code does around it. CPU seconds
(thread time, user + system) are printed beside wall times: on a shared machine they are the
figure that does not move with the load.

The plain side of the hub's real download path uses sendfile (zero copies); an encrypted
object cannot. These ratios compare like with like (Python reads on both sides).
"""
from __future__ import annotations

import argparse
import hashlib
import os
import random
import time
from pathlib import Path

from bench.common import MiB, Report, drop_cache, install_deadline, median, random_file, temp_dir
from repos.objects.crypto.format import DEFAULT_CHUNK_SIZE, encrypt_stream, open_encrypted
from repos.objects.crypto.keys import DataKey, generate_data_key

READ_BLOCK = 256 * 1024
WRITE_BLOCK = MiB


def _plain_write(source: Path, dest: Path) -> float:
    start = time.perf_counter()
    digest = hashlib.sha256()
    with open(source, "rb", buffering=0) as src, open(dest, "wb") as out:
        while block := src.read(WRITE_BLOCK):
            digest.update(block)
            out.write(block)
        out.flush()
        os.fsync(out.fileno())
    elapsed = time.perf_counter() - start
    dest.unlink()
    return elapsed


def _encrypt_write(source: Path, dest: Path, *, key: DataKey, oid: str, size: int, keep: bool = False) -> float:
    start = time.perf_counter()
    with open(source, "rb", buffering=0) as src, open(dest, "wb") as out:
        result = encrypt_stream(src, out, data_key=key, oid=oid, size=size, chunk_size=DEFAULT_CHUNK_SIZE)
        out.flush()
        os.fsync(out.fileno())
    elapsed = time.perf_counter() - start
    if result.sha256 != oid:
        raise RuntimeError("encrypt_stream hashed different bytes than the source")
    if not keep:
        dest.unlink()
    return elapsed


def _plain_read(path: Path) -> tuple[float, float]:
    start, cpu = time.perf_counter(), time.thread_time()
    with open(path, "rb", buffering=0) as f:
        while f.read(READ_BLOCK):
            pass
    return time.perf_counter() - start, time.thread_time() - cpu


def _encrypted_read(path: Path, *, key: DataKey, oid: str) -> tuple[float, float]:
    start, cpu = time.perf_counter(), time.thread_time()
    with open_encrypted(path, oid=oid, key_for=lambda _id: key) as f:
        while f.read(READ_BLOCK):
            pass
    return time.perf_counter() - start, time.thread_time() - cpu


def _plain_range(path: Path, start: int, length: int) -> float:
    t0 = time.perf_counter()
    with open(path, "rb", buffering=0) as f:
        f.seek(start)
        left = length
        while left:
            left -= len(f.read(min(READ_BLOCK, left)))
    return time.perf_counter() - t0


def _encrypted_range(path: Path, start: int, length: int, *, key: DataKey, oid: str) -> float:
    t0 = time.perf_counter()
    with open_encrypted(path, oid=oid, key_for=lambda _id: key) as f:
        f.seek(start)
        left = length
        while left:
            left -= len(f.read(min(READ_BLOCK, left)))
    return time.perf_counter() - t0


def _read_lines(report: Report, plain: Path, sealed: Path, *, key: DataKey, oid: str, size: int,
                args: argparse.Namespace, cold: bool) -> None:
    suffix = "_cold" if cold else ""
    if not cold:
        _plain_read(plain)
        _encrypted_read(sealed, key=key, oid=oid)
    plain_r, enc_r = [], []
    for _ in range(args.rounds):
        if cold:
            drop_cache(plain, sealed)
        plain_r.append(_plain_read(plain))
        if cold:
            drop_cache(plain, sealed)
        enc_r.append(_encrypted_read(sealed, key=key, oid=oid))
    wall_p, wall_e = median([w for w, _ in plain_r]), median([w for w, _ in enc_r])
    cpu_p, cpu_e = median([c for _, c in plain_r]), median([c for _, c in enc_r])
    report.ratio(f"decrypt_read_throughput{suffix}", wall_p / wall_e, target=0.8, higher_is_better=True)
    report.info("read MiB/s", f"encrypted {args.size_mb / wall_e:.0f}, plain {args.size_mb / wall_p:.0f} "
                              f"({'from disk' if cold else 'page cache warm'}, 256 KiB reads); CPU s per GiB "
                              f"encrypted {cpu_e * 1024 / args.size_mb:.3f}, plain {cpu_p * 1024 / args.size_mb:.3f}")

    range_len = min(args.range_kb * 1024, size)
    rng = random.Random(1)
    plain_l, enc_l = [], []
    for _ in range(args.ranges):
        start = rng.randrange(0, size - range_len + 1)
        if cold:
            drop_cache(plain, sealed)
        plain_l.append(_plain_range(plain, start, range_len))
        if cold:
            drop_cache(plain, sealed)
        enc_l.append(_encrypted_range(sealed, start, range_len, key=key, oid=oid))
    report.ratio(f"range_latency_p50{suffix}", median(enc_l) / median(plain_l), target=1.5, higher_is_better=False)
    report.ratio(f"range_latency_total{suffix}", sum(enc_l) / sum(plain_l), target=1.5, higher_is_better=False)
    report.info("range ms p50", f"encrypted {median(enc_l) * 1e3:.3f}, plain {median(plain_l) * 1e3:.3f} "
                                f"({args.ranges} ranges of {range_len // 1024} KiB, open+seek+read+close)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--ranges", type=int, default=200)
    parser.add_argument("--range-kb", type=int, default=1024)
    parser.add_argument("--timeout", type=int, default=0, help="overall time budget in seconds")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    install_deadline(args.timeout or int(120 + args.size_mb * 0.5))

    size = args.size_mb * MiB
    key = generate_data_key()
    report = Report(f"encryption at rest, {args.size_mb} MiB object, {args.rounds} rounds")
    with temp_dir("bench-crypto-") as tmp:
        plain = tmp / "plain.bin"
        oid = random_file(plain, size)
        sealed = tmp / "sealed.bin"
        _encrypt_write(plain, sealed, key=key, oid=oid, size=size, keep=True)
        report.info("encrypted_size_overhead", f"{sealed.stat().st_size - size} bytes")

        plain_w, enc_w = [], []
        for _ in range(args.rounds):
            plain_w.append(_plain_write(plain, tmp / "out.plain"))
            enc_w.append(_encrypt_write(plain, tmp / "out.enc", key=key, oid=oid, size=size))
        report.ratio("encrypt_write_time", median(enc_w) / median(plain_w), target=1.3, higher_is_better=False)
        report.info("write MiB/s", f"encrypted {args.size_mb / median(enc_w):.0f}, plain "
                                   f"{args.size_mb / median(plain_w):.0f} (sha256 + write + fsync both)")

        for cold in (False, True):
            _read_lines(report, plain, sealed, key=key, oid=oid, size=size, args=args, cold=cold)
    return report.summary(strict=args.strict)


if __name__ == "__main__":
    raise SystemExit(main())
