"""Xet uploads and downloads through the hub's CAS vs the LFS PUT and /resolve/ paths.

    .venv/bin/python -m bench.xet [--size-mb 1024]

One hub, one run, both paths side by side on the same random file:

- xet_upload_time: the real hf_xet client uploading the file through the CAS (chunking, xorb
  uploads, shard registration, which verifies and materializes the LFS object) / a signed LFS
  PUT of the same bytes with curl (target <= 1.2)
- xet_reupload_bytes: bytes the CAS stored for a re-upload of the file with 1 % changed, from a
  fresh hf_xet cache (so only the hub's dedup answers can save anything) / file size (<= 0.05)
- xet_reupload_time: time of that re-upload / time of the first Xet upload (<= 0.25)
- xet_download_speed: /resolve/ time (curl) / hf_xet download time of the same file (>= 0.8)

hf_xet runs in a subprocess per operation with fresh HF_HOME and HF_XET_CACHE; the time is taken
inside it, around the upload commit or download group only (imports excluded).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

from bench.common import BENCH_USER, MiB, Report, hub_server, install_deadline, random_file, seed
from bench.upload import _curl_put, _upload_href
from tests.live import LiveHub

_CLIENT = r'''
import json, sys, time
import hf_xet
cfg = json.loads(sys.argv[1])
session = hf_xet.XetSession(hf_xet.XetConfig().with_config({"telemetry.enabled": False}))
common = {"endpoint": cfg["endpoint"], "token": cfg["token"], "token_expiry_unix_secs": cfg["exp"]}
start = time.perf_counter()
out = {}
if cfg["op"] == "upload":
    with session.new_upload_commit(**common) as commit:
        handle = commit.start_upload_file(cfg["path"], sha256=hf_xet.COMPUTE_SHA256)
    info = handle.result().xet_info
    out = {"hash": info.hash, "size": info.file_size, "sha256": info.sha256}
else:
    with session.new_file_download_group(**common) as group:
        group.start_download_file(hf_xet.XetFileInfo(cfg["hash"], cfg["size"]), cfg["dest"])
out["seconds"] = time.perf_counter() - start
print(json.dumps(out))
'''


def _token(hub: LiveHub, repo_id: str, kind: str) -> dict:
    request = urllib.request.Request(f"{hub.url}/api/models/{repo_id}/xet-{kind}-token/main",
                                     headers={"Authorization": f"Bearer {hub.tokens[BENCH_USER]}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def _hf_xet(hub: LiveHub, repo_id: str, kind: str, cfg: dict, *, timeout: float) -> dict:
    token = _token(hub, repo_id, kind)
    with tempfile.TemporaryDirectory(prefix="bench-xet-home-") as home:
        env = {**os.environ, "HF_HOME": f"{home}/hf", "HF_XET_CACHE": f"{home}/xet",
               "HF_HUB_DISABLE_PROGRESS_BARS": "1"}
        proc = subprocess.run([sys.executable, "-c", _CLIENT, json.dumps(
            {**cfg, "endpoint": token["casUrl"], "token": token["accessToken"], "exp": token["exp"]})],
            env=env, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"hf_xet {cfg['op']} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _curl_get(url: str, dest: Path, hub: LiveHub, *, timeout: float) -> float:
    """GET into a file, like hf_xet writes one (curl into /dev/null would skip the writes)."""
    out = subprocess.run(["curl", "-sS", "-o", str(dest), "-w", "%{http_code} %{time_total}", "--max-time",
                          str(int(timeout)), "-H", f"Authorization: Bearer {hub.tokens[BENCH_USER]}", url],
                         capture_output=True, text=True, timeout=timeout + 5, check=True).stdout
    code, seconds = out.split()
    if code != "200":
        raise RuntimeError(f"GET {url} answered {code}")
    return float(seconds)


def _xorb_bytes(hub: LiveHub) -> int:
    root = Path(hub.data_dir) / "lfs" / "xet" / "xorbs"
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def _commit_pointer(hub: LiveHub, repo_id: str, path: str, oid: str, size: int) -> None:
    lines = [{"key": "header", "value": {"summary": f"add {path}"}},
             {"key": "lfsFile", "value": {"path": path, "algo": "sha256", "oid": oid, "size": size}}]
    request = urllib.request.Request(
        f"{hub.url}/api/models/{repo_id}/commit/main", data="\n".join(json.dumps(x) for x in lines).encode(),
        method="POST", headers={"Authorization": f"Bearer {hub.tokens[BENCH_USER]}",
                                "Content-Type": "application/x-ndjson"})
    with urllib.request.urlopen(request, timeout=120):
        pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=int, default=0, help="overall time budget in seconds")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    size = args.size_mb * MiB
    install_deadline(args.timeout or int(240 + args.size_mb * 0.6))
    report = Report(f"xet: {args.size_mb} MiB file, hf_xet through the CAS vs LFS PUT and /resolve/")
    timeout = 120 + size / (10 * MiB)
    with tempfile.TemporaryDirectory(prefix="bench-xet-") as tmp_name:
        tmp = Path(tmp_name)
        v1, v2 = tmp / "v1.bin", tmp / "v2.bin"
        oid = random_file(v1, size)
        with open(v1, "rb") as src, open(v2, "wb") as dst:
            while block := src.read(64 * MiB):
                dst.write(block)
        change = max(size // 100, 1)
        with open(v2, "r+b") as f:  # 1 % of the file, in the middle
            f.seek(size // 2)
            f.write(random.Random(1).randbytes(change))
        with hub_server(tmp / "hub", workers=args.workers) as (hub, _proc):
            lfs_repo = seed(hub, username=BENCH_USER, namespace=BENCH_USER, name="xet-bench-lfs")["repo_id"]
            xet_repo = seed(hub, username=BENCH_USER, namespace=BENCH_USER, name="xet-bench-xet")["repo_id"]
            os.sync()
            lfs_t = _curl_put(_upload_href(hub, lfs_repo, oid, size), v1, timeout=timeout)
            os.sync()
            first = _hf_xet(hub, xet_repo, "write", {"op": "upload", "path": str(v1)}, timeout=timeout)
            if first["sha256"] != oid:
                raise RuntimeError("hf_xet reported another sha256")
            _commit_pointer(hub, xet_repo, "model.bin", oid, size)
            stored = _xorb_bytes(hub)
            os.sync()
            second = _hf_xet(hub, xet_repo, "write", {"op": "upload", "path": str(v2)}, timeout=timeout)
            received = _xorb_bytes(hub) - stored
            dest = tmp / "download.bin"
            os.sync()
            down = _hf_xet(hub, xet_repo, "read", {"op": "download", "hash": first["hash"], "size": size,
                                                   "dest": str(dest)}, timeout=timeout)
            if dest.stat().st_size != size:
                raise RuntimeError("the Xet download is incomplete")
            dest.unlink()
            os.sync()
            resolve_t = _curl_get(f"{hub.url}/{xet_repo}/resolve/main/model.bin", dest, hub, timeout=timeout)
            if dest.stat().st_size != size:
                raise RuntimeError("the /resolve/ download is incomplete")
    report.ratio("xet_upload_time", first["seconds"] / lfs_t, target=1.2, higher_is_better=False)
    report.ratio("xet_reupload_bytes", received / size, target=0.05, higher_is_better=False)
    report.ratio("xet_reupload_time", second["seconds"] / first["seconds"], target=0.25, higher_is_better=False)
    report.ratio("xet_download_speed", resolve_t / down["seconds"], target=0.8, higher_is_better=True)
    report.info("times", f"LFS PUT {lfs_t:.2f} s, Xet upload {first['seconds']:.2f} s, re-upload "
                         f"{second['seconds']:.2f} s ({received / MiB:.1f} MiB stored), Xet download "
                         f"{down['seconds']:.2f} s, /resolve/ {resolve_t:.2f} s")
    return report.summary(strict=args.strict)


if __name__ == "__main__":
    raise SystemExit(main())
