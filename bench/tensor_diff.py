"""Tensor-level diff of two BERT-base-shaped checkpoints vs reading both files.

    .venv/bin/python -m bench.tensor_diff [--size base|2g] [--rounds 3] [--changed 0.15]

Builds two fp32 safetensors files with BERT-base shapes (199 tensors, ~440 MB each; ``--size 2g``
gives a 24-layer, hidden-1280 pair of ~2 GB each) in a temp dir, where a fraction of the
tensors (every k-th by name, 15% by default) differs everywhere (a "fine-tune"), then prints:

- tensor_diff_throughput: bytes of both files per second, diff / baseline, where the baseline
  reads both files from the page cache with ``readinto`` into a reused 1 MiB buffer (the
  cheapest way to see every byte); rounds alternate, median (target >= 0.8). The diff runs
  with its default compute thread; the raw line gives the all-in-one-thread diff too.
- tensor_header_diff_ms: ``diff_headers`` of the pair (open both files, read and validate
  both headers, classify every tensor, summarize modules), median of many runs (target
  < 1 ms). The pair's headers are identical byte for byte (a fine-tune), which the diff
  parses once; tensor_header_diff_distinct_ms is a pair whose headers differ (one tensor
  renamed), so both are parsed.
- tensor_diff_rss_growth: peak RSS growth during one diff over the largest tensor's size
  (kernel high-water mark reset through /proc/self/clear_refs; target < 2).

The machine's load average is printed first. On a shared box wall-clock ratios swing with
other processes; the raw lines add CPU time (process_time) of the baseline and of each diff
mode, which moves much less, and their ratio.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import numpy as np
from safetensors.numpy import save_file

from bench.common import ROOT, MiB, Report, install_deadline, temp_dir
from repos.weights.checkpoint import Blob, SingleFile
from repos.weights.tensor_diff import DEFAULT_COMPUTE_THREAD, diff_checkpoints, diff_headers


def bert_shapes(*, layers: int, hidden: int, intermediate: int, vocab: int = 30522) -> dict[str, tuple[int, ...]]:
    shapes: dict[str, tuple[int, ...]] = {
        "embeddings.word_embeddings.weight": (vocab, hidden),
        "embeddings.position_embeddings.weight": (512, hidden),
        "embeddings.token_type_embeddings.weight": (2, hidden),
        "embeddings.LayerNorm.weight": (hidden,),
        "embeddings.LayerNorm.bias": (hidden,),
    }
    for i in range(layers):
        p = f"encoder.layer.{i}."
        for part in ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"):
            shapes[p + part + ".weight"] = (hidden, hidden)
            shapes[p + part + ".bias"] = (hidden,)
        shapes[p + "attention.output.LayerNorm.weight"] = (hidden,)
        shapes[p + "attention.output.LayerNorm.bias"] = (hidden,)
        shapes[p + "intermediate.dense.weight"] = (intermediate, hidden)
        shapes[p + "intermediate.dense.bias"] = (intermediate,)
        shapes[p + "output.dense.weight"] = (hidden, intermediate)
        shapes[p + "output.dense.bias"] = (hidden,)
        shapes[p + "output.LayerNorm.weight"] = (hidden,)
        shapes[p + "output.LayerNorm.bias"] = (hidden,)
    shapes["pooler.dense.weight"] = (hidden, hidden)
    shapes["pooler.dense.bias"] = (hidden,)
    return shapes


SIZES = {
    "base": {"layers": 12, "hidden": 768, "intermediate": 3072},
    "2g": {"layers": 24, "hidden": 1280, "intermediate": 5120},
}


def build_pair(directory: Path, shapes: dict[str, tuple[int, ...]], changed_fraction: float) -> tuple[Path, Path, int]:
    """Write old/new files; returns their paths and the number of bytes that differ."""
    rng = np.random.default_rng(1234)
    names = sorted(shapes)
    every = max(1, round(1 / changed_fraction)) if changed_fraction > 0 else 0
    changed = {name for i, name in enumerate(names) if every and i % every == every // 2}
    old: dict[str, np.ndarray] = {}
    new: dict[str, np.ndarray] = {}
    changed_bytes = 0
    for name in names:
        tensor = rng.standard_normal(shapes[name], dtype=np.float32)
        old[name] = tensor
        if name in changed:
            new[name] = tensor + rng.standard_normal(shapes[name], dtype=np.float32) * np.float32(1e-3)
            changed_bytes += tensor.nbytes
        else:
            new[name] = tensor
    old_path, new_path = directory / "old.safetensors", directory / "new.safetensors"
    save_file(old, str(old_path))
    save_file(new, str(new_path))
    return old_path, new_path, changed_bytes


def renamed_copy(source: Path, target: Path) -> None:
    """A file with ``source``'s header but one tensor renamed (same length) and the data
    left sparse: only headers are read from it."""
    with source.open("rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = f.read(n)
    header = header.replace(b'"pooler.dense.bias"', b'"pooler.dense.biaX"')
    with target.open("wb") as f:
        f.write(n.to_bytes(8, "little") + header)
        f.truncate(source.stat().st_size)


def file_blob(path: Path) -> Blob:
    opener: Callable[[], BinaryIO] = lambda: path.open("rb")  # noqa: E731
    return Blob(open=opener, size=path.stat().st_size)


def read_both(paths: list[Path], chunk: int = MiB) -> int:
    buffer = bytearray(chunk)
    total = 0
    for path in paths:
        with path.open("rb", buffering=0) as f:
            while got := f.readinto(buffer):
                total += got
    return total


def reset_peak_rss() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def status_bytes(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0


def rss_child(old_path: Path, new_path: Path, *, threaded: bool) -> None:
    """Print the peak RSS growth (bytes) of one diff in this (fresh) process."""
    old, new = SingleFile(file_blob(old_path)), SingleFile(file_blob(new_path))
    diff_headers(old=old, new=new)  # imports and first-call allocations are not the diff's growth
    gc.collect()
    if not reset_peak_rss():
        print("skipped")
        return
    before = status_bytes("VmRSS")
    diff_checkpoints(old=old, new=new, compute_thread=threaded)
    print(status_bytes("VmHWM") - before)


def main() -> int:
    if len(sys.argv) == 5 and sys.argv[1] == "--rss-child":
        rss_child(Path(sys.argv[2]), Path(sys.argv[3]), threaded=sys.argv[4] == "--rss-threaded")
        return 0
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", choices=sorted(SIZES), default="base")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--changed", type=float, default=0.15, help="fraction of tensors that differ")
    parser.add_argument("--header-runs", type=int, default=300)
    parser.add_argument("--timeout", type=int, default=900)
    parser.add_argument("--strict", action="store_true")
    args = parser.parse_args()
    install_deadline(args.timeout)
    report = Report("tensor diff")
    report.info("load average", " ".join(f"{x:.2f}" for x in os.getloadavg()))
    shapes = bert_shapes(**SIZES[args.size])
    largest = max(int(np.prod(s)) * 4 for s in shapes.values())
    with temp_dir("bench-tensor-diff-") as tmp:
        started = time.perf_counter()
        old_path, new_path, changed_bytes = build_pair(tmp, shapes, args.changed)
        gc.collect()
        total = old_path.stat().st_size + new_path.stat().st_size
        report.info("files", f"2 x {old_path.stat().st_size / MiB:.0f} MiB, {len(shapes)} tensors, "
                    f"{changed_bytes / MiB:.0f} MiB differ per side, built in {time.perf_counter() - started:.1f} s")
        old, new = SingleFile(file_blob(old_path)), SingleFile(file_blob(new_path))
        read_both([old_path, new_path])  # warm the page cache

        # Rounds alternate baseline and both diff modes, so load and page cache are shared.
        timings: dict[str, list[float]] = {"baseline": [], "one thread": [], "compute thread": []}
        cpu: dict[str, list[float]] = {"baseline": [], "one thread": [], "compute thread": []}
        result = None
        for _ in range(args.rounds):
            t, c = time.perf_counter(), time.process_time()
            read_both([old_path, new_path])
            timings["baseline"].append(time.perf_counter() - t)
            cpu["baseline"].append(time.process_time() - c)
            for mode, threaded in (("one thread", False), ("compute thread", True)):
                t, c = time.perf_counter(), time.process_time()
                result = diff_checkpoints(old=old, new=new, compute_thread=threaded)
                timings[mode].append(time.perf_counter() - t)
                cpu[mode].append(time.process_time() - c)
        assert result is not None
        report.info("result", f"{result.totals.count('changed')} changed, {result.totals.count('unchanged')} "
                    f"unchanged of {result.totals.tensors}")
        median = {mode: statistics.median(values) for mode, values in timings.items()}
        default = "compute thread" if DEFAULT_COMPUTE_THREAD else "one thread"
        report.ratio("tensor_diff_throughput", median["baseline"] / median[default], target=0.8, higher_is_better=True)
        base = median["baseline"]
        cpu_median = {mode: statistics.median(values) for mode, values in cpu.items()}
        report.info("raw", f"baseline read {total / base / MiB:.0f} MiB/s ({base * 1e3:.0f} ms, "
                    f"CPU {cpu_median['baseline'] * 1e3:.0f} ms)")
        for mode in ("one thread", "compute thread"):
            report.info(
                f"diff, {mode}" + (" (default)" if mode == default else ""),
                f"{total / median[mode] / MiB:.0f} MiB/s ({median[mode] * 1e3:.0f} ms, ratio "
                f"{base / median[mode]:.3f}; CPU {cpu_median[mode] * 1e3:.0f} ms, CPU ratio "
                f"{cpu_median['baseline'] / cpu_median[mode]:.3f})",
            )

        renamed_copy(new_path, tmp / "renamed.safetensors")
        distinct = SingleFile(file_blob(tmp / "renamed.safetensors"))
        for name, other in (("tensor_header_diff_ms", new), ("tensor_header_diff_distinct_ms", distinct)):
            times = []
            for _ in range(args.header_runs):
                t = time.perf_counter()
                diff_headers(old=old, new=other)
                times.append(time.perf_counter() - t)
            report.limit(name, statistics.median(times) * 1e3, below=1.0, unit="ms")
            report.info("raw", f"min {min(times) * 1e3:.3f} ms, p90 {sorted(times)[int(len(times) * 0.9)] * 1e3:.3f} "
                        f"ms over {len(times)} runs")

        # Peak RSS in a fresh process: in this one, freed buffers of earlier runs would be
        # reused and hide the growth.
        for mode in ("one thread", "compute thread"):
            out = subprocess.run(
                [sys.executable, "-m", "bench.tensor_diff", "--rss-child", str(old_path), str(new_path),
                 "--rss-threaded" if mode == "compute thread" else "--rss-inline"],
                capture_output=True, text=True, check=True, cwd=ROOT,
            ).stdout.split()
            if out[0] == "skipped":
                report.info("tensor_diff_rss_growth", "skipped: /proc/self/clear_refs not writable")
                break
            growth = int(out[0])
            name = "tensor_diff_rss_growth" + ("" if mode == default else "_" + mode.replace(" ", "_"))
            report.ratio(name, growth / largest, target=2.0, higher_is_better=False)
            report.info("raw", f"{mode}: peak RSS growth {growth / MiB:.1f} MiB, largest tensor "
                        f"{largest / MiB:.1f} MiB")
    return report.summary(strict=args.strict)


if __name__ == "__main__":
    raise SystemExit(main())
