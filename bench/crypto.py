"""Encryption at rest end to end: the same LFS file in a private (encrypted) and a public (plain)
repository of one hub, uploaded, downloaded and read by ranges side by side.

    .venv/bin/python -m bench.crypto [--size-mb 1024] [--rounds 5] [--ranges 200]

Both sides go through the same gunicorn hub (production config) in alternation, so page cache
and CPU contention are shared; only the repository's visibility differs. Ratios:
- encrypted_download_throughput: plain download time / encrypted download time, full GET with
  curl, median of rounds, page cache warm (target >= 0.8). The plain side is sendfile from the
  page cache (no copy through user space); the encrypted one reads and decrypts every byte with
  AES-GCM in a read-ahead thread (`repos.transport.read_ahead`) while the server sends the
  block before. With curl on the same 2 cores, three threads share two cores, so single
  downloads swing by 20-30 %: hence 5 rounds by default.
- encrypted_download_throughput_cold: the same with the stored objects dropped from the page
  cache before each download, as for a large file nobody fetched recently (same target).
- encrypted_upload_time: encrypted LFS PUT time / plain LFS PUT time, median (target <= 1.3)
- encrypted_range_latency: time to the last byte of random 1 MiB ranges over keep-alive
  connections, summed, encrypted / plain (target <= 1.5); every range's bytes are compared
  between the two sides.
The in-process cost of the format itself (no HTTP) is `bench.crypto_object`.
"""
from __future__ import annotations

import argparse
import base64
import http.client
import os
import random
import time
from pathlib import Path

from bench.common import (
    BENCH_USER,
    LiveHub,
    MiB,
    Report,
    curl_download,
    drop_cache,
    hub_server,
    install_deadline,
    median,
    random_file,
    seed,
    temp_dir,
)
from bench.upload import _curl_put, _upload_href


def _ranges(report: Report, *, port: int, paths: dict[str, str], size: int, count: int, token: str) -> None:
    conns = {side: http.client.HTTPConnection("127.0.0.1", port, timeout=60) for side in paths}
    times: dict[str, list[float]] = {side: [] for side in paths}
    rng = random.Random(1234)
    mismatched = 0
    try:
        for i in range(count):
            start = rng.randrange(max(1, size - MiB))
            header = f"bytes={start}-{min(size, start + MiB) - 1}"
            bodies = {}
            for side in (("plain", "encrypted") if i % 2 == 0 else ("encrypted", "plain")):
                began = time.perf_counter()
                conns[side].request("GET", paths[side], headers={"Range": header, "Authorization": f"Bearer {token}"})
                response = conns[side].getresponse()
                bodies[side] = (response.status, response.read())
                times[side].append(time.perf_counter() - began)
            mismatched += bodies["plain"] != bodies["encrypted"] or bodies["plain"][0] != 206
    finally:
        for conn in conns.values():
            conn.close()
    if mismatched:
        raise RuntimeError(f"{mismatched} of {count} ranges differ between the encrypted and the plain copy")
    report.ratio("encrypted_range_latency", sum(times["encrypted"]) / sum(times["plain"]), target=1.5,
                 higher_is_better=False)
    report.info("ranges", f"{count} random 1 MiB ranges, identical bytes; p50 encrypted "
                          f"{median(times['encrypted']) * 1e3:.2f} ms, plain {median(times['plain']) * 1e3:.2f} ms")


def _stored_files(data_dir: Path, size: int) -> list[Path]:
    """Every file under the hub's data dir at least as large as the object: its plain and its
    encrypted copies (and the uploads' ones)."""
    return [p for p in data_dir.rglob("*") if p.is_file() and not p.is_symlink() and p.stat().st_size >= size]


