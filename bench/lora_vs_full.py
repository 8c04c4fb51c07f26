"""LoRA vs full fine-tuning: throughput and peak memory on a BERT-base-sized model.

A randomly initialised BERT with BERT-base dimensions (12 layers, hidden 768, 12 heads,
vocabulary 30522: ~110 M parameters), short sequences and a few steps, trained through
``jobs.runners.finetune.train_step`` (AMP on) with AdamW; LoRA through
``jobs.runners.finetune.apply_lora`` (r=8 on query/value, head trained), the same code the
runner uses. Peak memory: each variant runs alone in a child process (VmHWM, and on CUDA
``max_memory_allocated``). Throughput: one child holds both models and interleaves their
steps (median step time each), so load spikes on a shared machine hit both alike.
Lines: ``lora_vs_full_steps_per_s`` (LoRA / full), ``lora_vs_full_peak_rss`` and
``lora_vs_full_training_memory`` (peak minus the process's size with the model loaded,
LoRA / full), plus the trainable-parameter ratio.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.common import ROOT, Report, install_deadline

MiB = 1024 * 1024


def _rss_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _setup(method: str, args: argparse.Namespace):  # type: ignore[no-untyped-def]
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    from jobs.runners.finetune import apply_lora, make_grad_scaler
    from jobs.runners.model_index import Hyperparameters

    torch.manual_seed(0)
    config: Any = BertConfig()  # BERT-base dimensions
    config.num_labels = 2
    model: Any = BertForSequenceClassification(config)
    if method == "lora":
        model = apply_lora(model, Hyperparameters(lora_r=8, lora_alpha=16, lora_dropout=0.0))
    model.to(args.device)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=1e-4)
    scaler = make_grad_scaler(args.device, amp=args.amp)
    return model, optimizer, scaler, trainable


def _batches(args: argparse.Namespace, n: int) -> list:  # type: ignore[type-arg]
    import torch

    g = torch.Generator().manual_seed(1)
    return [
        {
            "input_ids": torch.randint(1000, 30522, (args.batch, args.seq), generator=g),
            "attention_mask": torch.ones(args.batch, args.seq, dtype=torch.long),
            "labels": torch.randint(0, 2, (args.batch,), generator=g),
        }
        for _ in range(n)
    ]


def _timed_step(args: argparse.Namespace, model, optimizer, scaler, batch) -> float:  # type: ignore[no-untyped-def]
    import torch

    from jobs.runners.base import flush_denormals
    from jobs.runners.finetune import train_step

    started = time.perf_counter()
    with flush_denormals(args.device):
        train_step(
            model=model,
            batch=batch,
            optimizer=optimizer,
            scaler=scaler,
            device=args.device,
            amp=args.amp,
            max_grad_norm=1.0,
        )
    if args.device.startswith("cuda"):
        torch.cuda.synchronize()
    return time.perf_counter() - started


def child_memory(method: str, args: argparse.Namespace) -> dict[str, float]:
    """Peak memory of one variant alone in this process."""
    import torch

    model, optimizer, scaler, trainable = _setup(method, args)
    batches = _batches(args, args.warmup + args.steps)
    loaded_kib = _rss_kib("VmRSS")
    if args.device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
        loaded_gpu = torch.cuda.memory_allocated()
    for batch in batches:
        _timed_step(args, model, optimizer, scaler, batch)
    out = {
        "peak_rss_mib": _rss_kib("VmHWM") / 1024,
        "training_mib": (_rss_kib("VmHWM") - loaded_kib) / 1024,
        "trainable": float(sum(p.numel() for p in trainable)),
        "total": float(sum(p.numel() for p in model.parameters())),
    }
    if args.device.startswith("cuda"):
        out["gpu_peak_mib"] = torch.cuda.max_memory_allocated() / MiB
        out["gpu_training_mib"] = (torch.cuda.max_memory_allocated() - loaded_gpu) / MiB
    return out


def child_throughput(args: argparse.Namespace) -> dict[str, float]:
    """Both variants in one process, steps interleaved (full, LoRA, full, ...), so load spikes
    on a shared machine hit both alike; the median step time of each."""
    variants: dict[str, tuple[Any, Any, Any]] = {}
    for method in ("full", "lora"):
        model, optimizer, scaler, _ = _setup(method, args)
        variants[method] = (model, optimizer, scaler)
    batches = _batches(args, args.warmup + args.steps)
    times: dict[str, list[float]] = {"full": [], "lora": []}
    for i, batch in enumerate(batches):
        for method in ("full", "lora") if i % 2 == 0 else ("lora", "full"):
            elapsed = _timed_step(args, *variants[method], batch)
            if i >= args.warmup:
                times[method].append(elapsed)
    return {f"{m}_steps_per_s": 1.0 / statistics.median(t) for m, t in times.items()}


def _run_child(mode: str, args: argparse.Namespace) -> dict[str, float]:
    argv = [
        sys.executable,
        "-m",
        "bench.lora_vs_full",
        "--child",
        mode,
        "--device",
        args.device,
        "--seq",
        str(args.seq),
        "--batch",
        str(args.batch),
        "--steps",
        str(args.steps),
        "--warmup",
        str(args.warmup),
        *([] if args.amp else ["--no-amp"]),
        "--threads",
        str(args.threads),
    ]
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=args.timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{mode} child failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument("--seq", type=int, default=32)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--steps", type=int, default=6, help="measured steps per variant")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--no-amp", dest="amp", action="store_false", help="train in fp32 instead of AMP")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads (0: torch's default). 1 by default: on a shared machine, OpenMP threads that spin "
        "waiting for each other make multi-threaded timings swing by 10x",
    )
    parser.add_argument("--timeout", type=int, default=900)
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--child", choices=["full", "lora", "throughput"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.device == "auto":
        import torch

        args.device = "cuda" if torch.cuda.is_available() else "cpu"
    if args.child:
        if args.threads:
            import torch

            torch.set_num_threads(args.threads)
        result = child_throughput(args) if args.child == "throughput" else child_memory(args.child, args)
        print(json.dumps(result))
        return 0
    install_deadline(args.timeout)
    report = Report(
        f"lora_vs_full: BERT-base-sized random model on {args.device}, seq {args.seq}, batch {args.batch}, "
        f"{args.steps} steps after {args.warmup} warm-up, {'AMP' if args.amp else 'fp32'}"
    )
    memory = {method: _run_child(method, args) for method in ("full", "lora")}
    speed = _run_child("throughput", args)

    def med(method: str, key: str) -> float:
        return speed[f"{method}_{key}"] if key == "steps_per_s" else memory[method][key]

    for method in ("full", "lora"):
        report.info(
            f"{method}",
            f"{med(method, 'steps_per_s'):.3f} steps/s, peak RSS {med(method, 'peak_rss_mib'):.0f} MiB "
            f"(training {med(method, 'training_mib'):.0f} MiB), trainable {med(method, 'trainable'):.0f} "
            f"of {med(method, 'total'):.0f} parameters",
        )
    report.note(
        "lora_vs_full_steps_per_s",
        med("lora", "steps_per_s") / med("full", "steps_per_s"),
        what="LoRA / full throughput",
    )
    report.ratio(
        "lora_vs_full_peak_rss",
        med("lora", "peak_rss_mib") / med("full", "peak_rss_mib"),
        target=0.75,
        higher_is_better=False,
    )
    report.ratio(
        "lora_vs_full_training_memory",
        med("lora", "training_mib") / max(1.0, med("full", "training_mib")),
        target=0.5,
        higher_is_better=False,
    )
    report.note("lora_vs_full_trainable_parameters", med("lora", "trainable") / med("full", "trainable"), what="ratio")
    if args.device.startswith("cuda"):
        report.ratio(
            "lora_vs_full_gpu_peak",
            med("lora", "gpu_peak_mib") / med("full", "gpu_peak_mib"),
            target=1.0,
            higher_is_better=False,
        )
    return report.summary(strict=args.strict)


if __name__ == "__main__":
    raise SystemExit(main())
