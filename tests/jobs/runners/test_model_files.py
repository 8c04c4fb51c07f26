"""Hostile model snapshots: nothing in them runs, and each refusal says why (SECURITY.md a3,
T49-T51). A canary file that only the payload would create must never appear."""

from __future__ import annotations

import json
import os
import pickle
import shutil
from pathlib import Path

import pytest
import torch

from jobs.runners.base import ResourceLimitError, RunnerError, UnsafeModelError
from jobs.runners.evaluation import evaluate_model
from jobs.runners.model_files import ModelLimits, read_config, weight_files
from jobs.runners.model_index import DatasetSpec, EvalSpec, MetricSpec
from tests.jobs.runners import tiny

SPEC = EvalSpec(
    task="text-classification",
    dataset=DatasetSpec(repo="a/b", split="test", input_column="text", label_column="label"),
    metrics=(MetricSpec(type="accuracy"),),
)


class Payload:
    """Unpickling this runs ``os.system(touch canary)``."""

    def __init__(self, canary: Path) -> None:
        self.canary = canary

    def __reduce__(self):
        return (os.system, (f"touch {self.canary}",))


@pytest.fixture
def canary(tmp_path: Path):
    path = tmp_path / "canary"
    yield path
    assert not path.exists(), "a payload from the snapshot was executed"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    tiny.write_jsonl(tmp_path / "data" / "test.jsonl", tiny.classification_rows(8, seed=0))
    return tmp_path / "data"


@pytest.fixture
def model_dir(classifier_dir: Path, tmp_path: Path) -> Path:
    """A fresh, writable copy of the trained tiny classifier."""
    return Path(shutil.copytree(classifier_dir, tmp_path / "model"))


def evaluate(model_dir: Path, data_dir: Path, **limits):
    from jobs.runners.evaluation import EvalOptions

    return evaluate_model(
        model_dir=model_dir, dataset_dir=data_dir, spec=SPEC, options=EvalOptions(model=ModelLimits(**limits))
    )


def edit_json(path: Path, **changes) -> None:
    data = json.loads(path.read_text()) if path.exists() else {}
    data.update(changes)
    path.write_text(json.dumps(data))


def test_the_unmodified_copy_evaluates(model_dir, data_dir):
    assert 0 <= evaluate(model_dir, data_dir).metrics["accuracy"] <= 1


def test_pickle_only_weights_are_refused_without_unpickling(model_dir, data_dir, canary):
    (model_dir / "model.safetensors").unlink()
    torch.save({"weights": Payload(canary)}, model_dir / "pytorch_model.bin")
    with pytest.raises(UnsafeModelError, match=r"only pickle-based weights \(pytorch_model.bin\).*never loaded"):
        evaluate(model_dir, data_dir)


def test_pickle_next_to_safetensors_is_ignored(model_dir, data_dir, canary):
    (model_dir / "pytorch_model.bin").write_bytes(pickle.dumps(Payload(canary)))
    assert weight_files(model_dir) == ["model.safetensors"]
    evaluate(model_dir, data_dir)


def test_a_pickle_named_safetensors_fails_to_parse(model_dir, data_dir, canary):
    (model_dir / "model.safetensors").write_bytes(pickle.dumps(Payload(canary)))
    with pytest.raises(RunnerError, match="could not be loaded"):
        evaluate(model_dir, data_dir)


def test_config_naming_its_own_weights_file_is_refused(model_dir, data_dir, canary):
    (model_dir / "pytorch_model.bin").write_bytes(pickle.dumps(Payload(canary)))
    edit_json(model_dir / "config.json", transformers_weights="pytorch_model.bin")
    with pytest.raises(UnsafeModelError, match="transformers_weights"):
        evaluate(model_dir, data_dir)


def remote_code(model_dir: Path, module: str, canary: Path) -> None:
    (model_dir / f"{module}.py").write_text(f"import pathlib\npathlib.Path({str(canary)!r}).touch()\n")


def test_auto_map_remote_code_is_refused(model_dir, data_dir, canary):
    remote_code(model_dir, "modeling_evil", canary)
    edit_json(
        model_dir / "config.json",
        auto_map={"AutoModelForSequenceClassification": "modeling_evil.Evil", "AutoConfig": "modeling_evil.Cfg"},
        trust_remote_code=True,
    )
    with pytest.raises(UnsafeModelError, match=r"custom code \(auto_map\); remote code is never run"):
        evaluate(model_dir, data_dir)


def test_unknown_model_type_is_refused(model_dir, data_dir, canary):
    remote_code(model_dir, "configuration_evil", canary)
    edit_json(model_dir / "config.json", model_type="evil")
    with pytest.raises(UnsafeModelError, match="model_type 'evil', which transformers does not ship"):
        evaluate(model_dir, data_dir)


def test_custom_tokenizer_class_is_refused(model_dir, data_dir, canary):
    remote_code(model_dir, "tokenization_evil", canary)
    edit_json(model_dir / "tokenizer_config.json", tokenizer_class="EvilTokenizer")
    with pytest.raises(UnsafeModelError, match="custom tokenizer class 'EvilTokenizer'"):
        evaluate(model_dir, data_dir)
    edit_json(
        model_dir / "tokenizer_config.json", auto_map={"AutoTokenizer": ["tokenization_evil.EvilTokenizer", None]}
    )
    with pytest.raises(UnsafeModelError, match="tokenizer_config.json asks for custom code"):
        evaluate(model_dir, data_dir)


