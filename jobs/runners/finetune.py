"""Fine-tuning a sequence classifier or regressor: the ``finetune`` runner.

Full fine-tuning or LoRA (peft). The training loop is ours, not ``transformers.Trainer``:
it is short, every step goes through the one ``train_step`` below, and nothing in it loads
pickled state (the Trainer's checkpoint resume did, CVE-2026-1839).

Mixed precision is decided once per device by ``base.amp_policy`` and applied by
``train_step``: CUDA runs bf16 autocast where the GPU supports it, else fp16 autocast with a
``GradScaler``; the CPU runs bf16 autocast without a scaler. Weights and optimizer state stay
fp32 (autocast only lowers the matmuls), so the saved model is fp32.

Reproducibility: all RNGs are seeded from ``ctx.seed`` before the head and the LoRA adapters
are initialised, and the data order comes from a dedicated generator seeded with
``seed + epoch``. Same seed, same data, same device and thread count -> same weights.

Output directory (checked before returning, nothing else may be there): ``model.safetensors``
(for LoRA the adapters are merged, so the result is a plain model any loader reads),
``config.json``, the base model's tokenizer files and a ``README.md`` card with
``base_model``, the training parameters and a ``model-index`` holding the metrics measured
after training by ``evaluation.evaluate_model`` on the output directory itself (which also
proves the output loads through the same safe loader).
"""

from __future__ import annotations

import functools
import math
import re
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jobs.runners.base import (
    RunContext,
    RunnerError,
    RunResult,
    amp_policy,
    flush_denormals,
    move_to,
    no_log,
    no_progress,
    resolve_device,
    seed_everything,
)
from jobs.runners.datasets_io import DataLimits, load_split
from jobs.runners.evaluation import EvalOptions, evaluate_model
from jobs.runners.model_files import (
    ModelLimits,
    build_config,
    load_model,
    load_tokenizer,
    read_config,
    tokenizer_files,
)
from jobs.runners.model_index import EvalSpec, FineTuneSpec, Hyperparameters, default_metrics
from jobs.runners.outputs import scan_output_dir

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel, PreTrainedTokenizerFast

OUTPUT_FILES = frozenset(
    {
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
        "special_tokens_map.json",
        "README.md",
    }
)
_DEFAULT_LABEL_RE = re.compile(r"^LABEL_\d+$")


@dataclass(frozen=True, slots=True)
class FineTuneOptions:
    amp: bool = True
    eval_batch_size: int = 64
    log_every: int = 10
    data: DataLimits = field(default_factory=DataLimits)
    model: ModelLimits = field(default_factory=ModelLimits)
    max_output_bytes: int = 16 * 1024**3


# ---------------------------------------------------------------------------------------------
# The one training step


@functools.lru_cache(maxsize=8)
def _policy(device: str, amp: bool) -> Any:
    return amp_policy(device, enabled=amp)


def make_grad_scaler(device: str, *, amp: bool = True) -> torch.amp.GradScaler:
    """The scaler matching ``train_step``'s precision on ``device`` (a no-op unless fp16)."""
    return _policy(device, amp).grad_scaler()


def train_step(
    *,
    model: torch.nn.Module,
    batch: Mapping[str, torch.Tensor],
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler,
    device: str,
    amp: bool = True,
    max_grad_norm: float | None = None,
) -> float:
    """One optimisation step of ``model`` on ``batch`` (which holds ``labels``); returns the loss.

    The device decides the precision (``base.amp_policy``): forward and loss under autocast,
    backward through the scaler (identity unless fp16 on CUDA), gradients unscaled before
    clipping so the norm is the true one, and the scaler skips steps with inf/nan gradients.
    """
    import torch

    policy = _policy(device, amp)
    model.train()
    inputs = {k: v.to(device, non_blocking=True) for k, v in batch.items()}
    with policy.autocast():
        loss = model(**inputs).loss
    scaler.scale(loss).backward()
    if max_grad_norm is not None:
        scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_([p for g in optimizer.param_groups for p in g["params"]], max_grad_norm)
    scaler.step(optimizer)
    scaler.update()
    optimizer.zero_grad(set_to_none=True)
    return float(loss.detach().float().item())


# ---------------------------------------------------------------------------------------------
# The runner


