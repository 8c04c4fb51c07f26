"""The raw-preserving CSV reader against `csv.reader` (values) and the source (bytes)."""

from __future__ import annotations

import csv
import io
from typing import Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safety.tabular.csv_records import CsvTooLarge, read_records, render_field, split_fields

_cells = st.text(alphabet=st.sampled_from(list('ab,"\n\r é;\t')), max_size=8)


def _ours(data: str, delimiter: str = ",") -> list[list[str]]:
    return [[f.value for f in r.fields] for r in read_records(io.BytesIO(data.encode()), delimiter=delimiter)]


def _raw(data: str, delimiter: str = ",") -> str:
    return "".join(r.text(delimiter) for r in read_records(io.BytesIO(data.encode()), delimiter=delimiter))


@settings(max_examples=300, deadline=None)
@given(rows=st.lists(st.lists(_cells, min_size=1, max_size=5), min_size=1, max_size=6),
       quoting=st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC]),
       terminator=st.sampled_from(["\r\n", "\n"]), delimiter=st.sampled_from([",", ";", "\t"]))
def test_written_csv_reads_back_like_csv_reader(rows: list[list[str]], quoting: Literal[0, 1, 2, 3], terminator: str,
                                                  delimiter: str) -> None:
    out = io.StringIO(newline="")
    csv.writer(out, quoting=quoting, lineterminator=terminator, delimiter=delimiter).writerows(rows)
    data = out.getvalue()
    assert _ours(data, delimiter) == list(csv.reader(io.StringIO(data, newline=""), delimiter=delimiter))
    assert _raw(data, delimiter) == data


@settings(max_examples=500, deadline=None)
@given(data=st.text(alphabet=st.sampled_from(list('ab,"\n\r')), max_size=40))
def test_arbitrary_text_round_trips_exactly(data: str) -> None:
    """Whatever the text (stray quotes, bare CRs), re-joining the raw fields gives it back."""
    assert _raw(data) == data


def test_values_match_csv_on_odd_quoting() -> None:
    for data in ('a,"b"c,d\n', 'x,ab"c"d\n', '"",""""\n', '"a\r\nb",c\r\n', 'lone\rcr\n', '"open\nstill'):
        assert _ours(data) == list(csv.reader(io.StringIO(data, newline=""))), data


def test_invalid_utf8_round_trips() -> None:
    data = b"a,\xff\xfe,\xc3\x28\n"
    records = list(read_records(io.BytesIO(data)))
    assert "".join(r.text() for r in records).encode("utf-8", "surrogateescape") == data


def test_unbalanced_quote_is_bounded() -> None:
    with pytest.raises(CsvTooLarge):
        list(read_records(io.BytesIO(b'a,"b' + b"\nmore" * 1000), max_record_chars=100))


def test_render_field() -> None:
    assert render_field("plain", was_quoted=False) == "plain"
    assert render_field("plain", was_quoted=True) == '"plain"'
    assert render_field('a,"b"', was_quoted=False) == '"a,""b"""'
    assert [f.value for f in split_fields(render_field('a,"b"\n', was_quoted=False))] == ['a,"b"\n']


def test_caller_file_stays_open() -> None:
    f = io.BytesIO(b"a,b\n1,2\n")
    list(read_records(f))
    assert not f.closed