def test_standard_tokenizer_class_names_are_accepted(model_dir, data_dir):
    edit_json(model_dir / "tokenizer_config.json", tokenizer_class="BertTokenizerFast")
    evaluate(model_dir, data_dir)
    edit_json(model_dir / "tokenizer_config.json", tokenizer_class="BertTokenizer")
    evaluate(model_dir, data_dir)


SSTI = "{{ cycler.__init__.__globals__.os.popen('touch CANARY').read() }}"


def test_chat_template_in_tokenizer_config_is_refused_unrendered(model_dir, data_dir, canary):
    edit_json(model_dir / "tokenizer_config.json", chat_template=SSTI.replace("CANARY", str(canary)))
    with pytest.raises(UnsafeModelError, match="carries a chat template.*never renders"):
        evaluate(model_dir, data_dir)


@pytest.mark.parametrize("name", ["chat_template.jinja", "chat_template.json", "additional_chat_templates"])
def test_chat_template_files_are_refused_unrendered(model_dir, data_dir, canary, name):
    if name == "additional_chat_templates":
        (model_dir / name).mkdir()
        (model_dir / name / "tool_use.jinja").write_text(SSTI.replace("CANARY", str(canary)))
    else:
        (model_dir / name).write_text(SSTI.replace("CANARY", str(canary)))
    with pytest.raises(UnsafeModelError, match=f"chat template \\({name}\\)"):
        evaluate(model_dir, data_dir)


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        ({"quantization_config": {"quant_method": "bitsandbytes"}}, UnsafeModelError, "quantized"),
        ({"attn_implementation": "kernels-community/flash-attn"}, UnsafeModelError, "only eager and sdpa"),
        ({"custom_pipelines": {"x": {}}}, UnsafeModelError, "custom pipeline"),
        ({"vocab_size": 10**12}, ResourceLimitError, "vocab_size=1000000000000"),
        ({"num_hidden_layers": 10**6}, ResourceLimitError, "num_hidden_layers=1000000"),
        ({"max_position_embeddings": 10**12}, ResourceLimitError, "max_position_embeddings"),
        ({"id2label": {str(i): str(i) for i in range(20_000)}}, RunnerError, "too large id2label"),
    ],
)
def test_config_refusals(model_dir, data_dir, changes, error, message):
    edit_json(model_dir / "config.json", **changes)
    with pytest.raises(error, match=message):
        evaluate(model_dir, data_dir)


def test_parameter_count_is_checked_on_the_meta_device_before_loading(model_dir, data_dir):
    # 4096 x 4096 layers would be ~1 GB in fp32: refused without allocating anything.
    edit_json(model_dir / "config.json", hidden_size=4096, intermediate_size=4096, num_attention_heads=16)
    with pytest.raises(ResourceLimitError, match=r"parameters \(limit 1000000\)"):
        evaluate(model_dir, data_dir, max_parameters=1_000_000)


@pytest.mark.parametrize(
    ("shard", "message"),
    [
        ("../outside.safetensors", "not a safetensors shard"),
        ("evil.bin", "not a safetensors shard"),
        ("gone.safetensors", "missing shard"),
    ],
)
def test_sharded_index_names_only_local_safetensors(model_dir, data_dir, shard, message):
    (model_dir / "model.safetensors").rename(model_dir / "model-00001-of-00001.safetensors")
    (model_dir / "model.safetensors.index.json").write_text(json.dumps({"weight_map": {"a": shard}}))
    with pytest.raises(RunnerError, match=message):
        evaluate(model_dir, data_dir)


def test_sharded_checkpoint_loads(model_dir, data_dir):
    from safetensors import safe_open

    (model_dir / "model.safetensors").rename(model_dir / "model-00001-of-00001.safetensors")
    with safe_open(str(model_dir / "model-00001-of-00001.safetensors"), "pt") as f:
        weight_map = {k: "model-00001-of-00001.safetensors" for k in f.keys()}
    (model_dir / "model.safetensors.index.json").write_text(json.dumps({"metadata": {}, "weight_map": weight_map}))
    evaluate(model_dir, data_dir)


@pytest.mark.parametrize("name", ["config.json", "tokenizer.json", "model.safetensors"])
def test_symlinked_files_are_refused(model_dir, data_dir, tmp_path, name):
    target = tmp_path / f"elsewhere-{name}"
    (model_dir / name).rename(target)
    os.symlink(target, model_dir / name)
    with pytest.raises(UnsafeModelError, match="not a regular file"):
        evaluate(model_dir, data_dir)


def test_oversized_and_malformed_json(model_dir, data_dir):
    with pytest.raises(ResourceLimitError, match="tokenizer.json is larger than 100 bytes"):
        evaluate(model_dir, data_dir, max_tokenizer_bytes=100)
    (model_dir / "config.json").write_text("[" * 200_000 + "]" * 200_000)
    with pytest.raises(RunnerError, match="nests too deeply"):
        read_config(model_dir)
    (model_dir / "config.json").write_text("{not json")
    with pytest.raises(RunnerError, match="not valid JSON"):
        read_config(model_dir)
    (model_dir / "config.json").unlink()
    with pytest.raises(RunnerError, match="has no config.json"):
        read_config(model_dir)


def test_missing_tokenizer_json(model_dir, data_dir):
    (model_dir / "tokenizer.json").unlink()
    with pytest.raises(RunnerError, match="no tokenizer.json"):
        evaluate(model_dir, data_dir)


def test_the_payloads_used_above_are_live(tmp_path):
    """Control: the same payloads do run when loaded the unsafe way, so the tests above prove
    that our loader never does."""
    canary = tmp_path / "live-canary"
    pickle.loads(pickle.dumps(Payload(canary)))
    assert canary.exists()