def _downloads(hub: LiveHub, paths: dict[str, str], *, size: int, rounds: int, headers: list[str],
               timeout: float, cold: bool) -> dict[str, list[float]]:
    """Full GETs of both sides in alternation; `cold`: the stored copies dropped from the page
    cache before each one."""
    times: dict[str, list[float]] = {"plain": [], "encrypted": []}
    if cold:
        os.sync()  # only clean pages can be dropped
    for r in range(rounds):
        for side in (("plain", "encrypted") if r % 2 == 0 else ("encrypted", "plain")):
            if cold:
                drop_cache(*_stored_files(hub.data_dir, size))
            elapsed, got, _ttfb = curl_download(hub.url + paths[side], timeout=timeout, headers=headers)
            if got != size:
                raise RuntimeError(f"{side} download sent {got} bytes, expected {size}")
            times[side].append(elapsed)
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--ranges", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=int, default=0, help="overall time budget in seconds")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    size = args.size_mb * MiB
    install_deadline(args.timeout or int(240 + args.size_mb * 1.5))
    report = Report(f"crypto: {args.size_mb} MiB LFS file, private (encrypted) vs public (plain) repository")
    env = {"HUB_MASTER_KEY": base64.b64encode(os.urandom(32)).decode()}
    with temp_dir("bench-crypto-") as tmp:
        local = tmp / "model.bin"
        oid = random_file(local, size)
        with hub_server(tmp / "hub", workers=args.workers, extra_env=env) as (hub, _proc):
            # Per side: one repository seeded with the file (downloads, ranges) and one per upload round.
            repos = {side: [seed(hub, username=BENCH_USER, namespace=BENCH_USER, name=f"crypto-{side}-{r}",
                                 private=side == "encrypted")["repo_id"] for r in range(args.rounds)]
                     for side in ("plain", "encrypted")}
            paths = {}
            for side in ("plain", "encrypted"):
                seeded = seed(hub, username=BENCH_USER, namespace=BENCH_USER, name=f"crypto-{side}-read",
                              private=side == "encrypted", lfs={"model.bin": [str(local), oid, size]})
                paths[side] = f"/{seeded['repo_id']}/resolve/main/model.bin"
            timeout = 60 + size / (10 * MiB)
            put_times: dict[str, list[float]] = {"plain": [], "encrypted": []}
            for r in range(args.rounds):
                for side in (("plain", "encrypted") if r % 2 == 0 else ("encrypted", "plain")):
                    os.sync()  # each side starts with no dirty pages of the other one's writes
                    put_times[side].append(_curl_put(_upload_href(hub, repos[side][r], oid, size), local,
                                                     timeout=timeout))
            local.unlink()
            report.ratio("encrypted_upload_time", median(put_times["encrypted"]) / median(put_times["plain"]),
                         target=1.3, higher_is_better=False)
            report.info("upload", f"encrypted {size / median(put_times['encrypted']) / MiB:.0f} MiB/s, plain "
                                  f"{size / median(put_times['plain']) / MiB:.0f} MiB/s (median of {args.rounds})")

            auth = f"Authorization: Bearer {hub.tokens[BENCH_USER]}"
            for side in ("plain", "encrypted"):
                curl_download(hub.url + paths[side], timeout=timeout, headers=[auth])  # warm the page cache
            for name, cold in (("encrypted_download_throughput", False), ("encrypted_download_throughput_cold", True)):
                times = _downloads(hub, paths, size=size, rounds=args.rounds, headers=[auth], timeout=timeout,
                                   cold=cold)
                report.ratio(name, median(times["plain"]) / median(times["encrypted"]), target=0.8,
                             higher_is_better=True)
                report.info("download_cold" if cold else "download",
                            f"encrypted {size / median(times['encrypted']) / MiB:.0f} MiB/s, plain "
                            f"{size / median(times['plain']) / MiB:.0f} MiB/s (median of {args.rounds})")
            _ranges(report, port=hub.port, paths=paths, size=size, count=args.ranges, token=hub.tokens[BENCH_USER])
    return report.summary(strict=args.strict)


if __name__ == "__main__":
    raise SystemExit(main())
