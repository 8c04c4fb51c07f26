"""Fine-tuning on CPU with bf16 autocast: it learns, it is reproducible, its output is a plain
safetensors model with a card, and every step goes through one device-parametrised function."""

from __future__ import annotations

import inspect
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from jobs.runners import finetune as finetune_module
from jobs.runners.base import RunCancelled, RunContext, RunnerError, UnsafeModelError, amp_policy
from jobs.runners.evaluation import EvalOptions, evaluate_model
from jobs.runners.finetune import finetune, make_grad_scaler, train_step
from jobs.runners.model_index import parse_fine_tune, parse_model_index
from repos.cards import split_front_matter
from tests.jobs.runners import tiny


@pytest.fixture(scope="module")
def sentiment_data(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("sentiment")
    tiny.write_jsonl(path / "train.jsonl", tiny.classification_rows(256, seed=21))
    tiny.write_jsonl(path / "test.jsonl", tiny.classification_rows(100, seed=22))
    return path


@pytest.fixture(scope="module")
def random_classifier(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("random-classifier")
    tiny.make_model_dir(path, task="text-classification", seed=1)
    return path


@pytest.fixture(scope="module")
def pretrained_encoder_with_new_head(regressor_dir, tmp_path_factory) -> Path:
    """The realistic LoRA case: an encoder that learned something related (the regression
    task) under an untrained classification head. The head is zero rather than random: a
    random head on features this clean is right or wrong on everything by luck."""
    from transformers import BertForSequenceClassification

    path = tmp_path_factory.mktemp("pretrained")
    tiny.write_tokenizer(path)
    torch.manual_seed(2)
    model = BertForSequenceClassification(tiny.bert_config(task="text-classification"))
    encoder = BertForSequenceClassification.from_pretrained(str(regressor_dir)).bert.state_dict()
    model.bert.load_state_dict(encoder)
    with torch.no_grad():
        model.classifier.weight.zero_()
        model.classifier.bias.zero_()
    model.save_pretrained(str(path))
    return path


def spec_for(method: str, *, lr: float, epochs: int = 2, task: str = "text-classification", label: str = "label"):
    spec = parse_fine_tune(
        {
            "fine_tune": {
                "method": method,
                "task": task,
                "dataset": "alice/sentiment",
                "eval_split": "test",
                "args": {"input_column": "text", "label_column": label},
                "hyperparameters": {
                    "learning_rate": lr,
                    "epochs": epochs,
                    "batch_size": 16,
                    "lora_r": 4,
                    "lora_alpha": 8,
                },
            }
        }
    )
    assert spec is not None
    return spec


def run_twice(base: Path, data: Path, tmp_path: Path, spec, seed: int = 3):
    results = []
    for name in ("a", "b"):
        out = tmp_path / name
        out.mkdir()
        results.append(
            finetune(model_dir=base, dataset_dir=data, output_dir=out, spec=spec, base_model="alice/tiny", seed=seed)
        )
    return results


def assert_identical_outputs(tmp_path: Path) -> None:
    a, b = load_file(str(tmp_path / "a" / "model.safetensors")), load_file(str(tmp_path / "b" / "model.safetensors"))
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)


def accuracy_of(model_dir: Path, data: Path, spec) -> float:
    return evaluate_model(model_dir=model_dir, dataset_dir=data, spec=spec.eval_spec()).metrics["accuracy"]


def test_full_fine_tuning_learns_and_is_reproducible(random_classifier, sentiment_data, tmp_path):
    spec = spec_for("full", lr=1e-2)
    before = accuracy_of(random_classifier, sentiment_data, spec)
    first, second = run_twice(random_classifier, sentiment_data, tmp_path, spec)
    assert first.metrics["accuracy"] >= max(0.9, before + 0.25), (before, first.metrics)
    assert first.metrics == second.metrics and first.info["losses"] == second.info["losses"]
    assert_identical_outputs(tmp_path)
    training = first.info["training"]
    assert training["precision"] == "bfloat16 autocast" and training["grad_scaler"] is False
    assert training["steps"] == 2 * 16 and training["trainable_parameters"] == training["total_parameters"]
    assert set(first.files) == {
        "README.md",
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
    }


def test_lora_learns_is_reproducible_and_merges_into_a_plain_model(
    pretrained_encoder_with_new_head, sentiment_data, tmp_path
):
    spec = spec_for("lora", lr=1e-2)
    before = accuracy_of(pretrained_encoder_with_new_head, sentiment_data, spec)
    first, second = run_twice(pretrained_encoder_with_new_head, sentiment_data, tmp_path, spec)
    assert first.metrics["accuracy"] >= max(0.85, before + 0.2), (before, first.metrics)
    assert first.metrics == second.metrics
    assert_identical_outputs(tmp_path)
    training = first.info["training"]
    assert training["trainable_parameters"] < training["total_parameters"] / 2
    weights = load_file(str(tmp_path / "a" / "model.safetensors"))
    base = load_file(str(pretrained_encoder_with_new_head / "model.safetensors"))
    assert weights.keys() == base.keys()  # merged: no lora_A/lora_B, no peft prefixes
    changed = [k for k in base if not torch.equal(base[k], weights[k])]
    # Only what LoRA touches (query/value, merged) and the head moved; the rest is frozen.
    assert changed and all(("query" in k or "value" in k or "classifier" in k) for k in changed), changed


def test_regression_fine_tuning_lowers_the_error(tmp_path):
    base = tmp_path / "base"
    tiny.make_model_dir(base, task="regression", seed=1)
    data = tmp_path / "data"
    tiny.write_jsonl(data / "train.jsonl", tiny.regression_rows(256, seed=31))
    tiny.write_jsonl(data / "test.jsonl", tiny.regression_rows(80, seed=32))
    spec = spec_for("full", lr=5e-3, epochs=3, task="regression", label="score")
    before = evaluate_model(model_dir=base, dataset_dir=data, spec=spec.eval_spec()).metrics["mse"]
    out = tmp_path / "out"
    out.mkdir()
    result = finetune(model_dir=base, dataset_dir=data, output_dir=out, spec=spec, base_model="alice/r")
    assert result.metrics["mse"] < 0.8 * before, (before, result.metrics)
    assert set(result.metrics) >= {"mse", "mae", "r2", "train_loss"}


def test_the_card_names_the_base_model_and_the_measured_metrics(random_classifier, sentiment_data, tmp_path):
    spec = spec_for("full", lr=1e-2, epochs=1)
    result = finetune(
        model_dir=random_classifier, dataset_dir=sentiment_data, output_dir=tmp_path, spec=spec, base_model="alice/tiny"
    )
    metadata, body, error = split_front_matter((tmp_path / "README.md").read_text())
    assert error is None and metadata is not None
    assert metadata["base_model"] == "alice/tiny" and metadata["datasets"] == ["alice/sentiment"]
    [card_spec] = parse_model_index(metadata)  # the card is valid input for the evaluation runner
    assert card_spec.dataset.split == "test" and card_spec.dataset.repo == "alice/sentiment"
    assert {m.key: m.claimed for m in card_spec.metrics} == {
        "accuracy": pytest.approx(result.metrics["accuracy"], abs=1e-6),
        "f1_macro": pytest.approx(result.metrics["f1_macro"], abs=1e-6),
    }
    assert "| learning_rate | 0.01 |" in body and "| method | full |" in body


def test_runner_entry_cancellation_and_progress(random_classifier, sentiment_data, tmp_path):
    spec = spec_for("full", lr=1e-2)
    steps: list[tuple[int, float]] = []

    def cancelled() -> bool:
        return len(steps) >= 3

    ctx = RunContext(
        inputs={"model": random_classifier, "dataset": sentiment_data},
        params={"fine_tune": spec.to_params(), "base_model": "alice/tiny"},
        output_dir=tmp_path,
        progress=lambda fraction, step, metrics: steps.append((step, metrics["loss"])),
        is_cancelled=cancelled,
    )
    with pytest.raises(RunCancelled):
        finetune_module.run(ctx)
    assert [s for s, _ in steps] == [1, 2, 3]
    assert not (tmp_path / "model.safetensors").exists()


def test_runner_refuses_bad_params_and_unsafe_bases(random_classifier, sentiment_data, tmp_path):
    spec = spec_for("full", lr=1e-2)
    ctx = RunContext(
        inputs={"model": random_classifier, "dataset": sentiment_data},
        params={"fine_tune": spec.to_params()},
        output_dir=tmp_path,
    )
    with pytest.raises(RunnerError, match="base_model"):
        finetune_module.run(ctx)
    unsafe = Path(shutil.copytree(random_classifier, tmp_path / "unsafe"))
    (unsafe / "model.safetensors").unlink()
    (unsafe / "pytorch_model.bin").write_bytes(b"\x80\x04K\x01.")
    with pytest.raises(UnsafeModelError, match="pickle"):
        finetune(model_dir=unsafe, dataset_dir=sentiment_data, output_dir=tmp_path / "o", spec=spec, base_model="a/b")


def test_one_label_is_not_a_classification_task(random_classifier, tmp_path):
    data = tmp_path / "data"
    rows = [{**r, "label": "pos"} for r in tiny.classification_rows(20, seed=1)]
    tiny.write_jsonl(data / "train.jsonl", rows)
    with pytest.raises(RunnerError, match="at least two distinct labels"):
        finetune(
            model_dir=random_classifier,
            dataset_dir=data,
            output_dir=tmp_path / "o",
            spec=spec_for("full", lr=1e-3),
            base_model="a/b",
        )


# ---------------------------------------------------------------------------------------------
# The one training step


def tiny_batch() -> tuple[torch.nn.Module, dict[str, torch.Tensor]]:
    torch.manual_seed(0)
    model = tiny.model_class("text-classification")(tiny.bert_config(task="text-classification"))
    batch = {
        "input_ids": torch.tensor([[2, 4, 3, 0], [2, 6, 7, 3]]),
        "attention_mask": torch.tensor([[1, 1, 1, 0], [1, 1, 1, 1]]),
        "labels": torch.tensor([1, 0]),
    }
    return model, batch


def classifier_output_dtype(model: torch.nn.Module, step) -> torch.dtype:
    seen: list[torch.dtype] = []
    handle = model.classifier.register_forward_hook(lambda m, i, o: seen.append(o.dtype))
    try:
        step()
    finally:
        handle.remove()
    return seen[0]


@pytest.mark.parametrize(("amp", "expected"), [(True, torch.bfloat16), (False, torch.float32)])
def test_train_step_takes_the_device_and_picks_precision_from_it(amp, expected):
    assert "device" in inspect.signature(train_step).parameters
    cpu = amp_policy("cpu")
    assert (cpu.dtype, cpu.use_grad_scaler) == ("bfloat16", False)
    model, batch = tiny_batch()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    scaler = make_grad_scaler("cpu", amp=amp)
    assert not scaler.is_enabled()
    before = model.classifier.weight.detach().clone()
    losses: list[float] = []

    def step():
        losses.append(
            train_step(
                model=model, batch=batch, optimizer=optimizer, scaler=scaler, device="cpu", amp=amp, max_grad_norm=1.0
            )
        )

    assert classifier_output_dtype(model, step) == expected
    assert isinstance(losses[0], float) and losses[0] > 0
    assert model.classifier.weight.dtype == torch.float32  # master weights stay fp32
    assert not torch.equal(before, model.classifier.weight)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU: checks CUDA autocast and the GradScaler")
def test_train_step_on_cuda_uses_bf16_or_fp16_with_a_scaler():
    policy = amp_policy("cuda")
    bf16 = torch.cuda.is_bf16_supported()
    assert policy.dtype == ("bfloat16" if bf16 else "float16") and policy.use_grad_scaler is (not bf16)
    model, batch = tiny_batch()
    model.to("cuda")
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    scaler = make_grad_scaler("cuda")
    assert scaler.is_enabled() is policy.use_grad_scaler

    def step():
        train_step(model=model, batch=batch, optimizer=optimizer, scaler=scaler, device="cuda", max_grad_norm=1.0)

    assert classifier_output_dtype(model, step) == (torch.bfloat16 if bf16 else torch.float16)
    assert model.classifier.weight.dtype == torch.float32


def test_evaluation_options_reject_nothing_the_runner_uses():
    # Finetune evaluates with EvalOptions built from its own options: keep them in sync.
    assert {"batch_size", "amp", "data"} <= set(inspect.signature(EvalOptions).parameters)
