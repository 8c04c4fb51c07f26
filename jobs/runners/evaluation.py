"""Evaluating a model snapshot on a dataset split: the ``evaluate`` runner.

Order of work (cheap refusals first): config and tokenizer checks (``model_files``), the
data (``datasets_io``, bounded), label mapping, then weights (safetensors only), batched
inference under ``torch.no_grad`` with autocast on the device, and metrics
(``metrics.compute_metrics``: scikit-learn, fairlearn for groups).

Labels: a dataset label may be the label name (``"positive"``, via ``config.label2id``), the
id as an integer, or the id as a string (CSV has no types). Token classification expects a
list of words and a list of labels per row and scores the first sub-token of each word; words
cut off by ``max_length`` are not scored and counted in ``info.truncated_words``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jobs.runners.base import (
    AmpPolicy,
    RunContext,
    RunnerError,
    RunResult,
    amp_policy,
    flush_denormals,
    move_to,
    no_log,
    no_progress,
    resolve_device,
)
from jobs.runners.datasets_io import DataLimits, load_split
from jobs.runners.metrics import compute_metrics, group_names
from jobs.runners.model_files import ModelLimits, build_config, load_model, load_tokenizer, read_config
from jobs.runners.model_index import EvalSpec, TaskType

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerFast


@dataclass(frozen=True, slots=True)
class EvalOptions:
    batch_size: int = 32
    max_length: int = 512
    amp: bool = True  # autocast on the device (bf16 on CPU and recent GPUs, fp16 otherwise)
    data: DataLimits = field(default_factory=DataLimits)
    model: ModelLimits = field(default_factory=ModelLimits)

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> EvalOptions:
        def bounded(name: str, default: int, low: int, high: int) -> int:
            value = params.get(name, default)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise RunnerError(f"Parameter {name} must be an integer in [{low}, {high}]")
            return value

        amp = params.get("amp", True)
        if not isinstance(amp, bool):
            raise RunnerError("Parameter amp must be true or false")
        return cls(
            batch_size=bounded("batch_size", 32, 1, 1024),
            max_length=bounded("max_length", 512, 4, 8192),
            amp=amp,
        )


def run(ctx: RunContext) -> RunResult:
    """Runner entry: inputs ``model`` and ``dataset``; params ``eval`` (``EvalSpec.to_params()``)
    and optional ``batch_size``, ``max_length``, ``amp``."""
    spec = EvalSpec.from_params(ctx.params.get("eval"))
    options = EvalOptions.from_params(ctx.params)
    return evaluate_model(
        model_dir=ctx.input_dir("model"),
        dataset_dir=ctx.input_dir("dataset"),
        spec=spec,
        device=resolve_device(ctx.device),
        options=options,
        check=ctx.check,
        progress=ctx.progress,
        log=ctx.log,
    )


def evaluate_model(
    *,
    model_dir: Path,
    dataset_dir: Path,
    spec: EvalSpec,
    device: str = "cpu",
    options: EvalOptions = EvalOptions(),
    check: Callable[[], None] = lambda: None,
    progress: Callable[[float, int, Mapping[str, float]], None] = no_progress,
    log: Callable[[str], None] = no_log,
) -> RunResult:
    config = read_config(model_dir, options.model)
    tokenizer = load_tokenizer(model_dir, config=config, limits=options.model)
    ds = spec.dataset
    columns = [ds.input_column, ds.label_column] + ([ds.group_column] if ds.group_column else [])
    data = load_split(dataset_dir=dataset_dir, split=ds.split, columns=columns, config=ds.config, limits=options.data)
    log(f"Read {data.rows} rows of split {ds.split!r} from {', '.join(data.files)}")
    cfg = build_config(config)
    label2id = _label2id(cfg, spec.task)
    inputs = data.columns[ds.input_column]
    labels = data.columns[ds.label_column]
    groups = group_names(data.columns[ds.group_column]) if ds.group_column else None
    check()

    model = load_model(model_dir, task=spec.task, config=cfg, limits=options.model, require_head=True)
    move_to(model, device)
    policy = amp_policy(device, enabled=options.amp)
    info: dict[str, Any] = {"rows": data.rows, "split": ds.split, "files": list(data.files), "device": device}
    if spec.task == "token-classification":
        y_true, y_pred, row_of = _token_predictions(
            model, tokenizer, inputs, labels, label2id, options, device, policy, check, progress
        )
        truncated = sum(len(x) for x in labels) - len(y_true)
        info["truncated_words"] = truncated
        info["scored_tokens"] = len(y_true)
        token_groups = [groups[r] for r in row_of] if groups is not None else None
        report = compute_metrics(
            metrics=spec.metrics, y_true=y_true, y_pred=y_pred, groups=token_groups, label2id=label2id
        )
    else:
        texts = _texts(inputs, ds.input_column)
        targets: list[Any]
        if spec.task == "regression":
            targets = [_float_label(v, i) for i, v in enumerate(labels)]
        else:
            targets = [_label_id(v, label2id, i) for i, v in enumerate(labels)]
        outputs = predict(
            model=model,
            tokenizer=tokenizer,
            texts=texts,
            task=spec.task,
            device=device,
            policy=policy,
            batch_size=options.batch_size,
            max_length=options.max_length,
            check=check,
            progress=progress,
        )
        report = compute_metrics(metrics=spec.metrics, y_true=targets, y_pred=outputs, groups=groups, label2id=label2id)
    if ds.group_column:
        info["group_column"] = ds.group_column
    claimed = {m.key: m.claimed for m in spec.metrics if m.claimed is not None}
    if claimed:
        info["claimed"] = claimed
    return RunResult(metrics=report.flat_metrics(), by_group=report.by_group, info=info)


def predict(
    *,
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerFast,
    texts: Sequence[str],
    task: TaskType,
    device: str,
    policy: AmpPolicy,
    batch_size: int,
    max_length: int,
    check: Callable[[], None] = lambda: None,
    progress: Callable[[float, int, Mapping[str, float]], None] = no_progress,
) -> list[Any]:
    """Class ids (classification) or values (regression) for ``texts``, in order."""
    import torch

    out: list[Any] = []
    n_batches = (len(texts) + batch_size - 1) // batch_size
    with torch.no_grad(), flush_denormals(device):
        for b, start in enumerate(range(0, len(texts), batch_size)):
            check()
            batch = tokenizer(
                list(texts[start : start + batch_size]),
                padding=True,
                truncation=True,
                max_length=min(max_length, tokenizer.model_max_length),
                return_tensors="pt",
            ).to(device)
            with policy.autocast():
                logits = model(**batch).logits
            logits = logits.float()
            if task == "regression":
                out.extend(logits[:, 0].cpu().tolist())
            else:
                out.extend(logits.argmax(dim=-1).cpu().tolist())
            progress((b + 1) / n_batches, b + 1, {})
    return out


def _token_predictions(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerFast,
    inputs: Sequence[Any],
    labels: Sequence[Any],
    label2id: Mapping[str, int],
    options: EvalOptions,
    device: str,
    policy: AmpPolicy,
    check: Callable[[], None],
    progress: Callable[[float, int, Mapping[str, float]], None],
) -> tuple[list[int], list[int], list[int]]:
    """Flattened (true, predicted, row index) over scored words."""
    import torch

    words: list[list[str]] = []
    tags: list[list[int]] = []
    for i, (w, t) in enumerate(zip(inputs, labels, strict=True)):
        if not isinstance(w, list) or not all(isinstance(x, str) for x in w):
            raise RunnerError(f"Row {i}: token classification needs a list of words in the input column")
        if not isinstance(t, list) or len(t) != len(w):
            raise RunnerError(f"Row {i}: the label column must hold one label per word")
        words.append(w)
        tags.append([_label_id(x, label2id, i) for x in t])
    y_true: list[int] = []
    y_pred: list[int] = []
    row_of: list[int] = []
    bs = options.batch_size
    n_batches = (len(words) + bs - 1) // bs
    with torch.no_grad(), flush_denormals(device):
        for b, start in enumerate(range(0, len(words), bs)):
            check()
            enc = tokenizer(
                words[start : start + bs],
                is_split_into_words=True,
                padding=True,
                truncation=True,
                max_length=min(options.max_length, tokenizer.model_max_length),
                return_tensors="pt",
            )
            with policy.autocast():
                logits = model(**enc.to(device)).logits
            predicted = logits.float().argmax(dim=-1).cpu()
            for j in range(predicted.shape[0]):
                row = start + j
                seen: set[int] = set()
                for pos, word in enumerate(enc.word_ids(j)):
                    if word is None or word in seen:
                        continue
                    seen.add(word)
                    y_true.append(tags[row][word])
                    y_pred.append(int(predicted[j, pos]))
                    row_of.append(row)
            progress((b + 1) / n_batches, b + 1, {})
    return y_true, y_pred, row_of


def _label2id(cfg: Any, task: TaskType) -> dict[str, int]:
    if task == "regression":
        if cfg.num_labels != 1:
            raise RunnerError(f"A regression model must have one output (num_labels=1), this one has {cfg.num_labels}")
        return {}
    label2id = {str(k): int(v) for k, v in (cfg.label2id or {}).items()}
    if not label2id or len(label2id) != cfg.num_labels:
        label2id = {str(v): int(k) for k, v in (cfg.id2label or {}).items()}
    return label2id


def _label_id(value: Any, label2id: Mapping[str, int], row: int) -> int:
    n = len(label2id)
    if isinstance(value, bool):
        value = int(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str):
        if value in label2id:
            return label2id[value]
        if value.strip().lstrip("-").isdigit():
            value = int(value.strip())
    if isinstance(value, int) and 0 <= value < n:
        return value
    names = ", ".join(list(label2id)[:20])
    raise RunnerError(
        f"Row {row}: label {str(value)[:80]!r} is not one of the model's labels ({names}) or ids 0..{n - 1}"
    )


def _float_label(value: Any, row: int) -> float:
    try:
        if isinstance(value, bool):
            raise ValueError
        return float(value)
    except (TypeError, ValueError):
        raise RunnerError(f"Row {row}: regression label {str(value)[:80]!r} is not a number") from None


def _texts(values: Sequence[Any], column: str) -> list[str]:
    for i, v in enumerate(values):
        if not isinstance(v, str):
            raise RunnerError(f"Row {i}: column {column!r} must hold text")
    return list(values)
