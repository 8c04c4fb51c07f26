"""Tiny trained models and datasets shared by the runner tests (built once per session)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.jobs.runners import tiny


@pytest.fixture(scope="session")
def classifier_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("classifier")
    tiny.make_model_dir(path, task="text-classification", train_rows=tiny.classification_rows(400, seed=1))
    return path


@pytest.fixture(scope="session")
def regressor_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("regressor")
    tiny.make_model_dir(path, task="regression", train_rows=tiny.regression_rows(400, seed=1))
    return path


@pytest.fixture(scope="session")
def tagger_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tagger")
    tiny.make_model_dir(path, task="token-classification", train_rows=tiny.token_rows(400, seed=1))
    return path
