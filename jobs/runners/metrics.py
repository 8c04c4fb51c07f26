"""Metric values from predictions: scikit-learn for the numbers, fairlearn for groups.

The Hub's ``evaluate`` library needs the network at run time, so every metric is a
scikit-learn function (SECURITY/ENV: offline). Per-group values and the largest gap between
groups come from fairlearn's ``MetricFrame`` (``difference(method="between_groups")``, i.e.
max - min over groups), the reference implementation of that definition.

Conventions (documented because they change numbers): f1/precision/recall default to
``average="macro"``, use ``zero_division=0`` and only the labels present in ``y_true`` or
``y_pred`` (scikit-learn's default); ``binary`` uses ``pos_label`` (default id 1). Token
classification is scored on the flattened per-word labels (no entity grouping).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from jobs.runners.base import RunnerError, finite_floats
from jobs.runners.model_index import MetricSpec

MAX_GROUPS = 1000
MAX_GROUP_NAME_CHARS = 100
MISSING_GROUP = "(missing)"


@dataclass(frozen=True, slots=True)
class MetricReport:
    overall: dict[str, float]
    by_group: dict[str, dict[str, float]]  # metric key (and "count") -> group -> value
    gaps: dict[str, float]  # metric key -> max - min over groups

    def flat_metrics(self) -> dict[str, float]:
        """Headline numbers for a result: overall values plus ``<key>_gap``."""
        out = dict(self.overall)
        out.update({f"{k}_gap": v for k, v in self.gaps.items()})
        return out


def metric_function(spec: MetricSpec, *, label2id: Mapping[str, int] | None = None) -> Callable[[Any, Any], float]:
    from sklearn import metrics as skm

    if spec.type == "accuracy":
        return skm.accuracy_score
    if spec.type in ("f1", "precision", "recall"):
        fn = {"f1": skm.f1_score, "precision": skm.precision_score, "recall": skm.recall_score}[spec.type]
        kwargs: dict[str, Any] = {"average": spec.average or "macro", "zero_division": 0}
        if kwargs["average"] == "binary":
            kwargs["pos_label"] = _pos_label_id(spec.pos_label, label2id)
        return functools.partial(fn, **kwargs)
    if spec.type == "mse":
        return skm.mean_squared_error
    if spec.type == "rmse":
        return skm.root_mean_squared_error
    if spec.type == "mae":
        return skm.mean_absolute_error
    if spec.type == "r2":
        return skm.r2_score
    raise RunnerError(f"Unsupported metric {spec.type!r}")


def _pos_label_id(pos_label: str | int | None, label2id: Mapping[str, int] | None) -> int:
    if pos_label is None:
        return 1
    if isinstance(pos_label, int):
        return pos_label
    if label2id and pos_label in label2id:
        return int(label2id[pos_label])
    raise RunnerError(f"pos_label {pos_label!r} is not one of the model's labels")


def group_names(values: Sequence[Any]) -> list[str]:
    """Group values as bounded strings (a group column may hold anything JSON can)."""
    out = []
    for v in values:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            out.append(MISSING_GROUP)
        else:
            out.append(str(v)[:MAX_GROUP_NAME_CHARS])
    return out


def compute_metrics(
    *,
    metrics: Sequence[MetricSpec],
    y_true: Sequence[Any],
    y_pred: Sequence[Any],
    groups: Sequence[str] | None = None,
    label2id: Mapping[str, int] | None = None,
) -> MetricReport:
    import numpy as np

    if len(y_true) != len(y_pred) or len(y_true) == 0:
        raise RunnerError("Nothing to score: no predictions")
    functions = {m.key: metric_function(m, label2id=label2id) for m in metrics}
    yt, yp = np.asarray(y_true), np.asarray(y_pred)
    if groups is None:
        overall = finite_floats({k: fn(yt, yp) for k, fn in functions.items()})
        return MetricReport(overall=overall, by_group={}, gaps={})
    if len(groups) != len(y_true):
        raise RunnerError("The group column does not line up with the predictions")
    distinct = set(groups)
    if len(distinct) > MAX_GROUPS:
        raise RunnerError(f"The group column has more than {MAX_GROUPS} distinct values")
    import warnings

    import pandas as pd
    from fairlearn.metrics import MetricFrame

    with warnings.catch_warnings():
        # r2 on a one-row group is undefined (NaN, with a warning): the value is dropped below.
        warnings.simplefilter("ignore")
        frame = MetricFrame(
            metrics=functions, y_true=yt, y_pred=yp, sensitive_features=pd.Series(list(groups), name="group")
        )
        overall = finite_floats(frame.overall.to_dict())
        by_group = {key: finite_floats(frame.by_group[key].to_dict()) for key in functions}
        gaps = finite_floats(frame.difference(method="between_groups").to_dict())
    counts = pd.Series(list(groups)).value_counts()
    by_group["count"] = {str(k): float(v) for k, v in counts.items()}
    return MetricReport(overall=overall, by_group=by_group, gaps=gaps)
