"""Reading evaluation and fine-tuning requests from card metadata (the HF model-index format)."""

from __future__ import annotations

import pytest
import yaml

from jobs.runners.model_index import (
    DatasetSpec,
    EvalSpec,
    FineTuneSpec,
    Hyperparameters,
    MetricSpec,
    ModelIndexError,
    parse_fine_tune,
    parse_model_index,
    read_model_index,
)

EXAMPLE = """
model-index:
- name: my-model
  results:
  - task: {type: text-classification}
    dataset:
      type: alice/reviews
      name: reviews
      split: test
      args: {input_column: text, label_column: label, group_column: dialect}
    metrics:
    - {type: accuracy, value: 0.91}
    - {type: f1, args: {average: macro}}
"""


def test_the_documented_example_parses_to_one_spec():
    [spec] = parse_model_index(yaml.safe_load(EXAMPLE))
    assert spec == EvalSpec(
        task="text-classification",
        dataset=DatasetSpec(
            repo="alice/reviews",
            split="test",
            input_column="text",
            label_column="label",
            group_column="dialect",
            name="reviews",
        ),
        metrics=(MetricSpec(type="accuracy", claimed=0.91), MetricSpec(type="f1", average="macro")),
        model_name="my-model",
    )
    assert [m.key for m in spec.metrics] == ["accuracy", "f1_macro"]


def test_params_round_trip_through_json_in_the_card_format():
    [spec] = parse_model_index(yaml.safe_load(EXAMPLE))
    params = spec.to_params()
    assert params["dataset"]["type"] == "alice/reviews" and params["task"] == {"type": "text-classification"}
    assert EvalSpec.from_params(yaml.safe_load(yaml.safe_dump(params))) == spec


def test_token_classification_and_regression_tasks_and_metric_aliases():
    meta = {
        "model-index": [
            {
                "name": "m",
                "results": [
                    {
                        "task": {"type": "ner"},
                        "dataset": {
                            "type": "a/conll",
                            "split": "validation",
                            "config": "en",
                            "args": {"input_column": "tokens", "label_column": "tags"},
                        },
                        "metrics": [{"type": "f1", "args": {"average": "micro"}}, {"type": "precision"}],
                    },
                    {
                        "task": {"type": "text-regression"},
                        "dataset": {
                            "type": "a/stsb",
                            "split": "test",
                            "args": {"input_column": "sentence", "label_column": "score"},
                        },
                        "metrics": [{"type": "mean_squared_error"}, {"type": "mae"}, {"type": "r2"}, {"type": "rmse"}],
                    },
                ],
            }
        ]
    }
    ner, reg = parse_model_index(meta)
    assert ner.task == "token-classification" and ner.dataset.config == "en"
    assert [m.key for m in ner.metrics] == ["f1_micro", "precision_macro"]
    assert reg.task == "regression" and [m.key for m in reg.metrics] == ["mse", "mae", "r2", "rmse"]


@pytest.mark.parametrize(
    ("result", "where", "why"),
    [
        ({"task": {"type": "text-generation"}}, "results[0].task", "unsupported task"),
        ({"dataset": {"type": "no-namespace"}}, "results[0].dataset.type", "namespace/name"),
        ({"dataset": {"type": "../etc"}}, "results[0].dataset.type", "namespace/name"),
        ({"dataset": {"split": "../../x"}}, "results[0].dataset.split", "split name"),
        ({"dataset": {"args": {"input_column": "text"}}}, "results[0].dataset.args.label_column", "required"),
        ({"dataset": {"args": {"input_column": "t", "label_column": "l", "extra": 1}}}, "dataset.args", "unknown"),
        ({"metrics": [{"type": "bleu"}]}, "results[0].metrics[0].type", "unsupported metric"),
        ({"metrics": [{"type": "mse"}]}, "results[0].metrics[0].type", "unsupported metric"),
        ({"metrics": [{"type": "f1", "args": {"average": "samples"}}]}, "metrics[0].args.average", "one of"),
        ({"metrics": [{"type": "f1", "args": {"average": "macro", "pos_label": 1}}]}, "pos_label", "binary"),
        ({"metrics": [{"type": "accuracy", "args": {"normalize": False}}]}, "metrics[0].args", "unknown arguments"),
        ({"metrics": [{"type": "accuracy"}, {"type": "accuracy"}]}, "results[0].metrics", "twice"),
        ({"metrics": []}, "results[0].metrics", "non-empty"),
        ({"dataset": ["not", "a", "mapping"]}, "results[0].dataset", "mapping"),
    ],
)
def test_invalid_results_are_reported_with_their_location(result, where, why):
    base = yaml.safe_load(EXAMPLE)["model-index"][0]["results"][0]
    for key, value in result.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key] = {**base[key], **value}
        else:
            base[key] = value
    with pytest.raises(ModelIndexError) as info:
        parse_model_index({"model-index": [{"name": "m", "results": [base]}]})
    assert any(where in loc and why in reason for loc, reason in info.value.problems), info.value.problems
    assert where in str(info.value)


