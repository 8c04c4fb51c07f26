"""Tensors of a checkpoint grouped by module prefix, as the Hub's safetensors viewer shows them.

`model.layers.0.self_attn.q_proj.weight` sits under `model` > `layers` > `0` > `self_attn` >
`q_proj`; every group carries the totals of everything below it, so the numbers on a page add
up (a group's parameters are the sum of its tensors', the root's are the file's). A chain of
groups with a single child is shown as one (`model.embed_tokens`), like the Hub.

Pure and bounded: building the tree is linear in the number of tensors (the header reader
already caps that), and `rows` stops emitting tensors after `max_tensors` while still closing
every group it opened and opening no new one, so a page of a 100k-tensor header stays a few
thousand rows.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from repos.weights.safetensors_header import TensorInfo

_DIGITS_RE = re.compile(r"(\d+)")


def natural_key(text: str) -> tuple[tuple[int, int | str], ...]:
    """`layers.2` before `layers.10`."""
    return tuple((0, int(part)) if part.isdigit() else (1, part) for part in _DIGITS_RE.split(text) if part)


@dataclass
class TensorGroup:
    label: str  # the name segment(s) this group adds to its parent's prefix
    prefix: str  # the full module prefix ("model.layers.0")
    parameters: int = 0
    nbytes: int = 0
    tensor_count: int = 0
    dtypes: dict[str, int] = field(default_factory=dict)  # parameters per dtype below
    groups: dict[str, TensorGroup] = field(default_factory=dict)
    tensors: dict[str, tuple[str, TensorInfo]] = field(default_factory=dict)  # segment -> (full name, info)

    def _add(self, info: TensorInfo) -> None:
        n = info.num_elements
        self.parameters += n
        self.nbytes += info.nbytes
        self.tensor_count += 1
        self.dtypes[info.dtype] = self.dtypes.get(info.dtype, 0) + n


def build_tree(tensors: Mapping[str, TensorInfo]) -> TensorGroup:
    """The module tree of `tensors` (names split on dots); the root's totals are the file's."""
    root = TensorGroup(label="", prefix="")
    for name, info in tensors.items():
        parts = name.split(".")
        node = root
        node._add(info)
        for i, part in enumerate(parts[:-1]):
            child = node.groups.get(part)
            if child is None:
                child = node.groups[part] = TensorGroup(label=part, prefix=".".join(parts[: i + 1]))
            node = child
            node._add(info)
        leaf = parts[-1]
        if leaf in node.tensors or leaf in node.groups:
            # `a.b` is both a tensor and a module prefix (or a name repeats a segment): keep
            # the tensor under its whole name so nothing is dropped.
            leaf = name
        node.tensors[leaf] = (name, info)
    _merge_chains(root)
    return root


def _merge_chains(node: TensorGroup) -> None:
    for key in list(node.groups):
        child = node.groups[key]
        while len(child.groups) == 1 and not child.tensors:
            (only,) = child.groups.values()
            only.label = f"{child.label}.{only.label}"
            child = only
        node.groups[key] = child
        _merge_chains(child)


@dataclass(frozen=True)
class TreeRow:
    """One line of the flattened tree: `open` starts a group (closed by a matching `close`),
    `tensor` is a leaf."""

    kind: Literal["open", "close", "tensor"]
    depth: int = 0
    label: str = ""
    name: str = ""  # full tensor name or group prefix
    parameters: int = 0
    nbytes: int = 0
    tensor_count: int = 0
    dtype: str = ""  # the tensor's dtype, or the group's when all its tensors share one
    shape: tuple[int, ...] = ()
    expanded: bool = False


@dataclass
class FlatTree:
    rows: list[TreeRow]
    tensors_shown: int
    tensors_total: int


def rows(root: TensorGroup, *, max_tensors: int, expand_below: int = 64) -> FlatTree:
    """The tree as rows for a template that nests `<details>` without recursion. Groups open
    when the whole file has at most `expand_below` tensors. Listing stops after `max_tensors`
    tensors (groups already open are closed; their totals always count everything)."""
    out: list[TreeRow] = []
    shown = 0
    expanded = root.tensor_count <= expand_below

    def walk(node: TensorGroup, depth: int) -> None:
        nonlocal shown
        items: list[tuple[tuple[tuple[int, int | str], ...], str, TensorGroup | tuple[str, TensorInfo]]] = [
            (natural_key(k), k, g) for k, g in node.groups.items()]
        items += [(natural_key(k), k, t) for k, t in node.tensors.items()]
        items.sort(key=lambda item: item[0])
        for _key, segment, item in items:
            if shown >= max_tensors:
                return  # the rest of the tree is summed in the totals, not listed
            if isinstance(item, TensorGroup):
                dtype = next(iter(item.dtypes)) if len(item.dtypes) == 1 else ""
                out.append(TreeRow(kind="open", depth=depth, label=item.label, name=item.prefix,
                                   parameters=item.parameters, nbytes=item.nbytes, tensor_count=item.tensor_count,
                                   dtype=dtype, expanded=expanded))
                walk(item, depth + 1)
                out.append(TreeRow(kind="close", depth=depth))
            else:
                name, info = item
                shown += 1
                out.append(TreeRow(kind="tensor", depth=depth, label=segment, name=name,
                                   parameters=info.num_elements, nbytes=info.nbytes, tensor_count=1,
                                   dtype=info.dtype, shape=info.shape))

    walk(root, 0)
    return FlatTree(rows=out, tensors_shown=shown, tensors_total=root.tensor_count)
