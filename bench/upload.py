"""Upload of one LFS object through the signed LFS PUT vs an in-process hash-and-write loop.

    .venv/bin/python -m bench.upload [--size-mb 256] [--rounds 3]

For each round a fresh repository asks the LFS batch API for an upload action (as
huggingface_hub and git-lfs do) and curl PUTs the file to the signed href; the baseline,
alternating with it, is this process reading the same file in 1 MiB chunks, hashing with
sha256 and writing a temporary file in the hub's tmp dir, fsync, rename: the minimum any
verifying store must do, with the same durability as `LfsStore.write_stream`.

- upload_time: median hub PUT time / median baseline time (target <= 1.3)
- upload_worker_rss_growth: peak RSS growth of any gunicorn worker while receiving
  (absolute, < 64 MiB whatever the size)
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import time
import urllib.request
from pathlib import Path

from bench.common import (
    BENCH_USER,
    GiB,
    MiB,
    Report,
    RssPeak,
    child_pids,
    cpu_seconds,
    hub_server,
    install_deadline,
    median,
    random_file,
    seed,
    temp_dir,
    tree_pids,
)
from tests.live import LiveHub

CHUNK = MiB


def _upload_href(hub: LiveHub, repo_id: str, oid: str, size: int) -> str:
    body = json.dumps({"operation": "upload", "transfers": ["basic"], "ref": {"name": "refs/heads/main"},
                       "objects": [{"oid": oid, "size": size}], "hash_algo": "sha256"}).encode()
    request = urllib.request.Request(
        f"{hub.url}/{repo_id}.git/info/lfs/objects/batch", data=body, method="POST",
        headers={"Accept": "application/vnd.git-lfs+json", "Content-Type": "application/vnd.git-lfs+json",
                 "Authorization": f"Bearer {hub.tokens[BENCH_USER]}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        answer = json.load(response)
    actions = answer["objects"][0].get("actions") or {}
    if "upload" not in actions:
        raise RuntimeError(f"the batch API offered no upload action: {answer}")
    return actions["upload"]["href"]


def _curl_put(href: str, path: Path, *, timeout: float) -> float:
    # `Expect:` off: huggingface_hub's HTTP clients do not wait for a 100 Continue either.
    out = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code} %{time_total}", "-T", str(path),
                          "-H", "Expect:", "-H", "Content-Type: application/octet-stream", "--max-time",
                          str(int(timeout)), href], capture_output=True, text=True, timeout=timeout + 5,
                         check=True).stdout
    code, seconds = out.split()
    if code != "200":
        raise RuntimeError(f"PUT answered {code}")
    return float(seconds)


def _baseline(source: Path, tmp_dir: Path, oid: str) -> float:
    start = time.perf_counter()
    digest = hashlib.sha256()
    part = tmp_dir / "baseline.part"
    with open(source, "rb") as f, open(part, "wb") as out:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    if digest.hexdigest() != oid:
        raise RuntimeError("baseline hash mismatch")
    final = tmp_dir / "baseline.obj"
    os.replace(part, final)
    elapsed = time.perf_counter() - start
    final.unlink()
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=int, default=0, help="overall time budget in seconds")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    size = args.size_mb * MiB
    install_deadline(args.timeout or int(180 + args.size_mb * 0.4))
    report = Report(f"upload: {args.size_mb} MiB LFS object, signed PUT vs in-process sha256+write loop")
    with temp_dir("bench-upload-") as tmp:
        local = tmp / "model.bin"
        oid = random_file(local, size)
        with hub_server(tmp / "hub", workers=args.workers) as (hub, proc):
            repos = [seed(hub, username=BENCH_USER, namespace=BENCH_USER, name=f"upload-bench-{r}")["repo_id"]
                     for r in range(args.rounds + 1)]
            baseline_dir = Path(hub.data_dir) / "tmp"
            timeout = 60 + size / (20 * MiB)
            _curl_put(_upload_href(hub, repos[-1], oid, size), local, timeout=timeout)  # warm-up round
            pids = tree_pids(proc.pid)
            hub_times, base_times, hub_cpu, base_cpu = [], [], 0.0, 0.0
            with RssPeak(child_pids(proc.pid)) as rss:
                for r in range(args.rounds):
                    href = _upload_href(hub, repos[r], oid, size)
                    for side in (("hub", "base") if r % 2 == 0 else ("base", "hub")):
                        # Each side starts with no dirty pages of the other one's writes to flush.
                        os.sync()
                        if side == "hub":
                            before = cpu_seconds(pids)
                            hub_times.append(_curl_put(href, local, timeout=timeout))
                            hub_cpu += cpu_seconds(pids) - before
                        else:
                            before = time.process_time()
                            base_times.append(_baseline(local, baseline_dir, oid))
                            base_cpu += time.process_time() - before
            stored = Path(hub.data_dir) / "lfs" / oid[:2] / oid[2:4] / oid
            if not stored.is_file() or stored.stat().st_size != size:
                raise RuntimeError("the uploaded object is not in the store")
    hub_t, base_t = median(hub_times), median(base_times)
    report.ratio("upload_time", hub_t / base_t, target=1.3, higher_is_better=False)
    gib = args.rounds * size / GiB
    report.info("upload", f"hub {size / hub_t / MiB:.0f} MiB/s, baseline {size / base_t / MiB:.0f} MiB/s "
                          f"(median of {args.rounds}); CPU per GiB: hub server {hub_cpu / gib:.2f} s, "
                          f"baseline {base_cpu / gib:.2f} s")
    report.limit("upload_worker_rss_growth", rss.growth() / MiB, below=64, unit="MiB")
    return report.summary(strict=args.strict)


if __name__ == "__main__":
    raise SystemExit(main())
