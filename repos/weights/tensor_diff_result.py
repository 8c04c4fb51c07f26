"""The result of a tensor-level diff, and its plain-JSON form (a stable, versioned schema).

The web layer caches ``to_dict()`` per pair of checkpoints and renders from it, so the dict
holds only JSON types (str, int, float, bool, None, list, dict) with no NaN or infinity, and
``from_dict(to_dict(r)) == r``. Any change to the shape of the dict bumps ``SCHEMA_VERSION``;
``from_dict`` refuses other versions (the cache entry is then recomputed).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from repos.weights.tensor_numeric import TensorStats

SCHEMA_VERSION = 1

# Header-only facts first, then what needs the data.
ADDED = "added"
REMOVED = "removed"
DTYPE_CHANGED = "dtype_changed"  # shape may have changed too; both sides are in the row
SHAPE_CHANGED = "shape_changed"
CHANGED = "changed"  # same dtype and shape, bytes differ: stats say how much
UNCHANGED = "unchanged"  # same dtype, shape and bytes
NOT_COMPARED = "not_compared"  # same dtype and shape, data not read (header-only diff, deadline, cancel)
STATUSES = (ADDED, REMOVED, DTYPE_CHANGED, SHAPE_CHANGED, CHANGED, UNCHANGED, NOT_COMPARED)
# Statuses that mean "this tensor differs" (not_compared is unknown, not different).
DIFFERING = frozenset({ADDED, REMOVED, DTYPE_CHANGED, SHAPE_CHANGED, CHANGED})

# Module roll-up bounds: names are user data, and each level of each name is a dict entry.
MAX_MODULE_DEPTH = 16
MAX_NAME_FOR_MODULES = 1024


# Rows and summaries are plain (non-frozen) slotted dataclasses: a diff builds one row and two
# sides per tensor, and frozen dataclasses cost ~5x more to construct. Treat them as read-only.


@dataclass(slots=True)
class TensorSide:
    """One side of a tensor as its header describes it; ``file`` is the file holding it."""

    dtype: str
    shape: tuple[int, ...]
    file: str

    def to_dict(self) -> dict[str, Any]:
        return {"dtype": self.dtype, "shape": list(self.shape), "file": self.file}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TensorSide:
        return cls(dtype=data["dtype"], shape=tuple(data["shape"]), file=data["file"])


@dataclass(slots=True)
class TensorRow:
    name: str
    status: str
    old: TensorSide | None
    new: TensorSide | None
    stats: TensorStats | None = None

    @property
    def module(self) -> str:
        return module_of(self.name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "module": self.module,
            "status": self.status,
            "old": self.old.to_dict() if self.old else None,
            "new": self.new.to_dict() if self.new else None,
            "stats": _stats_to_dict(self.stats) if self.stats else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TensorRow:
        return cls(
            name=data["name"],
            status=data["status"],
            old=TensorSide.from_dict(data["old"]) if data["old"] else None,
            new=TensorSide.from_dict(data["new"]) if data["new"] else None,
            stats=_stats_from_dict(data["stats"]) if data["stats"] else None,
        )


def _stats_to_dict(stats: TensorStats) -> dict[str, Any]:
    return {
        "elements": stats.elements,
        "changed_elements": stats.changed_elements,
        "changed_fraction": stats.changed_fraction,
        "max_abs_diff": stats.max_abs_diff,
        "l2_old": stats.l2_old,
        "l2_new": stats.l2_new,
        "l2_diff": stats.l2_diff,
        "rel_l2": stats.rel_l2,
        "nonfinite_changed": stats.nonfinite_changed,
        "numeric": stats.numeric,
    }


def _stats_from_dict(data: Mapping[str, Any]) -> TensorStats:
    return TensorStats(
        elements=data["elements"],
        changed_elements=data["changed_elements"],
        max_abs_diff=data["max_abs_diff"],
        l2_old=data["l2_old"],
        l2_new=data["l2_new"],
        l2_diff=data["l2_diff"],
        rel_l2=data["rel_l2"],
        nonfinite_changed=data["nonfinite_changed"],
        numeric=data["numeric"],
    )


@dataclass(slots=True)
class ModuleSummary:
    """Counts of the tensors under one module (all levels below it), by status.

    ``name`` is a dotted prefix of tensor names ("" is the whole checkpoint); the text
    "encoder.layer.3: 4 of 16 tensors changed" is ``f"{name}: {differing} of {tensors} ..."``.
    """

    name: str
    tensors: int = 0
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def differing(self) -> int:
        return sum(n for status, n in self.counts.items() if status in DIFFERING)

    def count(self, status: str) -> int:
        return self.counts.get(status, 0)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "tensors": self.tensors, "differing": self.differing}
        out.update({status: self.counts.get(status, 0) for status in STATUSES})
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModuleSummary:
        counts = {status: int(data[status]) for status in STATUSES if data.get(status)}
        return cls(name=data["name"], tensors=data["tensors"], counts=counts)


@dataclass(frozen=True)
class TensorDiffResult:
    """What changed between two checkpoints.

    ``tensors`` holds at most the diff's ``max_rows`` rows, by name; when there were more
    (``tensors_total``), rows of differing tensors are kept first. ``modules`` likewise holds at
    most ``max_modules`` summaries, shallow levels first. ``totals`` always covers everything.
    ``complete`` is False when a deadline or cancel stopped the data comparison
    (``interrupted`` says which): rows not reached are ``not_compared``; do not cache those.
    """

    complete: bool
    totals: ModuleSummary
    tensors: list[TensorRow]
    tensors_total: int
    modules: list[ModuleSummary]
    modules_total: int
    bytes_compared: int = 0
    bytes_to_compare: int = 0
    interrupted: str | None = None
    # Tensors in shard headers that the index does not list (ignored, as loaders do).
    old_unlisted: int = 0
    new_unlisted: int = 0
    version: int = SCHEMA_VERSION

    @property
    def tensors_truncated(self) -> bool:
        return len(self.tensors) < self.tensors_total

    @property
    def modules_truncated(self) -> bool:
        return len(self.modules) < self.modules_total

    def row(self, name: str) -> TensorRow | None:
        return next((row for row in self.tensors if row.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "complete": self.complete,
            "interrupted": self.interrupted,
            "totals": self.totals.to_dict(),
            "bytes_compared": self.bytes_compared,
            "bytes_to_compare": self.bytes_to_compare,
            "old_unlisted": self.old_unlisted,
            "new_unlisted": self.new_unlisted,
            "tensors": [row.to_dict() for row in self.tensors],
            "tensors_total": self.tensors_total,
            "tensors_truncated": self.tensors_truncated,
            "modules": [module.to_dict() for module in self.modules],
            "modules_total": self.modules_total,
            "modules_truncated": self.modules_truncated,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TensorDiffResult:
        if data.get("version") != SCHEMA_VERSION:
            raise ValueError(f"tensor diff schema version {data.get('version')!r}, expected {SCHEMA_VERSION}")
        return cls(
            complete=data["complete"],
            interrupted=data["interrupted"],
            totals=ModuleSummary.from_dict(data["totals"]),
            bytes_compared=data["bytes_compared"],
            bytes_to_compare=data["bytes_to_compare"],
            old_unlisted=data["old_unlisted"],
            new_unlisted=data["new_unlisted"],
            tensors=[TensorRow.from_dict(row) for row in data["tensors"]],
            tensors_total=data["tensors_total"],
            modules=[ModuleSummary.from_dict(module) for module in data["modules"]],
            modules_total=data["modules_total"],
        )


def module_of(name: str) -> str:
    """The module a tensor belongs to: its name without the last dotted component."""
    return name.rpartition(".")[0]


def module_levels(name: str) -> list[str]:
    """Every module above a tensor, shallowest first, without the root "": for
    ``encoder.layer.3.attention.self.query.weight`` that is ``encoder``, ``encoder.layer``, ...,
    ``encoder.layer.3.attention.self.query``. Capped at ``MAX_MODULE_DEPTH`` levels, and
    modules longer than ``MAX_NAME_FOR_MODULES`` count only at the root (bounded work).
    """
    module = module_of(name)
    if len(module) > MAX_NAME_FOR_MODULES or not module:
        return []
    parts = module.split(".")[:MAX_MODULE_DEPTH]
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


def summarize(rows: Iterable[TensorRow], *, max_modules: int) -> tuple[ModuleSummary, list[ModuleSummary], int]:
    """(totals, module summaries (at most ``max_modules``, shallow levels first, then sorted by
    name), number of modules before truncation)."""
    # Count per direct module first: one dict update per tensor. Then fold each level into
    # its parent, deepest level first: every distinct module is visited once, whatever the
    # number of tensors, and no prefix string is built twice.
    direct: dict[str, dict[str, int]] = {}
    for row in rows:
        module = row.name.rpartition(".")[0]
        counts = direct.get(module)
        if counts is None:
            counts = direct[module] = {}
        counts[row.status] = counts.get(row.status, 0) + 1
    by_depth: dict[int, dict[str, dict[str, int]]] = {}
    total_counts: dict[str, int] = {}
    for module, counts in direct.items():
        for status, n in counts.items():
            total_counts[status] = total_counts.get(status, 0) + n
        if not module or len(module) > MAX_NAME_FOR_MODULES:
            continue
        depth = module.count(".") + 1
        if depth > MAX_MODULE_DEPTH:
            module = ".".join(module.split(".")[:MAX_MODULE_DEPTH])
            depth = MAX_MODULE_DEPTH
        level = by_depth.setdefault(depth, {})
        merged = level.get(module)
        if merged is None:
            level[module] = dict(counts)
        else:
            for status, n in counts.items():
                merged[status] = merged.get(status, 0) + n
    tallies: dict[str, dict[str, int]] = {}
    for depth in range(max(by_depth, default=0), 0, -1):
        level = by_depth.get(depth, {})
        tallies.update(level)
        if depth == 1:
            break
        parents = by_depth.setdefault(depth - 1, {})
        for module, counts in level.items():
            parent = parents.setdefault(module.rpartition(".")[0], {})
            for status, n in counts.items():
                parent[status] = parent.get(status, 0) + n
    names = sorted(tallies)
    if len(names) > max_modules:
        names = sorted(sorted(names, key=lambda m: m.count("."))[:max_modules])
    modules = [ModuleSummary(m, sum(tallies[m].values()), tallies[m]) for m in names]
    totals = ModuleSummary("", sum(total_counts.values()), total_counts)
    return totals, modules, len(tallies)


def select_rows(rows: list[TensorRow], *, max_rows: int) -> list[TensorRow]:
    """At most ``max_rows`` rows by name, differing tensors kept first when some must go."""
    if len(rows) <= max_rows:
        return sorted(rows, key=lambda row: row.name)
    ranked = sorted(rows, key=lambda row: (row.status not in DIFFERING, row.name))
    return sorted(ranked[:max_rows], key=lambda row: row.name)
