"""Evaluation and fine-tuning requests, read from a model card's metadata.

Input is the parsed YAML front matter of a model card (``repos.cards.split_front_matter``
gives it). Two blocks matter:

* ``model-index`` (the Hugging Face format): every result whose task, dataset and metrics we
  can compute becomes an ``EvalSpec``. ``dataset.type`` is the ``namespace/name`` of a dataset
  repository of this hub, ``dataset.config`` an optional config of its card, ``dataset.split``
  the split, and ``dataset.args`` names the columns (``input_column``, ``label_column``,
  optional ``group_column`` for per-group metrics).
* ``fine_tune`` (ours, opt-in): a ``FineTuneSpec`` for training on a dataset of this hub.

This module is imported by the web process to validate cards before queueing a job, so it
imports nothing heavy. Specs cross the process boundary as plain JSON (``to_params`` /
``from_params``, which re-validates: the child trusts nothing it did not check itself).

The metadata is user-written YAML, so every field may have any type. Problems are collected
with their location (``model-index[0].results[1].metrics[0].args.average``) so the user sees
all of them at once.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from jobs.runners.base import RunnerError

TaskType = Literal["text-classification", "token-classification", "regression"]
TASK_TYPES: tuple[TaskType, ...] = ("text-classification", "token-classification", "regression")
# Names the Hub and common cards use for the same tasks.
TASK_ALIASES: dict[str, TaskType] = {
    "text-classification": "text-classification",
    "sequence-classification": "text-classification",
    "sentiment-analysis": "text-classification",
    "token-classification": "token-classification",
    "ner": "token-classification",
    "regression": "regression",
    "text-regression": "regression",
}

CLASSIFICATION_METRICS = ("accuracy", "f1", "precision", "recall")
REGRESSION_METRICS = ("mse", "rmse", "mae", "r2")
METRICS_FOR_TASK: dict[TaskType, tuple[str, ...]] = {
    "text-classification": CLASSIFICATION_METRICS,
    "token-classification": CLASSIFICATION_METRICS,
    "regression": REGRESSION_METRICS,
}
AVERAGES = ("binary", "micro", "macro", "weighted")
METRIC_ALIASES = {"mean_squared_error": "mse", "mean_absolute_error": "mae", "r_squared": "r2"}

# Hub names: letters, digits, "-", "_", "." (no "..", no leading punctuation).
REPO_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")
# Split and config names become parts of file patterns: no separators, no "..".
SPLIT_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")

MAX_MODEL_INDEX_ENTRIES = 16
MAX_RESULTS = 64
MAX_METRICS = 32
MAX_COLUMN_CHARS = 256
MAX_NAME_CHARS = 256


class ModelIndexError(RunnerError):
    """The card's ``model-index`` or ``fine_tune`` block cannot be used; ``problems`` lists
    every ``(location, reason)`` found."""

    kind = "spec"

    def __init__(self, problems: Sequence[tuple[str, str]]) -> None:
        self.problems = tuple(problems)
        text = "; ".join(f"{where}: {why}" for where, why in self.problems[:20])
        if len(self.problems) > 20:
            text += f"; and {len(self.problems) - 20} more"
        super().__init__(f"Invalid evaluation metadata in the model card: {text}")


@dataclass(frozen=True, slots=True)
class MetricSpec:
    type: str
    average: str | None = None
    pos_label: str | int | None = None
    name: str | None = None  # display name from the card
    claimed: float | None = None  # the value the card states, to compare with what we measure

    @property
    def key(self) -> str:
        """Stable key in result dicts: ``f1_macro``, ``accuracy``."""
        return f"{self.type}_{self.average}" if self.average else self.type


@dataclass(frozen=True, slots=True)
class DatasetSpec:
    repo: str
    split: str
    input_column: str
    label_column: str
    group_column: str | None = None
    config: str | None = None
    revision: str | None = None
    name: str | None = None


@dataclass(frozen=True, slots=True)
class EvalSpec:
    task: TaskType
    dataset: DatasetSpec
    metrics: tuple[MetricSpec, ...]
    model_name: str | None = None

    def to_params(self) -> dict[str, Any]:
        """The spec as one ``model-index`` result (plus ``model_name``): params use the card's
        own format, so there is one parser for both."""
        return {
            "model_name": self.model_name,
            "task": {"type": self.task},
            "dataset": _dataset_to_card(self.dataset),
            "metrics": [_metric_to_card(m) for m in self.metrics],
        }

    @classmethod
    def from_params(cls, data: Any) -> EvalSpec:
        p = _Problems()
        name = data.get("model_name") if isinstance(data, Mapping) else None
        spec = _result(data, p, "eval", name if isinstance(name, str) else None)
        p.raise_if_any()
        assert spec is not None
        return spec


@dataclass(frozen=True, slots=True)
class Hyperparameters:
    learning_rate: float = 5e-5
    epochs: int = 3
    batch_size: int = 16
    max_length: int = 128
    weight_decay: float = 0.0
    warmup_ratio: float = 0.0
    max_steps: int | None = None
    max_grad_norm: float | None = 1.0
    lora_r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.05
    lora_target_modules: tuple[str, ...] | None = None  # None: peft's default for the architecture


# name -> (type, min, max). Ranges keep a card from asking for 10^9 epochs or a 10^6 batch.
_HYPER_RANGES: dict[str, tuple[type, float, float]] = {
    "learning_rate": (float, 1e-8, 1.0),
    "epochs": (int, 1, 100),
    "batch_size": (int, 1, 1024),
    "max_length": (int, 4, 8192),
    "weight_decay": (float, 0.0, 1.0),
    "warmup_ratio": (float, 0.0, 0.5),
    "max_steps": (int, 1, 10_000_000),
    "max_grad_norm": (float, 1e-6, 1e6),
    "lora_r": (int, 1, 1024),
    "lora_alpha": (int, 1, 4096),
    "lora_dropout": (float, 0.0, 0.9),
}


@dataclass(frozen=True, slots=True)
class FineTuneSpec:
    task: TaskType
    method: Literal["full", "lora"]
    dataset: DatasetSpec  # ``split`` is the training split
    eval_split: str | None
    hyperparameters: Hyperparameters = field(default_factory=Hyperparameters)
    metrics: tuple[MetricSpec, ...] = ()

    def eval_spec(self) -> EvalSpec | None:
        """The evaluation run after training (on ``eval_split``), or None without one."""
        if self.eval_split is None:
            return None
        ds = self.dataset
        return EvalSpec(
            task=self.task,
            dataset=DatasetSpec(
                repo=ds.repo,
                split=self.eval_split,
                input_column=ds.input_column,
                label_column=ds.label_column,
                group_column=ds.group_column,
                config=ds.config,
                revision=ds.revision,
                name=ds.name,
            ),
            metrics=self.metrics,
        )

    def to_params(self) -> dict[str, Any]:
        """The spec in the card's ``fine_tune`` format (see ``parse_fine_tune``)."""
        hp = self.hyperparameters
        hyper: dict[str, Any] = {name: getattr(hp, name) for name in _HYPER_RANGES if getattr(hp, name) is not None}
        if hp.lora_target_modules:
            hyper["lora_target_modules"] = list(hp.lora_target_modules)
        ds = _dataset_to_card(self.dataset)
        return {
            "method": self.method,
            "task": self.task,
            "dataset": ds["type"],
            "config": ds.get("config"),
            "revision": ds.get("revision"),
            "split": ds["split"],
            "eval_split": self.eval_split,
            "args": ds["args"],
            "hyperparameters": hyper,
            "metrics": [_metric_to_card(m) for m in self.metrics],
        }

    @classmethod
    def from_params(cls, data: Any) -> FineTuneSpec:
        p = _Problems()
        spec = _fine_tune(data, p, "fine_tune")
        p.raise_if_any()
        assert spec is not None
        return spec


