"""The evaluation runner against independent oracles: scikit-learn on predictions computed
here with plain transformers in fp32, and per-group values from a hand-written pandas groupby."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.metrics import (
    accuracy_score,
    f1_score,
    mean_absolute_error,
    mean_squared_error,
    precision_score,
    r2_score,
    recall_score,
)

from jobs.runners import evaluation
from jobs.runners.base import RunContext, RunnerError
from jobs.runners.evaluation import EvalOptions, evaluate_model
from jobs.runners.model_index import DatasetSpec, EvalSpec, MetricSpec
from tests.jobs.runners import tiny

FP32 = EvalOptions(amp=False, batch_size=8)
CLASS_METRICS = (
    MetricSpec(type="accuracy"),
    MetricSpec(type="f1", average="macro"),
    MetricSpec(type="precision", average="weighted"),
    MetricSpec(type="recall", average="binary", pos_label="pos"),
)


def spec(
    task: str, input_column: str, label_column: str, metrics: tuple[MetricSpec, ...], group: str | None = "dialect"
):
    return EvalSpec(
        task=task,  # type: ignore[arg-type]
        dataset=DatasetSpec(
            repo="alice/data", split="test", input_column=input_column, label_column=label_column, group_column=group
        ),
        metrics=metrics,
    )


def oracle_sequence_outputs(model_dir: Path, texts: list[str], *, regression: bool) -> list:
    """One text at a time (no padding), fp32, straight transformers."""
    from transformers import BertForSequenceClassification

    model = BertForSequenceClassification.from_pretrained(str(model_dir)).eval()
    tok = tiny.fast_tokenizer(model_dir)
    out = []
    with torch.no_grad():
        for t in texts:
            logits = model(**tok([t], return_tensors="pt")).logits[0]
            out.append(float(logits[0]) if regression else int(logits.argmax()))
    return out


def class_metrics(y, p) -> dict[str, float]:
    return {
        "accuracy": accuracy_score(y, p),
        "f1_macro": f1_score(y, p, average="macro", zero_division=0),
        "precision_weighted": precision_score(y, p, average="weighted", zero_division=0),
        "recall_binary": recall_score(y, p, average="binary", pos_label=1, zero_division=0),
    }


def groupby_oracle(frame: pd.DataFrame, metrics) -> tuple[dict, dict]:
    by_group: dict[str, dict[str, float]] = {}
    for group, part in frame.groupby("group"):
        for key, value in metrics(part["y"].tolist(), part["p"].tolist()).items():
            by_group.setdefault(key, {})[str(group)] = value
    gaps = {key: max(v.values()) - min(v.values()) for key, v in by_group.items()}
    return by_group, gaps


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_classification_metrics_and_groups_match_oracles(classifier_dir, tmp_path, fmt):
    rows = tiny.classification_rows(90, seed=7, noise={"north": 0.1, "south": 0.35})
    (tiny.write_csv if fmt == "csv" else tiny.write_jsonl)(tmp_path / f"test.{fmt}", rows)
    result = evaluate_model(
        model_dir=classifier_dir,
        dataset_dir=tmp_path,
        spec=spec("text-classification", "text", "label", CLASS_METRICS),
        options=FP32,
    )
    y = [tiny.CLASS_LABELS.index(r["label"]) for r in rows]
    p = oracle_sequence_outputs(classifier_dir, [r["text"] for r in rows], regression=False)
    expected = class_metrics(y, p)
    assert 0.5 < expected["accuracy"] < 1.0  # the noise makes the numbers non-trivial
    for key, value in expected.items():
        assert result.metrics[key] == pytest.approx(value, abs=1e-12), key
    by_group, gaps = groupby_oracle(
        pd.DataFrame({"y": y, "p": p, "group": [r["dialect"] for r in rows]}), class_metrics
    )
    for key in expected:
        assert result.by_group[key] == pytest.approx(by_group[key], abs=1e-12)
        assert result.metrics[f"{key}_gap"] == pytest.approx(gaps[key], abs=1e-12)
    assert gaps["accuracy"] > 0.05  # south is noisier
    assert result.by_group["count"] == {"north": 60.0, "south": 30.0}
    assert result.info["rows"] == 90 and result.info["group_column"] == "dialect"
    assert all(type(v) is float for v in result.metrics.values())


def test_labels_as_ids_and_numeric_strings(classifier_dir, tmp_path):
    rows = tiny.classification_rows(40, seed=3)
    named = evaluate_model(
        model_dir=classifier_dir,
        dataset_dir=_data(tmp_path / "named", rows),
        spec=spec("text-classification", "text", "label", CLASS_METRICS[:1], None),
        options=FP32,
    )
    as_ids = [{**r, "label": tiny.CLASS_LABELS.index(r["label"])} for r in rows]
    by_id = evaluate_model(
        model_dir=classifier_dir,
        dataset_dir=_data(tmp_path / "ids", as_ids),
        spec=spec("text-classification", "text", "label", CLASS_METRICS[:1], None),
        options=FP32,
    )
    tiny.write_csv(tmp_path / "csv" / "test.csv", as_ids)  # "0"/"1" strings
    by_text_id = evaluate_model(
        model_dir=classifier_dir,
        dataset_dir=tmp_path / "csv",
        spec=spec("text-classification", "text", "label", CLASS_METRICS[:1], None),
        options=FP32,
    )
    assert named.metrics == by_id.metrics == by_text_id.metrics


def test_autocast_evaluation_agrees_with_fp32(classifier_dir, tmp_path):
    rows = tiny.classification_rows(60, seed=11)
    data = _data(tmp_path, rows)
    s = spec("text-classification", "text", "label", CLASS_METRICS[:1], None)
    fp32 = evaluate_model(model_dir=classifier_dir, dataset_dir=data, spec=s, options=FP32)
    bf16 = evaluate_model(model_dir=classifier_dir, dataset_dir=data, spec=s, options=EvalOptions(amp=True))
    assert abs(fp32.metrics["accuracy"] - bf16.metrics["accuracy"]) <= 2 / 60


def test_regression_metrics_and_groups_match_oracles(regressor_dir, tmp_path):
    rows = tiny.regression_rows(60, seed=5)
    metrics = (MetricSpec(type="mse"), MetricSpec(type="rmse"), MetricSpec(type="mae"), MetricSpec(type="r2"))
    result = evaluate_model(
        model_dir=regressor_dir,
        dataset_dir=_data(tmp_path, rows),
        spec=spec("regression", "text", "score", metrics),
        options=FP32,
    )
    y = [r["score"] for r in rows]
    p = oracle_sequence_outputs(regressor_dir, [r["text"] for r in rows], regression=True)

    def reg(y, p):
        return {
            "mse": mean_squared_error(y, p),
            "rmse": float(np.sqrt(mean_squared_error(y, p))),
            "mae": mean_absolute_error(y, p),
            "r2": r2_score(y, p),
        }

    expected = reg(y, p)
    assert expected["r2"] > 0.1  # the tiny model learned something of the count
    for key, value in expected.items():
        assert result.metrics[key] == pytest.approx(value, rel=1e-4, abs=1e-6), key
    by_group, gaps = groupby_oracle(pd.DataFrame({"y": y, "p": p, "group": [r["dialect"] for r in rows]}), reg)
    for key in expected:
        assert result.by_group[key] == pytest.approx(by_group[key], rel=1e-4, abs=1e-6)
        assert result.metrics[f"{key}_gap"] == pytest.approx(gaps[key], rel=1e-3, abs=1e-6)


def test_token_classification_scores_flattened_word_labels(tagger_dir, tmp_path):
    rows = tiny.token_rows(50, seed=9, noise=0.15)
    metrics = (
        MetricSpec(type="accuracy"),
        MetricSpec(type="f1", average="macro"),
        MetricSpec(type="f1", average="micro"),
    )
    result = evaluate_model(
        model_dir=tagger_dir,
        dataset_dir=_data(tmp_path, rows),
        spec=spec("token-classification", "tokens", "tags", metrics),
        options=FP32,
    )
    from transformers import BertForTokenClassification

    model = BertForTokenClassification.from_pretrained(str(tagger_dir)).eval()
    tok = tiny.fast_tokenizer(tagger_dir)
    y, p, g = [], [], []
    with torch.no_grad():
        for r in rows:
            # Word-level vocabulary: word i is token i + 1 (after [CLS]).
            logits = model(**tok([" ".join(r["tokens"])], return_tensors="pt")).logits[0, 1:-1]
            y += [tiny.TOKEN_LABELS.index(t) for t in r["tags"]]
            p += logits.argmax(-1).tolist()
            g += [r["dialect"]] * len(r["tags"])

    def tok_metrics(y, p):
        return {
            "accuracy": accuracy_score(y, p),
            "f1_macro": f1_score(y, p, average="macro", zero_division=0),
            "f1_micro": f1_score(y, p, average="micro", zero_division=0),
        }

    expected = tok_metrics(y, p)
    assert 0.6 < expected["accuracy"] < 1.0
    for key, value in expected.items():
        assert result.metrics[key] == pytest.approx(value, abs=1e-12), key
    by_group, gaps = groupby_oracle(pd.DataFrame({"y": y, "p": p, "group": g}), tok_metrics)
    assert result.by_group["accuracy"] == pytest.approx(by_group["accuracy"], abs=1e-12)
    assert result.metrics["f1_macro_gap"] == pytest.approx(gaps["f1_macro"], abs=1e-12)
    assert result.info["scored_tokens"] == len(y) and result.info["truncated_words"] == 0


def test_runner_entry_reads_params_and_reports_progress(classifier_dir, tmp_path):
    data = _data(tmp_path / "data", tiny.classification_rows(20, seed=1))
    events: list = []
    ctx = RunContext(
        inputs={"model": classifier_dir, "dataset": data},
        params={
            "eval": spec("text-classification", "text", "label", CLASS_METRICS[:2], None).to_params(),
            "batch_size": 8,
        },
        output_dir=tmp_path / "out",
        progress=lambda f, s, m: events.append((f, s)),
    )
    result = evaluation.run(ctx)
    assert set(result.metrics) == {"accuracy", "f1_macro"}
    assert events == [(1 / 3, 1), (2 / 3, 2), (1.0, 3)]


@pytest.mark.parametrize(
    ("params", "message"),
    [({"batch_size": 0}, "batch_size"), ({"amp": "yes"}, "amp"), ({"eval": {"task": "x"}}, "Invalid evaluation")],
)
def test_runner_rejects_bad_params(classifier_dir, tmp_path, params, message):
    eval_params = spec("text-classification", "text", "label", CLASS_METRICS[:1], None).to_params()
    ctx = RunContext(
        inputs={"model": classifier_dir, "dataset": tmp_path},
        params={"eval": eval_params, **params},
        output_dir=tmp_path,
    )
    with pytest.raises(RunnerError, match=message):
        evaluation.run(ctx)


def test_unknown_labels_are_clear_errors(classifier_dir, tmp_path):
    rows = tiny.classification_rows(5, seed=1)
    rows[3]["label"] = "maybe"
    with pytest.raises(RunnerError, match=r"Row 3: label 'maybe' is not one of the model's labels \(neg, pos\)"):
        evaluate_model(
            model_dir=classifier_dir,
            dataset_dir=_data(tmp_path, rows),
            spec=spec("text-classification", "text", "label", CLASS_METRICS[:1], None),
        )


def test_a_checkpoint_without_the_task_head_is_refused(tmp_path):
    from transformers import BertModel

    model_dir = tmp_path / "encoder"
    tiny.write_tokenizer(model_dir)
    BertModel(tiny.bert_config(task="text-classification")).save_pretrained(str(model_dir))
    with pytest.raises(RunnerError, match="lacks trained weights for text-classification.*classifier"):
        evaluate_model(
            model_dir=model_dir,
            dataset_dir=_data(tmp_path / "d", tiny.classification_rows(5, seed=1)),
            spec=spec("text-classification", "text", "label", CLASS_METRICS[:1], None),
        )


def test_a_classifier_is_not_a_regressor(classifier_dir, tmp_path):
    with pytest.raises(RunnerError, match="one output"):
        evaluate_model(
            model_dir=classifier_dir,
            dataset_dir=_data(tmp_path, tiny.regression_rows(5, seed=1)),
            spec=spec("regression", "text", "score", (MetricSpec(type="mse"),), None),
        )


def test_cancellation_between_batches(classifier_dir, tmp_path):
    from jobs.runners.base import RunCancelled

    calls = []

    def check():
        calls.append(1)
        if len(calls) > 2:
            raise RunCancelled()

    with pytest.raises(RunCancelled):
        evaluate_model(
            model_dir=classifier_dir,
            dataset_dir=_data(tmp_path, tiny.classification_rows(64, seed=1)),
            spec=spec("text-classification", "text", "label", CLASS_METRICS[:1], None),
            options=EvalOptions(batch_size=8),
            check=check,
        )
    assert len(calls) == 3


def _data(directory: Path, rows: list[dict]) -> Path:
    if directory.exists():
        shutil.rmtree(directory)
    tiny.write_jsonl(directory / "test.jsonl", rows)
    return directory


def test_json_written_by_tiny_helpers_is_plain(tmp_path):
    # Guard for the helpers above: JSONL rows keep token lists as lists.
    tiny.write_jsonl(tmp_path / "x.jsonl", tiny.token_rows(1, seed=0))
    assert isinstance(json.loads((tmp_path / "x.jsonl").read_text())["tokens"], list)