def test_lenient_reading_keeps_the_usable_results():
    meta = yaml.safe_load(EXAMPLE)
    meta["model-index"][0]["results"].append({"task": {"type": "summarization"}, "dataset": {}, "metrics": []})
    index = read_model_index(meta)
    assert len(index.specs) == 1
    assert index.problems and all(loc.startswith("model-index[0].results[1]") for loc, _ in index.problems)


@pytest.mark.parametrize("hostile", [None, {}, {"model-index": None}])
def test_cards_without_an_index_have_no_specs(hostile):
    assert parse_model_index(hostile) == []


@pytest.mark.parametrize(
    "hostile",
    [
        {"model-index": "text"},
        {"model-index": [1, 2, 3]},
        {"model-index": [{"results": "x"}]},
        {"model-index": [{"name": ["x"], "results": [{"task": 5, "dataset": 5, "metrics": 5}]}]},
        {"model-index": [{"name": "m", "results": [None] * 10_000}]},
    ],
)
def test_hostile_shapes_give_errors_not_crashes(hostile):
    with pytest.raises(ModelIndexError):
        parse_model_index(hostile)


FINE_TUNE = """
fine_tune:
  method: lora
  dataset: alice/reviews
  split: train
  eval_split: test
  args: {input_column: text, label_column: label}
  hyperparameters: {learning_rate: 2e-5, epochs: 2, batch_size: 8, lora_r: 4, lora_target_modules: [query, value]}
"""


def test_fine_tune_block():
    spec = parse_fine_tune(yaml.safe_load(FINE_TUNE))
    assert spec is not None
    assert spec.method == "lora" and spec.task == "text-classification"
    assert spec.dataset.repo == "alice/reviews" and spec.dataset.split == "train" and spec.eval_split == "test"
    # PyYAML reads 2e-5 as a string; it is still a learning rate.
    assert spec.hyperparameters == Hyperparameters(
        learning_rate=2e-5, epochs=2, batch_size=8, lora_r=4, lora_target_modules=("query", "value")
    )
    assert [m.key for m in spec.metrics] == ["accuracy", "f1_macro"]
    eval_spec = spec.eval_spec()
    assert eval_spec is not None and eval_spec.dataset.split == "test"
    assert FineTuneSpec.from_params(yaml.safe_load(yaml.safe_dump(spec.to_params()))) == spec


def test_fine_tune_is_opt_in_and_defaults():
    assert parse_fine_tune({"model-index": []}) is None
    spec = parse_fine_tune(
        {"fine_tune": {"dataset": "a/b", "task": "regression", "args": {"input_column": "x", "label_column": "y"}}}
    )
    assert spec is not None and spec.method == "full" and spec.dataset.split == "train" and spec.eval_split is None
    assert [m.key for m in spec.metrics] == ["mse", "mae", "r2"]


@pytest.mark.parametrize(
    ("block", "where"),
    [
        ({"method": "qlora"}, "fine_tune.method"),
        ({"task": "token-classification"}, "fine_tune.task"),
        ({"hyperparameters": {"epochs": 10**9}}, "fine_tune.hyperparameters.epochs"),
        ({"hyperparameters": {"batch_size": 2.5}}, "fine_tune.hyperparameters.batch_size"),
        ({"hyperparameters": {"learning_rate": "fast"}}, "fine_tune.hyperparameters.learning_rate"),
        ({"hyperparameters": {"learning_rate": float("nan")}}, "fine_tune.hyperparameters.learning_rate"),
        ({"hyperparameters": {"optimizer": "sgd"}}, "fine_tune.hyperparameters.optimizer"),
        (
            {"hyperparameters": {"lora_target_modules": ["x; rm -rf /"]}},
            "fine_tune.hyperparameters.lora_target_modules",
        ),
        ({"eval_split": "../test"}, "fine_tune.eval_split"),
        ({"push_to": "elsewhere"}, "fine_tune"),
        ({"dataset": None}, "fine_tune.dataset"),
    ],
)
def test_invalid_fine_tune_blocks(block, where):
    raw = {"dataset": "a/b", "args": {"input_column": "x", "label_column": "y"}, **block}
    with pytest.raises(ModelIndexError) as info:
        parse_fine_tune({"fine_tune": raw})
    assert any(loc.startswith(where) for loc, _ in info.value.problems), info.value.problems
