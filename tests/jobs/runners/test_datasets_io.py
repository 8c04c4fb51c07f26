"""Reading a split from a dataset snapshot: formats, card configs, conventions, limits."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from jobs.runners.base import ResourceLimitError
from jobs.runners.datasets_io import DataLimits, DatasetError, load_split, split_files

ROWS = [
    {"text": "good film", "label": "pos", "dialect": "north", "extra": 1},
    {"text": 'bad, "awful"\nplot', "label": "neg", "dialect": "south", "extra": 2},
    {"text": "ok", "label": "pos", "dialect": "north", "extra": 3},
]
COLUMNS = ["text", "label", "dialect"]
EXPECTED = {c: [r[c] for r in ROWS] for c in COLUMNS}


def write(path: Path, rows: list[dict], fmt: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        import csv

        with path.open("w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
    elif fmt == "tsv":
        import csv

        with path.open("w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]), delimiter="\t")
            w.writeheader()
            w.writerows(rows)
    elif fmt == "jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    elif fmt == "json":
        path.write_text(json.dumps(rows))
    elif fmt == "parquet":
        pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=2)


@pytest.mark.parametrize("fmt", ["csv", "tsv", "jsonl", "json", "parquet"])
def test_each_format_gives_the_same_columns(tmp_path, fmt):
    write(tmp_path / f"test.{fmt}", ROWS, fmt)
    data = load_split(dataset_dir=tmp_path, split="test", columns=COLUMNS)
    assert data.columns == EXPECTED
    assert data.rows == 3 and data.files == (f"test.{fmt}",)


def test_json_lines_in_a_dot_json_file(tmp_path):
    write(tmp_path / "test.json", ROWS, "jsonl")
    assert load_split(dataset_dir=tmp_path, split="test", columns=COLUMNS).columns == EXPECTED


def test_hub_conventions_sharded_parquet_under_data(tmp_path):
    write(tmp_path / "data" / "test-00001-of-00002.parquet", ROWS[2:], "parquet")
    write(tmp_path / "data" / "test-00000-of-00002.parquet", ROWS[:2], "parquet")
    write(tmp_path / "data" / "train-00000-of-00001.parquet", ROWS[:1], "parquet")
    data = load_split(dataset_dir=tmp_path, split="test", columns=COLUMNS)
    assert data.files == ("data/test-00000-of-00002.parquet", "data/test-00001-of-00002.parquet")
    assert data.columns == EXPECTED


CARD = """---
configs:
- config_name: default
  data_files:
  - split: train
    path: "raw/train_*.csv"
  - split: holdout
    path: ["raw/holdout_a.jsonl", "./raw/holdout_b.jsonl"]
- config_name: small
  data_dir: small
  data_files: "all.csv"
