"""Personal-data reports on a Faker dataset with planted values, in CSV, JSONL and Parquet."""

from __future__ import annotations

import io
import itertools

from safety.entities import CARD, EMAIL, IBAN, IP, PERSON, PHONE, EntityDetector
from safety.scanners.personal_data import PersonalDataLimits, PersonalDataReport, scan_dataset
from safety.tabular.formats import dataset_format
from tests.safety.pii_dataset import PLAIN_COLUMNS, make_dataset

DATA = make_dataset()
N = len(DATA.rows)


def _scan(data: bytes, fmt: str, detector: EntityDetector, **limits: object) -> PersonalDataReport:
    return scan_dataset(io.BytesIO(data), format=fmt, detector=detector,  # type: ignore[arg-type]
                        limits=PersonalDataLimits(**limits))  # type: ignore[arg-type]


def test_csv_report_per_column(detector: EntityDetector) -> None:
    report = _scan(DATA.csv_bytes(), "csv", detector)
    assert report.complete and report.rows_scanned == N and not report.problems
    expected = {"email": EMAIL, "phone": PHONE, "ip": IP, "card": CARD, "iban": IBAN}
    for column, entity in expected.items():
        findings = report.column(column)
        assert findings is not None
        assert findings.values_scanned == N
        assert findings.counts == {entity: N}, (column, findings.counts)  # every planted value, nothing else
        assert len(findings.examples[entity]) == 3
    notes, comment = report.column("notes"), report.column("comment")
    assert notes is not None and comment is not None
    assert notes.counts == {PHONE: len(range(0, N, 3)), EMAIL: len(range(0, N, 3))}
    assert comment.counts == {IP: len(range(1, N, 4)), CARD: len(range(1, N, 4))}
    for column in PLAIN_COLUMNS:
        found = report.column(column)
        assert found is not None, column
        assert found.counts == {}, (column, found.counts)


def test_reports_are_masked(detector: EntityDetector) -> None:
    report = _scan(DATA.csv_bytes(), "csv", detector)
    text = repr(report.as_dict())
    for values in DATA.planted.values():
        for value in values:
            assert value not in text
    card_examples = report.column("card").examples[CARD]  # type: ignore[union-attr]
    assert all(example.count("*") >= 8 for example in card_examples)


def test_person_names_are_reported_as_unsupported(detector: EntityDetector) -> None:
    report = _scan(DATA.csv_bytes(), "csv", detector)
    assert PERSON in report.unsupported
    assert report.column("name").hints == (PERSON,)  # type: ignore[union-attr]
    assert report.as_dict()["unsupported"][PERSON].startswith("not recognised offline")


def test_jsonl_report_uses_key_paths(detector: EntityDetector) -> None:
    report = _scan(DATA.jsonl_bytes(), "jsonl", detector)
    assert report.complete and report.rows_scanned == N
    assert report.column("contact.email").counts == {EMAIL: N}  # type: ignore[union-attr]
    assert report.column("card").counts == {CARD: N}  # type: ignore[union-attr]  # strings and JSON numbers
    assert report.column("iban").counts == {IBAN: N}  # type: ignore[union-attr]
    phones = report.column("contact.phones[]")
    assert phones is not None and phones.counts == {PHONE: N}  # "phones" hints at phone numbers
    assert report.column("city").counts == {}  # type: ignore[union-attr]


def test_parquet_report(detector: EntityDetector) -> None:
    report = _scan(DATA.parquet_bytes(), "parquet", detector)
    assert report.complete and report.rows_scanned == N, report.stopped_by
    assert report.column("card_number").counts == {CARD: N}  # type: ignore[union-attr]  # int64 column
    assert report.column("email").counts == {EMAIL: N}  # type: ignore[union-attr]
    assert report.column("id").counts == {}  # type: ignore[union-attr]


def test_bounds(detector: EntityDetector) -> None:
    rows = _scan(DATA.csv_bytes(), "csv", detector, max_rows=10)
    assert rows.stopped_by == "max_rows" and rows.rows_scanned == 10 and not rows.complete
    data = DATA.csv_bytes()
    assert _scan(data, "csv", detector, max_bytes=len(data) // 3).stopped_by == "max_bytes"
    ticks = itertools.count()
    slow = scan_dataset(io.BytesIO(data), format="csv", detector=detector,
                        limits=PersonalDataLimits(max_seconds=5), clock=lambda: next(ticks))
    assert slow.stopped_by == "max_seconds"


def test_hostile_inputs_become_results(detector: EntityDetector) -> None:
    unbalanced = b'a,b\n1,"never closed' + b"x" * 5000 + b"\n"
    assert _scan(unbalanced, "csv", detector, max_record_chars=1000).stopped_by.startswith("error")  # type: ignore[union-attr]
    deep = (b"[" * 100_000 + b"]" * 100_000 + b"\n") + b'{"ok": "bob@example.com"}\n'
    report = _scan(deep, "jsonl", detector)
    assert report.complete and report.problems and report.column("ok").counts == {EMAIL: 1}  # type: ignore[union-attr]
    broken = b'{"email": "carol@example.com", oops\n'
    report = _scan(broken, "jsonl", detector)
    assert report.column("$raw").counts == {EMAIL: 1}  # type: ignore[union-attr]  # still scanned, as text
    assert _scan(b"PAR1garbagePAR1", "parquet", detector).stopped_by.startswith("error")  # type: ignore[union-attr]
    assert _scan(b"not parquet at all", "parquet", detector).stopped_by.startswith("error")  # type: ignore[union-attr]


def test_format_detection() -> None:
    assert dataset_format("x.bin", b"PAR1....") == "parquet"
    assert dataset_format("data/train.JSONL") == "jsonl"
    assert dataset_format("t.tsv") == "tsv" and dataset_format("t.csv") == "csv"
    assert dataset_format("README.md") is None