@dataclass(frozen=True, slots=True)
class ModelIndex:
    """Everything usable in a card, plus what was not (for a note on the job page)."""

    specs: tuple[EvalSpec, ...]
    problems: tuple[tuple[str, str], ...]


def read_model_index(metadata: Mapping[str, Any] | None) -> ModelIndex:
    """Lenient reading: collect usable specs and the problems of the rest."""
    p = _Problems()
    specs: list[EvalSpec] = []
    raw = (metadata or {}).get("model-index")
    if raw is None:
        return ModelIndex(specs=(), problems=())
    if not isinstance(raw, list):
        p.add("model-index", "must be a list")
        return ModelIndex(specs=(), problems=tuple(p.items))
    if len(raw) > MAX_MODEL_INDEX_ENTRIES:
        p.add("model-index", f"has more than {MAX_MODEL_INDEX_ENTRIES} entries")
        raw = raw[:MAX_MODEL_INDEX_ENTRIES]
    for i, entry in enumerate(raw):
        where = f"model-index[{i}]"
        if not isinstance(entry, Mapping):
            p.add(where, "must be a mapping")
            continue
        model_name = _opt_str(entry.get("name"), p, f"{where}.name", MAX_NAME_CHARS)
        results = entry.get("results")
        if not isinstance(results, list) or not results:
            p.add(f"{where}.results", "must be a non-empty list")
            continue
        if len(results) > MAX_RESULTS:
            p.add(f"{where}.results", f"has more than {MAX_RESULTS} entries")
            results = results[:MAX_RESULTS]
        for j, result in enumerate(results):
            spec = _result(result, p, f"{where}.results[{j}]", model_name)
            if spec is not None:
                specs.append(spec)
    return ModelIndex(specs=tuple(specs), problems=tuple(p.items))