---
# Reviews
"""


def test_card_configs_map_splits_to_files(tmp_path):
    (tmp_path / "README.md").write_text(CARD)
    write(tmp_path / "raw" / "holdout_a.jsonl", ROWS[:1], "jsonl")
    write(tmp_path / "raw" / "holdout_b.jsonl", ROWS[1:], "jsonl")
    write(tmp_path / "raw" / "train_1.csv", ROWS, "csv")
    write(tmp_path / "raw" / "train_2.csv", ROWS, "csv")
    write(tmp_path / "raw" / "nested" / "train_3.csv", ROWS, "csv")  # "*" stays within one directory
    write(tmp_path / "small" / "all.csv", ROWS[:2], "csv")
    assert load_split(dataset_dir=tmp_path, split="holdout", columns=COLUMNS).columns == EXPECTED
    assert split_files(dataset_dir=tmp_path, split="train") == ["raw/train_1.csv", "raw/train_2.csv"]
    small = load_split(dataset_dir=tmp_path, split="train", columns=["text"], config="small")
    assert small.columns == {"text": EXPECTED["text"][:2]}
    with pytest.raises(DatasetError, match="no config 'large'"):
        split_files(dataset_dir=tmp_path, split="train", config="large")
    with pytest.raises(DatasetError, match="no split 'test'.*holdout, train"):
        split_files(dataset_dir=tmp_path, split="test")


@pytest.mark.parametrize(
    ("configs", "message"),
    [
        ("- config_name: a\n  data_files: a.csv\n- config_name: b\n  data_files: b.csv", "several configs"),
        ("- config_name: default\n  data_files:\n  - split: test\n    path: ../outside.csv", "inside the dataset"),
        ("- config_name: default\n  data_files:\n  - split: test\n    path: /etc/passwd", "inside the dataset"),
        ("- config_name: default\n  data_dir: ../x", "data_dir"),
        ("- config_name: default\n  data_files:\n  - split: test\n    path: notes.txt", "not a supported data file"),
        ("- config_name: default\n  data_files: {test: {nested: 1}}", "string or a list"),
    ],
)
def test_bad_card_configs_are_clear_errors(tmp_path, configs, message):
    (tmp_path / "README.md").write_text(f"---\nconfigs:\n{configs}\n---\n")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(DatasetError, match=message):
        split_files(dataset_dir=tmp_path, split="test")


def test_missing_split_and_columns(tmp_path):
    write(tmp_path / "train.csv", ROWS, "csv")
    with pytest.raises(DatasetError, match="no files for split 'test'"):
        load_split(dataset_dir=tmp_path, split="test", columns=COLUMNS)
    with pytest.raises(DatasetError, match="no column 'score'.*'text'"):
        load_split(dataset_dir=tmp_path, split="train", columns=["text", "score"])
    with pytest.raises(DatasetError, match="Invalid split"):
        load_split(dataset_dir=tmp_path, split="../train", columns=COLUMNS)


def test_symlinks_are_never_followed(tmp_path):
    secret = tmp_path / "secret.csv"
    write(secret, [{"text": "s3cret", "label": "x", "dialect": "y"}], "csv")
    ds = tmp_path / "ds"
    ds.mkdir()
    os.symlink(secret, ds / "test.csv")
    os.symlink(tmp_path, ds / "data")
    with pytest.raises(DatasetError, match="no files for split"):
        load_split(dataset_dir=ds, split="test", columns=COLUMNS)


def test_row_limit(tmp_path):
    write(tmp_path / "test.jsonl", ROWS, "jsonl")
    with pytest.raises(ResourceLimitError, match="more than 2 rows"):
        load_split(dataset_dir=tmp_path, split="test", columns=COLUMNS, limits=DataLimits(max_rows=2))


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "json", "parquet"])
def test_byte_limit_stops_reading(tmp_path, fmt):
    rows = [{"text": "x" * 1000, "label": "pos", "dialect": "n"} for _ in range(200)]
    write(tmp_path / f"test.{fmt}", rows, fmt)
    with pytest.raises(ResourceLimitError, match="larger than the limit of 50000 bytes"):
        load_split(dataset_dir=tmp_path, split="test", columns=COLUMNS, limits=DataLimits(max_bytes=50_000))


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_one_huge_row_is_refused_without_reading_it_whole(tmp_path, fmt):
    huge = "x" * 3_000_000
    if fmt == "jsonl":
        (tmp_path / "test.jsonl").write_text(json.dumps({"text": huge, "label": "pos", "dialect": "n"}) + "\n")
    else:
        (tmp_path / "test.csv").write_text(f"text,label,dialect\n{huge},pos,n\n")
    with pytest.raises(ResourceLimitError, match="longer than 100000 bytes"):
        load_split(dataset_dir=tmp_path, split="test", columns=["text"], limits=DataLimits(max_cell_bytes=100_000))


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("test.jsonl", "[" * 100_000 + "]" * 100_000 + "\n", "nests too deeply"),
        ("test.jsonl", '{"text": "a", "label"\n', "not valid JSON"),
        ("test.jsonl", '["not", "an", "object"]\n', "not a JSON object"),
        ("test.json", '[{"text": 1}, 5]', "no column|not a JSON object"),
        ("test.csv", "text,label,dialect\na,b\n", "has 2 fields"),
        ("test.csv", b"text,label,dialect\n\xff\xfe,b,c\n", "not valid UTF-8"),
        ("test.parquet", b"PAR1 this is not parquet PAR1", "not a readable Parquet"),
        ("test.csv", "text\n", "no rows"),
    ],
)
def test_malformed_files_are_clear_errors(tmp_path, name, content, message):
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    columns = ["text"] if "no rows" in message else COLUMNS
    with pytest.raises(DatasetError, match=message):
        load_split(dataset_dir=tmp_path, split="test", columns=columns)


def test_walk_is_bounded(tmp_path):
    for i in range(30):
        (tmp_path / f"f{i}.txt").write_text("")
    with pytest.raises(ResourceLimitError, match="more than 20 files"):
        split_files(dataset_dir=tmp_path, split="test", limits=DataLimits(max_walk_entries=20))
