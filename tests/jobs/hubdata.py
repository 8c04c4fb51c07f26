"""Tiny models and datasets (tests/jobs/runners/tiny.py) committed to hub repositories."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.jobs.runners import tiny

LFS_SUFFIXES = (".safetensors", ".parquet")


def directory_files(directory: Path) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """(plain files, LFS files) of `directory`, by repository path."""
    files: dict[str, bytes] = {}
    lfs: dict[str, bytes] = {}
    for path in sorted(directory.rglob("*")):
        if path.is_file():
            rel = path.relative_to(directory).as_posix()
            (lfs if rel.endswith(LFS_SUFFIXES) else files)[rel] = path.read_bytes()
    return files, lfs


def csv_bytes(rows: list[dict[str, Any]], tmp: Path) -> bytes:
    path = tmp / "rows.csv"
    tiny.write_csv(path, rows)
    return path.read_bytes()


def eval_params(dataset_repo_id: str, *, group: str | None = "dialect") -> dict[str, Any]:
    """Runner params of an accuracy + macro F1 evaluation on `dataset_repo_id`'s test split."""
    args = {"input_column": "text", "label_column": "label"}
    if group:
        args["group_column"] = group
    return {
        "eval": {
            "task": {"type": "text-classification"},
            "dataset": {"type": dataset_repo_id, "name": "reviews", "split": "test", "args": args},
            "metrics": [{"type": "accuracy"}, {"type": "f1", "args": {"average": "macro"}}],
        },
        "batch_size": 16,
        "amp": False,
    }
