"""The dataset viewer's reading (repos/tabular/preview.py): first rows, types, row counts,
bounded on hostile input."""
from __future__ import annotations

import io
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from repos.tabular.preview import (
    MAX_CELL_CHARS,
    MAX_LINE_BYTES,
    MAX_ROWS,
    Preview,
    PreviewError,
    preview,
    preview_format,
)


def test_csv_rows_types_and_count() -> None:
    data = "\ufeffid,score,label,flag,empty\n" + "".join(
        f'{i},{i / 2},"text, with comma {i}",{"true" if i % 2 else "false"},\n' for i in range(250))
    data += '250,1e3,"two\nlines",true,\n'
    p = preview(io.BytesIO(data.encode()), "csv")
    assert [c.name for c in p.columns] == ["id", "score", "label", "flag", "empty"]
    assert [c.type for c in p.columns] == ["int64", "float64", "string", "bool", "string"]
    assert p.row_count == 251  # the quoted newline is one record
    assert len(p.rows) == MAX_ROWS and p.rows[3] == ["3", "1.5", "text, with comma 3", "true", ""]
    # without counting (a cheap look): the row count is unknown
    assert preview(io.BytesIO(data.encode()), "csv", count_rows=False).row_count is None


def test_tsv_and_ragged_rows() -> None:
    p = preview(io.BytesIO(b"a\tb\n1\n2\t3\t4\n"), "tsv")
    assert p.rows == [["1", ""], ["2", "3"]] and p.row_count == 2


def test_jsonl_columns_in_order_of_appearance() -> None:
    lines = [{"text": "hi", "n": 1}, {"n": 2.5, "tags": ["a", "b"], "meta": {"k": 1}}, {"text": None}]
    data = "\n".join(json.dumps(x) for x in lines) + "\n\n"
    p = preview(io.BytesIO(data.encode()), "jsonl")
    assert [(c.name, c.type) for c in p.columns] == [("text", "string"), ("n", "float64"), ("tags", "list"),
                                                      ("meta", "struct")]
    assert p.rows[1] == ["", "2.5", '["a", "b"]', '{"k": 1}'] and p.row_count == 3
    with pytest.raises(PreviewError, match="line 2 is not JSON"):
        preview(io.BytesIO(b'{"a": 1}\n{oops\n'), "jsonl")


def test_parquet_count_from_footer_rows_from_first_batch() -> None:
    table = pa.table({"x": list(range(1000)), "s": [f"row {i}" for i in range(1000)],
                      "v": [[i, i + 1] for i in range(1000)]})
    buf = io.BytesIO()
    pq.write_table(table, buf, row_group_size=300)
    buf.seek(0)
    p = preview(buf, "parquet")
    assert p.row_count == 1000
    assert [(c.name, c.type) for c in p.columns] == [("x", "int64"), ("s", "string"), ("v", "list<element: int64>")]
    assert len(p.rows) == MAX_ROWS and p.rows[7] == ["7", "row 7", "[7, 8]"]
    assert Preview.from_dict(json.loads(json.dumps(p.to_dict()))) == p  # survives the cache


@pytest.mark.parametrize("data", [b"", b"PAR1", b"PAR1" + b"\0" * 20 + b"\xff\xff\xff\x7fPAR1", b"not parquet at all"])
def test_broken_parquet_is_a_clear_error(data: bytes) -> None:
    with pytest.raises(PreviewError):
        preview(io.BytesIO(data), "parquet")


def test_long_cells_are_cut_and_long_lines_refused() -> None:
    p = preview(io.BytesIO(b"a\n" + b"x" * 5000 + b"\n"), "csv")
    assert len(p.rows[0][0]) == MAX_CELL_CHARS and p.rows[0][0].endswith("…")
    # one endless quoted field: refused at the line bound instead of growing without end
    endless = b'a\n"' + b"y" * (MAX_LINE_BYTES + 10)
    with pytest.raises(PreviewError, match="longer than"):
        preview(io.BytesIO(endless), "csv")


def test_formats_by_name() -> None:
    assert [preview_format(n) for n in ("a.CSV", "b.tsv", "c.jsonl", "d.ndjson", "e.parquet", "f.json")] == \
        ["csv", "tsv", "jsonl", "jsonl", "parquet", None]