def parse_model_index(metadata: Mapping[str, Any] | None) -> list[EvalSpec]:
    """Strict reading: every result must be usable, else ``ModelIndexError`` lists why."""
    index = read_model_index(metadata)
    if index.problems:
        raise ModelIndexError(index.problems)
    return list(index.specs)


def parse_fine_tune(metadata: Mapping[str, Any] | None) -> FineTuneSpec | None:
    """The card's ``fine_tune`` block, or None when the card does not opt in.

    ```yaml
    fine_tune:
      method: lora                 # full | lora
      task: text-classification    # or regression (default text-classification)
      dataset: alice/reviews
      config: default              # optional
      split: train
      eval_split: test             # optional: evaluated after training, put in the new card
      args: {input_column: text, label_column: label, group_column: dialect}
      hyperparameters: {learning_rate: 1.0e-4, epochs: 3, batch_size: 16, lora_r: 8}
      metrics: [{type: accuracy}, {type: f1, args: {average: macro}}]   # optional
    ```
    """
    raw = (metadata or {}).get("fine_tune")
    if raw is None:
        return None
    p = _Problems()
    spec = _fine_tune(raw, p, "fine_tune")
    p.raise_if_any()
    return spec


def default_metrics(task: TaskType) -> tuple[MetricSpec, ...]:
    if task == "regression":
        return (MetricSpec(type="mse"), MetricSpec(type="mae"), MetricSpec(type="r2"))
    return (MetricSpec(type="accuracy"), MetricSpec(type="f1", average="macro"))


# ---------------------------------------------------------------------------------------------
# Parsing helpers


class _Problems:
    def __init__(self) -> None:
        self.items: list[tuple[str, str]] = []

    def add(self, where: str, why: str) -> None:
        self.items.append((where, why))

    def raise_if_any(self) -> None:
        if self.items:
            raise ModelIndexError(self.items)


