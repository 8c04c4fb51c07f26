"""Mixed precision vs fp32 training through the runners' one training step.

Two measurements, each with both precisions run side by side so both see the same machine
load:

* throughput: training steps/s of a randomly initialised BERT (default: 4 layers, hidden
  256, sequence 128, batch 16) with ``jobs.runners.finetune.train_step`` and ``amp=True``
  (CPU: bf16 autocast; CUDA: bf16, or fp16 with a GradScaler) against ``amp=False`` (fp32),
  two models with their steps interleaved, median step time each;
* metric change: the tiny synthetic sentiment task of the tests, fine-tuned end to end by
  ``jobs.runners.finetune.finetune`` with and without AMP, same seed; the accuracy
  difference (AMP - fp32) on its test split.

Runs on CPU, and also on CUDA when a GPU is present (``--device auto``). Prints
``name: value (target ...)`` lines like the other bench scripts. Nothing is downloaded.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time
from pathlib import Path

from bench.common import Report, install_deadline, temp_dir


def _model(args: argparse.Namespace, device: str):  # type: ignore[no-untyped-def]
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    from jobs.runners.base import move_to

    torch.manual_seed(0)
    sizes = dict(
        vocab_size=8192,
        hidden_size=args.hidden,
        num_hidden_layers=args.layers,
        num_attention_heads=max(1, args.hidden // 64),
        intermediate_size=4 * args.hidden,
        max_position_embeddings=max(512, args.seq),
        num_labels=2,
    )
    model = BertForSequenceClassification(BertConfig(**sizes))
    move_to(model, device)
    return model


def _batches(args: argparse.Namespace, n: int):  # type: ignore[no-untyped-def]
    import torch

    g = torch.Generator().manual_seed(1)
    return [
        {
            "input_ids": torch.randint(5, 8192, (args.batch, args.seq), generator=g),
            "attention_mask": torch.ones(args.batch, args.seq, dtype=torch.long),
            "labels": torch.randint(0, 2, (args.batch,), generator=g),
        }
        for _ in range(n)
    ]


def _throughput(report: Report, args: argparse.Namespace, device: str) -> None:
    """Two identical models, one trained with AMP and one in fp32, their steps interleaved
    (AMP, fp32, fp32, AMP, ...) so load spikes on a shared machine hit both alike; the ratio
    of median step times."""
    import torch

    from jobs.runners.base import amp_policy, flush_denormals
    from jobs.runners.finetune import make_grad_scaler

    setups = {}
    for amp in (True, False):
        model = _model(args, device)
        setups[amp] = (model, torch.optim.AdamW(model.parameters(), lr=1e-4), make_grad_scaler(device, amp=amp))
    times: dict[bool, list[float]] = {True: [], False: []}
    flush = flush_denormals(device) if args.flush_denormals else contextlib.nullcontext()
    with flush:
        _interleave(args, device, setups, times)
    policy = amp_policy(device)
    amp_sps, fp32_sps = 1 / statistics.median(times[True]), 1 / statistics.median(times[False])
    report.info(
        f"{device}_precision",
        f"{policy.dtype} autocast, grad scaler {policy.use_grad_scaler}, denormals flushed {args.flush_denormals}",
    )
    report.info(f"{device}_steps_per_s", f"AMP {amp_sps:.2f}, fp32 {fp32_sps:.2f} (median of {args.steps} steps each)")
    report.ratio(f"train_amp_speedup_{device}", amp_sps / fp32_sps, target=1.0, higher_is_better=True)


def _interleave(args: argparse.Namespace, device: str, setups: dict, times: dict[bool, list[float]]) -> None:  # type: ignore[type-arg]
    import torch

    from jobs.runners.finetune import train_step

    for i, batch in enumerate(_batches(args, args.warmup + args.steps)):
        for amp in (True, False) if i % 2 == 0 else (False, True):
            model, optimizer, scaler = setups[amp]
            started = time.perf_counter()
            train_step(
                model=model, batch=batch, optimizer=optimizer, scaler=scaler, device=device, amp=amp, max_grad_norm=1.0
            )
            if device.startswith("cuda"):
                torch.cuda.synchronize()
            if i >= args.warmup:
                times[amp].append(time.perf_counter() - started)


def _metric_change(report: Report, device: str, tmp: Path) -> None:
    from jobs.runners.finetune import finetune
    from jobs.runners.model_index import parse_fine_tune
    from tests.jobs.runners import tiny

    base, data = tmp / "base", tmp / "data"
    tiny.make_model_dir(base, task="text-classification", seed=1)
    tiny.write_jsonl(data / "train.jsonl", tiny.classification_rows(512, seed=21))
    tiny.write_jsonl(data / "test.jsonl", tiny.classification_rows(400, seed=22, noise={"south": 0.2}))
    spec = parse_fine_tune(
        {
            "fine_tune": {
                "dataset": "bench/sentiment",
                "eval_split": "test",
                "args": {"input_column": "text", "label_column": "label"},
                "hyperparameters": {"learning_rate": 5e-3, "epochs": 2, "batch_size": 16},
            }
        }
    )
    assert spec is not None
    from jobs.runners.finetune import FineTuneOptions

    accuracy = {}
    for amp in (True, False):
        out = tmp / f"out-{device}-{amp}"
        out.mkdir()
        result = finetune(
            model_dir=base,
            dataset_dir=data,
            output_dir=out,
            spec=spec,
            base_model="bench/tiny",
            device=device,
            seed=0,
            options=FineTuneOptions(amp=amp),
        )
        accuracy[amp] = result.metrics["accuracy"]
    report.info(f"{device}_accuracy_amp_vs_fp32", f"{accuracy[True]:.4f} vs {accuracy[False]:.4f}")
    report.limit(
        f"train_amp_accuracy_change_{device}", abs(accuracy[True] - accuracy[False]) * 100, below=2.0, unit="points"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="auto", help="auto (CPU, plus CUDA when present), cpu or cuda")
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--seq", type=int, default=128)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--steps", type=int, default=20, help="measured steps per precision")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument(
        "--keep-denormals",
        dest="flush_denormals",
        action="store_false",
        help="measure throughput without flushing denormals on CPU (the runners flush them)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads (0: torch's default). 1 by default: on a shared machine, OpenMP threads that spin "
        "waiting for each other make multi-threaded timings swing by 10x",
    )
    parser.add_argument("--timeout", type=int, default=600)
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    install_deadline(args.timeout)
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)

    devices = ["cpu"] if args.device in ("auto", "cpu") else []
    if args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available()):
        devices.append("cuda")
    report = Report(
        f"train_amp: AMP vs fp32 through jobs.runners.finetune.train_step "
        f"(BERT {args.layers}x{args.hidden}, seq {args.seq}, batch {args.batch}, "
        f"torch threads {torch.get_num_threads()})"
    )
    with temp_dir("bench-train-amp-") as tmp:
        for device in devices:
            _throughput(report, args, device)
            _metric_change(report, device, tmp)
    return report.summary(strict=args.strict)


if __name__ == "__main__":
    raise SystemExit(main())