def run(ctx: RunContext) -> RunResult:
    """Runner entry: inputs ``model`` (base) and ``dataset``; params ``fine_tune``
    (``FineTuneSpec.to_params()``), ``base_model`` (the repo id written into the new card),
    optional ``amp`` (default true)."""
    spec = FineTuneSpec.from_params(ctx.params.get("fine_tune"))
    base_model = ctx.params.get("base_model")
    if not isinstance(base_model, str) or not 0 < len(base_model) <= 200:
        raise RunnerError("Parameter base_model must name the base model repository")
    amp = ctx.params.get("amp", True)
    if not isinstance(amp, bool):
        raise RunnerError("Parameter amp must be true or false")
    return finetune(
        model_dir=ctx.input_dir("model"),
        dataset_dir=ctx.input_dir("dataset"),
        output_dir=ctx.output_dir,
        spec=spec,
        base_model=base_model,
        device=resolve_device(ctx.device),
        seed=ctx.seed,
        options=FineTuneOptions(amp=amp),
        check=ctx.check,
        progress=ctx.progress,
        log=ctx.log,
    )


def finetune(
    *,
    model_dir: Path,
    dataset_dir: Path,
    output_dir: Path,
    spec: FineTuneSpec,
    base_model: str,
    device: str = "cpu",
    seed: int = 0,
    options: FineTuneOptions = FineTuneOptions(),
    check: Callable[[], None] = lambda: None,
    progress: Callable[[float, int, Mapping[str, float]], None] = no_progress,
    log: Callable[[str], None] = no_log,
) -> RunResult:
    import torch

    started = time.monotonic()
    hp = spec.hyperparameters
    raw_config = read_config(model_dir, options.model)
    tokenizer = load_tokenizer(model_dir, config=raw_config, limits=options.model)
    ds = spec.dataset
    data = load_split(
        dataset_dir=dataset_dir,
        split=ds.split,
        columns=[ds.input_column, ds.label_column],
        config=ds.config,
        limits=options.data,
    )
    log(f"Training on {data.rows} rows of split {ds.split!r} ({', '.join(data.files)})")
    texts = data.columns[ds.input_column]
    if not all(isinstance(t, str) for t in texts):
        raise RunnerError(f"Column {ds.input_column!r} must hold text")
    overrides, targets = _label_setup(spec, raw_config, data.columns[ds.label_column])
    config = build_config(raw_config, **overrides)
    check()

    seed_everything(seed)
    # Any: peft wraps the model in a PeftModel, whose methods (merge_and_unload) are untyped.
    model: Any = load_model(model_dir, task=spec.task, config=config, limits=options.model, require_head=False)
    if spec.method == "lora":
        model = apply_lora(model, spec.hyperparameters)
    move_to(model, device)
    trainable = [p for p in model.parameters() if p.requires_grad]
    n_trainable = sum(p.numel() for p in trainable)
    n_total = sum(p.numel() for p in model.parameters())
    log(f"{spec.method} fine-tuning on {device}: {n_trainable} of {n_total} parameters trainable")

    encoded = tokenizer(list(texts), truncation=True, max_length=min(hp.max_length, tokenizer.model_max_length))
    steps_per_epoch = math.ceil(len(texts) / hp.batch_size)
    total_steps = steps_per_epoch * hp.epochs
    if hp.max_steps is not None:
        total_steps = min(total_steps, hp.max_steps)
    optimizer = torch.optim.AdamW(trainable, lr=hp.learning_rate, weight_decay=hp.weight_decay)
    warmup = int(total_steps * hp.warmup_ratio)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, functools.partial(_linear_schedule, warmup, total_steps))
    scaler = make_grad_scaler(device, amp=options.amp)

    step = 0
    losses: list[float] = []
    with flush_denormals(device):
        for epoch in range(hp.epochs):
            order = torch.randperm(len(texts), generator=torch.Generator().manual_seed(seed + epoch)).tolist()
            for start in range(0, len(order), hp.batch_size):
                if step >= total_steps:
                    break
                check()
                rows = order[start : start + hp.batch_size]
                batch = _collate(tokenizer, encoded["input_ids"], targets, rows, spec.task)
                loss = train_step(
                    model=model,
                    batch=batch,
                    optimizer=optimizer,
                    scaler=scaler,
                    device=device,
                    amp=options.amp,
                    max_grad_norm=hp.max_grad_norm,
                )
                if not math.isfinite(loss):
                    raise RunnerError(f"Training diverged at step {step + 1} (loss is {loss}); lower the learning rate")
                scheduler.step()
                step += 1
                losses.append(loss)
                progress(step / total_steps, step, {"loss": loss, "learning_rate": float(scheduler.get_last_lr()[0])})
                if step % options.log_every == 0 or step == total_steps:
                    log(f"step {step}/{total_steps} epoch {epoch + 1} loss {loss:.4f}")

    if spec.method == "lora":
        model = model.merge_and_unload()
    model.eval()
    move_to(model, "cpu")
    _save(model, model_dir, output_dir)
    train_seconds = time.monotonic() - started
    tail = losses[-max(1, steps_per_epoch) :]
    train_loss = sum(tail) / len(tail)

    eval_spec = spec.eval_spec()
    metrics: dict[str, float] = {"train_loss": train_loss}
    by_group: Mapping[str, Mapping[str, float]] = {}
    if eval_spec is not None:
        evaluated = evaluate_model(
            model_dir=output_dir,
            dataset_dir=dataset_dir,
            spec=eval_spec,
            device=device,
            options=EvalOptions(batch_size=options.eval_batch_size, amp=options.amp, data=options.data),
            check=check,
            log=log,
        )
        metrics.update(evaluated.metrics)
        by_group = evaluated.by_group
    policy = _policy(device, options.amp)
    training = {
        "method": spec.method,
        "seed": seed,
        "device": device,
        "precision": f"{policy.dtype} autocast" if policy.enabled else "float32",
        "grad_scaler": policy.use_grad_scaler,
        "steps": step,
        "train_rows": data.rows,
        "trainable_parameters": n_trainable,
        "total_parameters": n_total,
        "train_seconds": round(train_seconds, 3),
        "hyperparameters": spec.to_params()["hyperparameters"],
    }
    _write_card(output_dir, spec=spec, eval_spec=eval_spec, base_model=base_model, metrics=metrics, training=training)
    files = scan_output_dir(
        output_dir,
        max_files=len(OUTPUT_FILES),
        max_total_bytes=options.max_output_bytes,
        allowed=OUTPUT_FILES.__contains__,
    )
    if not {"config.json", "model.safetensors", "README.md"} <= {f.path for f in files}:
        raise RunnerError("Fine-tuning did not produce a complete model")
    progress(1.0, step, {k: v for k, v in metrics.items() if not isinstance(v, dict)})
    return RunResult(
        metrics=metrics,
        by_group=by_group,
        files=tuple(f.path for f in files),
        info={"training": training, "losses": [round(x, 6) for x in losses[-200:]]},
    )


