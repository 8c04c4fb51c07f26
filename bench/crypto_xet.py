"""Encryption at rest of Xet storage: the real hf_xet client uploading and downloading files of a
private repository (xorbs stored encrypted) and of a public one (xorbs plain), side by side.

    .venv/bin/python -m bench.crypto_xet [--size-mb 1024] [--rounds 3]

One hub, sides in alternation so page cache and CPU contention are shared; every upload is a
fresh random file (no deduplication between sides or rounds). Ratios:
- encrypted_xet_upload_time: private / public hf_xet upload time (chunking, xorb uploads, shard
  registration that verifies and materializes the encrypted LFS object), median (target <= 1.3)
- encrypted_xet_download_throughput: public / private hf_xet download time (reconstruction and
  ranged xorb fetches, decrypted on the fly for the private side), median (target >= 0.8)
The LFS-PUT and /resolve/ paths are `bench.crypto`; Xet vs LFS is `bench.xet`.
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import os

from bench.common import BENCH_USER, MiB, Report, hub_server, install_deadline, median, random_file, seed, temp_dir
from bench.xet import _hf_xet

SIDES = ("plain", "encrypted")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=int, default=0, help="overall time budget in seconds")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    size = args.size_mb * MiB
    install_deadline(args.timeout or int(300 + args.size_mb * 3 * args.rounds))
    report = Report(f"crypto_xet: {args.size_mb} MiB files through hf_xet, private (encrypted) vs public (plain)")
    env = {"HUB_MASTER_KEY": base64.b64encode(os.urandom(32)).decode()}
    timeout = 120 + size / (10 * MiB)
    with temp_dir("bench-crypto-xet-") as tmp, hub_server(tmp / "hub", workers=args.workers, extra_env=env) as (hub, _):
        repos = {side: seed(hub, username=BENCH_USER, namespace=BENCH_USER, name=f"crypto-xet-{side}",
                            private=side == "encrypted")["repo_id"] for side in SIDES}
        local = tmp / "upload.bin"
        up_times: dict[str, list[float]] = {side: [] for side in SIDES}
        first: dict[str, dict] = {}
        for r in range(args.rounds):
            for side in SIDES if r % 2 == 0 else SIDES[::-1]:
                oid = random_file(local, size)
                os.sync()  # each side starts with no dirty pages of the other one's writes
                out = _hf_xet(hub, repos[side], "write", {"op": "upload", "path": str(local)}, timeout=timeout)
                if out["sha256"] != oid:
                    raise RuntimeError(f"hf_xet reported another sha256 on the {side} side")
                up_times[side].append(out["seconds"])
                first.setdefault(side, {**out, "oid": oid})
        local.unlink()
        report.ratio("encrypted_xet_upload_time", median(up_times["encrypted"]) / median(up_times["plain"]),
                     target=1.3, higher_is_better=False)
        report.info("upload", f"encrypted {size / median(up_times['encrypted']) / MiB:.0f} MiB/s, plain "
                              f"{size / median(up_times['plain']) / MiB:.0f} MiB/s (median of {args.rounds})")

        down_times: dict[str, list[float]] = {side: [] for side in SIDES}
        dest = tmp / "download.bin"
        for r in range(args.rounds + 1):  # round 0 warms the page cache of both sides
            for side in SIDES if r % 2 == 0 else SIDES[::-1]:
                out = _hf_xet(hub, repos[side], "read", {"op": "download", "hash": first[side]["hash"],
                                                         "size": size, "dest": str(dest)}, timeout=timeout)
                if _sha256(dest) != first[side]["oid"]:
                    raise RuntimeError(f"the {side} Xet download differs from what was uploaded")
                dest.unlink()
                if r:
                    down_times[side].append(out["seconds"])
        report.ratio("encrypted_xet_download_throughput",
                     median(down_times["plain"]) / median(down_times["encrypted"]), target=0.8, higher_is_better=True)
        report.info("download", f"encrypted {size / median(down_times['encrypted']) / MiB:.0f} MiB/s, plain "
                                f"{size / median(down_times['plain']) / MiB:.0f} MiB/s (median of {args.rounds}), "
                                "identical bytes")
    return report.summary(strict=args.strict)


def _sha256(path: os.PathLike[str]) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(8 * MiB):
            digest.update(block)
    return digest.hexdigest()


if __name__ == "__main__":
    raise SystemExit(main())
