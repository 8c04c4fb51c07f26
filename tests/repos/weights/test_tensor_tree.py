"""Tensors grouped by module prefix (repos/weights/tensor_tree.py): consistent sums, bounded rows."""
from __future__ import annotations

import math

from repos.weights.safetensors_header import TensorInfo
from repos.weights.tensor_tree import build_tree, natural_key, rows


def tensors(spec: dict[str, tuple[str, tuple[int, ...]]]) -> dict[str, TensorInfo]:
    out, offset = {}, 0
    for name, (dtype, shape) in spec.items():
        n = math.prod(shape) * (2 if dtype in {"F16", "BF16"} else 4)
        out[name] = TensorInfo(dtype, shape, (offset, offset + n))
        offset += n
    return out


LLAMA = tensors({
    "model.embed_tokens.weight": ("BF16", (100, 8)),
    **{f"model.layers.{i}.self_attn.q_proj.weight": ("BF16", (8, 8)) for i in range(11)},
    **{f"model.layers.{i}.input_layernorm.weight": ("F32", (8,)) for i in range(11)},
    "model.norm.weight": ("F32", (8,)),
    "lm_head.weight": ("BF16", (100, 8)),
})


def test_groups_sum_to_the_file_totals() -> None:
    root = build_tree(LLAMA)
    assert root.tensor_count == len(LLAMA)
    assert root.parameters == sum(t.num_elements for t in LLAMA.values()) == 800 + 11 * 64 + 11 * 8 + 8 + 800
    assert root.dtypes == {"BF16": 800 + 11 * 64 + 800, "F32": 11 * 8 + 8}
    model = root.groups["model"]
    layers = model.groups["layers"]
    assert layers.tensor_count == 22 and layers.parameters == 11 * 72
    assert sum(g.parameters for g in layers.groups.values()) == layers.parameters
    assert sum(g.parameters for g in root.groups.values()) + sum(
        t.num_elements for _, t in root.tensors.values()) == root.parameters


def test_single_child_chains_are_merged_and_order_is_natural() -> None:
    root = build_tree(LLAMA)
    model = root.groups["model"]
    # "model.embed_tokens" has one tensor only: a group of its own named by the whole chain
    assert model.groups["embed_tokens"].label == "embed_tokens"
    assert model.groups["layers"].groups["0"].groups["self_attn"].label == "self_attn.q_proj"
    flat = rows(root, max_tensors=1000)
    layer_labels = [r.label for r in flat.rows if r.kind == "open" and r.depth == 2]
    assert layer_labels == [str(i) for i in range(11)]  # 2 before 10
    assert natural_key("layers.2") < natural_key("layers.10")
    # rows are balanced: every open has its close
    depth = 0
    for r in flat.rows:
        depth += {"open": 1, "close": -1, "tensor": 0}[r.kind]
        assert depth >= 0
    assert depth == 0
    assert flat.tensors_shown == flat.tensors_total == len(LLAMA)
    # a group with one dtype shows it, a mixed one does not
    opens = {r.name: r for r in flat.rows if r.kind == "open"}
    assert opens["model.layers.0.self_attn.q_proj"].dtype == "BF16" and opens["model.layers"].dtype == ""


def test_a_name_that_is_both_tensor_and_prefix_is_kept() -> None:
    root = build_tree(tensors({"a.b": ("F32", (2,)), "a.b.c": ("F32", (3,))}))
    flat = rows(root, max_tensors=10)
    assert sorted(r.name for r in flat.rows if r.kind == "tensor") == ["a.b", "a.b.c"]
    assert root.parameters == 5


def test_rows_are_bounded_for_huge_headers() -> None:
    big = tensors({f"blocks.{i}.w{j}": ("F16", (2, 2)) for i in range(2000) for j in range(5)})
    root = build_tree(big)
    flat = rows(root, max_tensors=500)
    assert flat.tensors_shown == 500 and flat.tensors_total == 10_000
    assert len(flat.rows) < 500 + 2 * 110  # tensors plus the groups holding them
    assert root.parameters == 40_000  # totals still count everything
    assert not any(r.expanded for r in flat.rows)  # big files start collapsed