def _linear_schedule(warmup: int, total: int, step: int) -> float:
    if step < warmup:
        return (step + 1) / (warmup + 1)
    return max(0.0, (total - step) / max(1, total - warmup))


def _label_setup(
    spec: FineTuneSpec, raw_config: Mapping[str, Any], values: Sequence[Any]
) -> tuple[dict[str, Any], list[Any]]:
    """Config overrides for the head and the numeric targets.

    Classification keeps the base model's labels when the data uses them (names, or ids in
    range of a named mapping), so a fine-tuned classifier stays compatible with its base;
    otherwise labels are the sorted distinct values of the data and the head is new."""
    if spec.task == "regression":
        targets = []
        for i, v in enumerate(values):
            if isinstance(v, bool):
                raise RunnerError(f"Row {i}: regression label {v!r} is not a number")
            try:
                targets.append(float(v))
            except (TypeError, ValueError):
                raise RunnerError(f"Row {i}: regression label {str(v)[:80]!r} is not a number") from None
            if not math.isfinite(targets[-1]):
                raise RunnerError(f"Row {i}: regression label is not finite")
        return {
            "num_labels": 1,
            "problem_type": "regression",
            "id2label": {0: "score"},
            "label2id": {"score": 0},
        }, targets
    names = [str(v).strip() if not isinstance(v, bool) else str(int(v)) for v in values]
    label2id = {str(k): int(v) for k, v in (raw_config.get("label2id") or {}).items() if isinstance(v, int)}
    named = bool(label2id) and not all(_DEFAULT_LABEL_RE.match(k) for k in label2id)
    distinct = sorted(set(names))
    if len(distinct) < 2:
        raise RunnerError("The training split needs at least two distinct labels")
    if len(distinct) > 10_000:
        raise RunnerError("The training split has more than 10000 distinct labels")
    if named and set(distinct) <= set(label2id):
        return {"problem_type": "single_label_classification"}, [label2id[n] for n in names]
    ids = {n: i for i, n in enumerate(distinct)}
    if named and all(n.isdigit() and int(n) < len(label2id) for n in distinct):
        return {"problem_type": "single_label_classification"}, [int(n) for n in names]
    return (
        {
            "num_labels": len(distinct),
            "id2label": {i: n for n, i in ids.items()},
            "label2id": ids,
            "problem_type": "single_label_classification",
        },
        [ids[n] for n in names],
    )


