"""De-identified copies: every planted value is gone, and nothing else changed.

The oracle for "nothing else changed" is independent of the detector: the expected output
is the input with each *planted* value replaced by its token, compared byte for byte (CSV,
JSONL) or value for value (Parquet, whose pages are re-encoded).
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import re

import pytest

from safety.entities import EntityDetector
from safety.redaction import RedactionFailed, RedactionLimits, RedactionResult, redact_file
from tests.safety.pii_dataset import PLAIN_COLUMNS, csv_rows, make_dataset

DATA = make_dataset()
SECRET = b"per-repo secret, 32 bytes long.."
TOKENS = {"EMAIL_ADDRESS": "<EMAIL_ADDRESS>", "PHONE_NUMBER": "<PHONE_NUMBER>", "IP_ADDRESS": "<IP_ADDRESS>",
          "CREDIT_CARD": "<CREDIT_CARD>", "IBAN_CODE": "<IBAN_CODE>"}


def redact(data: bytes, fmt: str, detector: EntityDetector, mode: str = "mask", secret: bytes | None = None,
           **limits: object) -> tuple[bytes, RedactionResult]:
    out = io.BytesIO()
    result = redact_file(io.BytesIO(data), out, format=fmt, mode=mode, detector=detector,  # type: ignore[arg-type]
                         secret=secret, limits=RedactionLimits(**limits))  # type: ignore[arg-type]
    return out.getvalue(), result


def planted_pairs() -> list[tuple[str, str]]:
    """(value, token), longest values first so no value is replaced inside another."""
    pairs = {(value, TOKENS[entity]) for entity, values in DATA.planted.items() for value in values}
    return sorted(pairs, key=lambda pair: -len(pair[0]))


def expected_text(text: str) -> str:
    for value, token in planted_pairs():
        text = text.replace(value, token)
    return text


def test_csv_mask_changes_only_the_planted_values(detector: EntityDetector) -> None:
    source = DATA.csv_bytes()
    output, result = redact(source, "csv", detector)
    assert output == expected_text(source.decode()).encode()  # byte for byte, quoting and CRLF included
    assert result.rows == len(DATA.rows) and result.rows_changed == len(DATA.rows)
    assert set(result.columns_changed) == {"email", "phone", "ip", "card", "iban", "notes", "comment"}
    for values in DATA.planted.values():
        for value in values:
            assert value.encode() not in output
    before, after = csv_rows(source), csv_rows(output)
    for row_before, row_after in zip(before, after, strict=True):
        for column in PLAIN_COLUMNS:
            assert row_before[column] == row_after[column]
        assert row_after["email"] == "<EMAIL_ADDRESS>"


def test_csv_untouched_fields_keep_their_spelling(detector: EntityDetector) -> None:
    source = (
        'id,"quoted header",contact,notes\n'
        '1,"plain but quoted","bob@example.com","he said ""hi"", twice"\r\n'
        '2,unquoted,"x, bob@example.com, y",\xc3\xa9t\xe9 bytes\n'  # invalid UTF-8 stays as it was
        '3,"multi\nline",none,last'
    ).encode("latin-1")
    output, _ = redact(source, "csv", detector)
    assert output == source.replace(b"bob@example.com", b"<EMAIL_ADDRESS>")


def _pseudonym(entity: str, normalized: str) -> str:
    return hmac.new(SECRET, f"{entity}\x1f{normalized}".encode(), hashlib.sha256).hexdigest()[:16]


def test_csv_pseudonyms_are_keyed_and_consistent(detector: EntityDetector) -> None:
    output, _ = redact(DATA.csv_bytes(), "csv", detector, mode="pseudonym", secret=SECRET)
    rows = csv_rows(output)
    repeated = DATA.rows[3]["email"]
    assert DATA.rows[7]["email"] == repeated
    expected = f"user-{_pseudonym('EMAIL_ADDRESS', repeated.lower())}@pseudonym.invalid"
    assert rows[3]["email"] == rows[7]["email"] == expected
    assert len({row["email"] for row in rows}) == len({row["email"] for row in DATA.rows})
    digits = re.sub(r"[^0-9+]", "", DATA.rows[0]["phone"])
    assert rows[0]["phone"] == f"<PHONE_NUMBER:{_pseudonym('PHONE_NUMBER', digits)}>"
    for values in DATA.planted.values():
        for value in values:
            assert value.encode() not in output
    other, _ = redact(DATA.csv_bytes(), "csv", detector, mode="pseudonym", secret=b"another repository secret!")
    assert csv_rows(other)[3]["email"] != expected  # unlinkable across repositories


def test_pseudonyms_need_a_real_secret(detector: EntityDetector) -> None:
    with pytest.raises(ValueError):
        redact(b"a\nb\n", "csv", detector, mode="pseudonym", secret=None)
    with pytest.raises(ValueError):
        redact(b"a\nb\n", "csv", detector, mode="pseudonym", secret=b"short")


def test_jsonl_lines_change_only_where_needed(detector: EntityDetector) -> None:
    extra_plain = b'{"note":  "nothing to see",  "n": 1.5e3, "ok": [true, null]}\r\n'
    broken = b'{"email": "dave@example.com", oops\n'
    source = DATA.jsonl_bytes() + extra_plain + broken
    output, result = redact(source, "jsonl", detector)
    lines_in, lines_out = source.splitlines(keepends=True), output.splitlines(keepends=True)
    assert len(lines_in) == len(lines_out)
    assert lines_out[-2] == extra_plain  # byte for byte
    assert lines_out[-1] == b'{"email": "<EMAIL_ADDRESS>", oops\n' and result.unparseable_lines == 1
    for index, (before, after) in enumerate(zip(lines_in[:-2], lines_out[:-2], strict=True)):
        row = DATA.rows[index]
        text = before.decode()
        if index % 3 == 0:  # the card was written as a JSON number: it becomes a string
            text = text.replace(f":{row['card']}", ':"<CREDIT_CARD>"').replace(f": {row['card']}", ': "<CREDIT_CARD>"')
        assert after.decode() == expected_text(text), index
        json.loads(after)
    for values in DATA.planted.values():
        for value in values:
            assert value.encode() not in output


def test_parquet_values_change_only_where_needed(detector: EntityDetector) -> None:
    import pyarrow.parquet as pq

    output, result = redact(DATA.parquet_bytes(), "parquet", detector)
    before = pq.read_table(io.BytesIO(DATA.parquet_bytes()))
    after = pq.read_table(io.BytesIO(output))
    assert after.schema == before.schema and after.num_rows == before.num_rows
    for column in (*PLAIN_COLUMNS,):
        assert after.column(column).equals(before.column(column)), column
    for column in ("email", "phone", "ip", "card", "iban", "notes", "comment"):
        assert after.column(column).to_pylist() == [expected_text(v) for v in before.column(column).to_pylist()]
    assert after.column("card_number").null_count == len(DATA.rows)  # int64 card numbers cannot be masked
    assert result.values_nulled == len(DATA.rows)


def test_failures_never_leave_a_partial_copy_unannounced(detector: EntityDetector) -> None:
    source = DATA.csv_bytes()
    with pytest.raises(RedactionFailed):
        redact(source, "csv", detector, max_bytes=len(source) // 2)
    with pytest.raises(RedactionFailed):
        redact(b'a\n"never closed' + b"x" * 5000, "csv", detector, max_record_chars=1000)
    with pytest.raises(RedactionFailed):
        redact(b"not parquet", "parquet", detector)

    import pyarrow as pa
    import pyarrow.parquet as pq

    nested = io.BytesIO()
    pq.write_table(pa.table({"contacts": [["bob@example.com"]]}), nested)
    with pytest.raises(RedactionFailed, match="nested"):
        redact(nested.getvalue(), "parquet", detector)