def _opt_str(value: Any, p: _Problems, where: str, limit: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        p.add(where, "must be a string")
        return None
    text = str(value)
    if len(text) > limit:
        p.add(where, f"is longer than {limit} characters")
        return None
    return text


def _column(value: Any, p: _Problems, where: str, *, required: bool) -> str | None:
    if value is None:
        if required:
            p.add(where, "is required")
        return None
    if not isinstance(value, str) or not value or len(value) > MAX_COLUMN_CHARS:
        p.add(where, f"must be a column name (1 to {MAX_COLUMN_CHARS} characters)")
        return None
    return value


def _split_name(value: Any, p: _Problems, where: str, *, required: bool) -> str | None:
    if value is None:
        if required:
            p.add(where, "is required")
        return None
    if not isinstance(value, str) or not SPLIT_RE.match(value) or ".." in value:
        p.add(where, "must be a split name (letters, digits, '_', '-', '.')")
        return None
    return value


def _task(value: Any, p: _Problems, where: str) -> TaskType | None:
    if isinstance(value, Mapping):
        value = value.get("type")
    if not isinstance(value, str) or value not in TASK_ALIASES:
        p.add(where, f"unsupported task {value!r} (supported: {', '.join(TASK_TYPES)})")
        return None
    return TASK_ALIASES[value]


def _dataset(
    fields: Mapping[str, Any],
    p: _Problems,
    *,
    where: str,
    repo_key: str,
) -> DatasetSpec | None:
    """``fields`` holds ``repo_key`` (the repo id), ``split``, ``config``, ``revision``,
    ``name`` and ``args``, at ``where`` (a model-index ``dataset`` or the ``fine_tune`` block)."""
    before = len(p.items)
    repo = fields.get(repo_key)
    if not isinstance(repo, str) or not REPO_ID_RE.match(repo) or ".." in repo:
        p.add(f"{where}.{repo_key}", "must name a dataset repository as 'namespace/name'")
    split_name = _split_name(fields.get("split"), p, f"{where}.split", required=True)
    config_name = _split_name(fields.get("config"), p, f"{where}.config", required=False)
    rev = _opt_str(fields.get("revision"), p, f"{where}.revision", 255)
    display = _opt_str(fields.get("name"), p, f"{where}.name", MAX_NAME_CHARS)
    args = fields.get("args")
    args_where = f"{where}.args"
    if not isinstance(args, Mapping):
        p.add(args_where, "must be a mapping with input_column and label_column")
        return None
    unknown = set(args) - {"input_column", "label_column", "group_column"}
    if unknown:
        p.add(args_where, f"unknown keys {sorted(map(str, unknown))}")
    input_column = _column(args.get("input_column"), p, f"{args_where}.input_column", required=True)
    label_column = _column(args.get("label_column"), p, f"{args_where}.label_column", required=True)
    group_column = _column(args.get("group_column"), p, f"{args_where}.group_column", required=False)
    if len(p.items) > before:
        return None
    assert isinstance(repo, str) and split_name and input_column and label_column
    return DatasetSpec(
        repo=repo,
        split=split_name,
        input_column=input_column,
        label_column=label_column,
        group_column=group_column,
        config=config_name,
        revision=rev,
        name=display,
    )


def _metric(raw: Any, task: TaskType, p: _Problems, where: str) -> MetricSpec | None:
    if not isinstance(raw, Mapping):
        p.add(where, "must be a mapping with a 'type'")
        return None
    mtype = raw.get("type")
    if isinstance(mtype, str):
        mtype = METRIC_ALIASES.get(mtype, mtype)
    allowed = METRICS_FOR_TASK[task]
    if not isinstance(mtype, str) or mtype not in allowed:
        p.add(f"{where}.type", f"unsupported metric {mtype!r} for {task} (supported: {', '.join(allowed)})")
        return None
    args = raw.get("args") or {}
    if not isinstance(args, Mapping):
        p.add(f"{where}.args", "must be a mapping")
        return None
    average: str | None = None
    pos_label: str | int | None = None
    if mtype in ("f1", "precision", "recall"):
        unknown = set(args) - {"average", "pos_label"}
        average = args.get("average", "macro")
        if average not in AVERAGES:
            p.add(f"{where}.args.average", f"must be one of {', '.join(AVERAGES)}")
            return None
        pos_label = args.get("pos_label")
        if pos_label is not None and (isinstance(pos_label, bool) or not isinstance(pos_label, str | int)):
            p.add(f"{where}.args.pos_label", "must be a label name or id")
            return None
        if average != "binary" and pos_label is not None:
            p.add(f"{where}.args.pos_label", "is only meaningful with average: binary")
            return None
    else:
        unknown = set(args)
    if unknown:
        p.add(f"{where}.args", f"unknown arguments {sorted(map(str, unknown))} for {mtype}")
        return None
    claimed = raw.get("value")
    claimed_value: float | None = None
    if isinstance(claimed, int | float) and not isinstance(claimed, bool) and math.isfinite(claimed):
        claimed_value = float(claimed)
    name = raw.get("name")
    return MetricSpec(
        type=mtype,
        average=average,
        pos_label=pos_label,
        name=name[:MAX_NAME_CHARS] if isinstance(name, str) else None,
        claimed=claimed_value,
    )


def _metrics(raw: Any, task: TaskType, p: _Problems, where: str, *, required: bool) -> tuple[MetricSpec, ...] | None:
    if raw is None and not required:
        return default_metrics(task)
    if not isinstance(raw, list) or not raw:
        p.add(where, "must be a non-empty list")
        return None
    if len(raw) > MAX_METRICS:
        p.add(where, f"has more than {MAX_METRICS} metrics")
        return None
    before = len(p.items)
    out = [_metric(m, task, p, f"{where}[{k}]") for k, m in enumerate(raw)]
    if len(p.items) > before:
        return None
    metrics = tuple(m for m in out if m is not None)
    keys = [m.key for m in metrics]
    if len(set(keys)) != len(keys):
        p.add(where, "lists the same metric twice")
        return None
    return metrics


def _result(raw: Any, p: _Problems, where: str, model_name: str | None) -> EvalSpec | None:
    if not isinstance(raw, Mapping):
        p.add(where, "must be a mapping")
        return None
    before = len(p.items)
    task = _task(raw.get("task"), p, f"{where}.task")
    ds = raw.get("dataset")
    dataset: DatasetSpec | None = None
    if not isinstance(ds, Mapping):
        p.add(f"{where}.dataset", "must be a mapping")
    else:
        dataset = _dataset(ds, p, where=f"{where}.dataset", repo_key="type")
    metrics = _metrics(raw.get("metrics"), task, p, f"{where}.metrics", required=True) if task else None
    if len(p.items) > before or task is None or dataset is None or metrics is None:
        return None
    return EvalSpec(task=task, dataset=dataset, metrics=metrics, model_name=model_name)


_FINE_TUNE_KEYS = frozenset(
    {"method", "task", "dataset", "config", "revision", "split", "eval_split", "args", "hyperparameters", "metrics"}
)


def _fine_tune(raw: Any, p: _Problems, where: str) -> FineTuneSpec | None:
    if not isinstance(raw, Mapping):
        p.add(where, "must be a mapping")
        return None
    unknown = set(raw) - _FINE_TUNE_KEYS
    if unknown:
        p.add(where, f"unknown keys {sorted(map(str, unknown))}")
    before = len(p.items)
    method = raw.get("method", "full")
    if method not in ("full", "lora"):
        p.add(f"{where}.method", "must be 'full' or 'lora'")
    task = _task(raw.get("task", "text-classification"), p, f"{where}.task")
    if task == "token-classification":
        p.add(f"{where}.task", "fine-tuning supports text-classification and regression")
        task = None
    dataset = _dataset({"split": "train", **raw, "name": None}, p, where=where, repo_key="dataset")
    eval_split = _split_name(raw.get("eval_split"), p, f"{where}.eval_split", required=False)
    hyper = _hyperparameters(raw.get("hyperparameters"), p, f"{where}.hyperparameters")
    metrics = _metrics(raw.get("metrics"), task, p, f"{where}.metrics", required=False) if task else None
    if len(p.items) > before or task is None or dataset is None or hyper is None or metrics is None:
        return None
    return FineTuneSpec(
        task=task,
        method="lora" if method == "lora" else "full",
        dataset=dataset,
        eval_split=eval_split,
        hyperparameters=hyper,
        metrics=metrics,
    )


def _hyperparameters(raw: Any, p: _Problems, where: str) -> Hyperparameters | None:
    if raw is None:
        return Hyperparameters()
    if not isinstance(raw, Mapping):
        p.add(where, "must be a mapping")
        return None
    values: dict[str, Any] = {}
    before = len(p.items)
    for name, value in raw.items():
        if name == "lora_target_modules":
            if value is None:
                continue
            if (
                not isinstance(value, list)
                or not 0 < len(value) <= 64
                or not all(isinstance(v, str) and re.fullmatch(r"[A-Za-z0-9_.]{1,128}", v) for v in value)
            ):
                p.add(f"{where}.{name}", "must be a list of module names")
                continue
            values[name] = tuple(value)
            continue
        if name not in _HYPER_RANGES:
            p.add(f"{where}.{name}", "unknown hyperparameter")
            continue
        kind, low, high = _HYPER_RANGES[name]
        if isinstance(value, str) and len(value) <= 32:
            # PyYAML reads ``2e-5`` (no dot) as a string; cards write it that way all the time.
            try:
                value = float(value)
            except ValueError:
                pass
        ok_type = isinstance(value, int | float) and not isinstance(value, bool)
        if kind is int and ok_type and float(value).is_integer():
            value = int(value)
        elif kind is int:
            ok_type = False
        if not ok_type or not math.isfinite(value) or not low <= value <= high:
            p.add(f"{where}.{name}", f"must be a{'n integer' if kind is int else ' number'} in [{low:g}, {high:g}]")
            continue
        values[name] = kind(value)
    if len(p.items) > before:
        return None
    return Hyperparameters(**values)


def _dataset_to_card(ds: DatasetSpec) -> dict[str, Any]:
    args = {"input_column": ds.input_column, "label_column": ds.label_column}
    if ds.group_column is not None:
        args["group_column"] = ds.group_column
    out: dict[str, Any] = {"type": ds.repo, "split": ds.split, "args": args}
    for key in ("config", "revision", "name"):
        if getattr(ds, key) is not None:
            out[key] = getattr(ds, key)
    return out


def _metric_to_card(m: MetricSpec) -> dict[str, Any]:
    args: dict[str, Any] = {}
    if m.average:
        args["average"] = m.average
    if m.pos_label is not None:
        args["pos_label"] = m.pos_label
    out: dict[str, Any] = {"type": m.type}
    if args:
        out["args"] = args
    if m.name is not None:
        out["name"] = m.name
    if m.claimed is not None:
        out["value"] = m.claimed
    return out