def apply_lora(model: PreTrainedModel, hp: Hyperparameters) -> Any:
    """Wrap ``model`` with LoRA adapters (peft) for sequence classification: base weights
    frozen, adapters on ``lora_target_modules`` (peft's per-architecture default when unset)
    and the classification head trained in full."""
    from peft import LoraConfig, TaskType, get_peft_model

    lora = LoraConfig(
        task_type=TaskType.SEQ_CLS,
        r=hp.lora_r,
        lora_alpha=hp.lora_alpha,
        lora_dropout=hp.lora_dropout,
        target_modules=list(hp.lora_target_modules) if hp.lora_target_modules else None,
    )
    try:
        return get_peft_model(model, lora)
    except ValueError as exc:
        raise RunnerError(f"LoRA cannot be applied to this model ({str(exc)[:200]}); set lora_target_modules") from None


def _collate(
    tokenizer: PreTrainedTokenizerFast,
    input_ids: Sequence[Sequence[int]],
    targets: Sequence[Any],
    rows: Sequence[int],
    task: str,
) -> dict[str, torch.Tensor]:
    import torch

    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    width = max(len(input_ids[r]) for r in rows)
    ids = torch.full((len(rows), width), pad, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for j, r in enumerate(rows):
        seq = input_ids[r]
        ids[j, : len(seq)] = torch.tensor(seq, dtype=torch.long)
        mask[j, : len(seq)] = 1
    dtype = torch.float32 if task == "regression" else torch.long
    labels = torch.tensor([targets[r] for r in rows], dtype=dtype)
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def _save(model: PreTrainedModel, model_dir: Path, output_dir: Path) -> None:
    output_dir.mkdir(parents=True, exist_ok=True)
    # save_pretrained writes config.json and model.safetensors (never pickle in transformers 5).
    model.save_pretrained(str(output_dir))
    for name in tokenizer_files(model_dir):
        shutil.copyfile(model_dir / name, output_dir / name)
    for extra in ("generation_config.json",):
        (output_dir / extra).unlink(missing_ok=True)


def _write_card(
    output_dir: Path,
    *,
    spec: FineTuneSpec,
    eval_spec: EvalSpec | None,
    base_model: str,
    metrics: Mapping[str, float],
    training: Mapping[str, Any],
) -> None:
    import yaml

    metadata: dict[str, Any] = {
        "base_model": base_model,
        "library_name": "transformers",
        "pipeline_tag": "text-classification",
        "tags": ["modelhub-fine-tune", spec.method],
        "datasets": [spec.dataset.repo],
    }
    if eval_spec is not None:
        measured = []
        for m in eval_spec.metrics or default_metrics(spec.task):
            if m.key not in metrics:
                continue
            entry: dict[str, Any] = {"type": m.type, "value": round(metrics[m.key], 6)}
            if m.average:
                entry["args"] = {"average": m.average}
            measured.append(entry)
        card_result = eval_spec.to_params()
        card_result.pop("model_name", None)
        card_result["metrics"] = measured
        name = base_model.split("/")[-1] + f"-{spec.method}-fine-tuned"
        metadata["model-index"] = [{"name": name, "results": [card_result]}]
    front = yaml.safe_dump(metadata, sort_keys=False, allow_unicode=False)
    rows = "\n".join(f"| {k} | {v} |" for k, v in training.items() if k != "hyperparameters")
    hyper = "\n".join(f"| {k} | {v} |" for k, v in training["hyperparameters"].items())
    results = "\n".join(f"| {k} | {v:.6g} |" for k, v in metrics.items())
    body = (
        f"# Fine-tuned from {base_model}\n\n"
        f"Trained by ModelHub on `{spec.dataset.repo}` (split `{spec.dataset.split}`).\n\n"
        f"## Training\n\n| setting | value |\n|---|---|\n{rows}\n\n"
        f"## Hyperparameters\n\n| name | value |\n|---|---|\n{hyper}\n\n"
        f"## Results\n\n| metric | value |\n|---|---|\n{results}\n"
    )
    (output_dir / "README.md").write_text(f"---\n{front}---\n\n{body}", encoding="utf-8")
