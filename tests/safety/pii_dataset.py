"""A synthetic dataset with planted personal data (Faker, fixed seed), written as CSV, JSONL
and Parquet. `planted` lists every value a redaction must remove, by entity type."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field

from faker import Faker

PII_COLUMNS = ("email", "phone", "ip", "card", "iban", "notes", "comment")
PLAIN_COLUMNS = ("id", "name", "city", "signup", "score", "uuid", "active")
COLUMNS = ("id", "name", "email", "phone", "city", "signup", "ip", "card", "iban", "score", "notes", "comment",
           "uuid", "active")


@dataclass
class Dataset:
    rows: list[dict[str, str]]
    planted: dict[str, list[str]] = field(default_factory=dict)

    def csv_bytes(self) -> bytes:
        """CSV with mixed quoting: `name` always quoted, others only when needed, CRLF."""
        out = io.StringIO(newline="")
        out.write(",".join(COLUMNS) + "\r\n")
        for row in self.rows:
            cells = []
            for column in COLUMNS:
                value = row[column]
                if column == "name" or any(ch in value for ch in ',"\r\n'):
                    value = '"' + value.replace('"', '""') + '"'
                cells.append(value)
            out.write(",".join(cells) + "\r\n")
        return out.getvalue().encode()

    def jsonl_bytes(self) -> bytes:
        lines = []
        for index, row in enumerate(self.rows):
            record: dict[str, object] = {k: v for k, v in row.items() if k not in ("card", "phone", "email")}
            record["contact"] = {"email": row["email"], "phones": [row["phone"]]}
            record["card"] = int(row["card"]) if index % 3 == 0 else row["card"]  # some as JSON numbers
            # Vary the spelling: untouched lines must come back byte for byte, whatever it is.
            lines.append(json.dumps(record, ensure_ascii=index % 2 == 0, separators=(",", ":") if index % 4 else None))
        return ("\n".join(lines) + "\n").encode()

    def parquet_bytes(self) -> bytes:
        import pyarrow as pa
        import pyarrow.parquet as pq

        columns = {name: [row[name] for row in self.rows] for name in COLUMNS}
        arrays = {name: pa.array(values) for name, values in columns.items() if name not in ("id", "card")}
        arrays["id"] = pa.array([int(v) for v in columns["id"]], type=pa.int64())
        arrays["card_number"] = pa.array([int(v) for v in columns["card"]], type=pa.int64())
        arrays["card"] = pa.array(columns["card"])
        table = pa.table(arrays)
        out = io.BytesIO()
        pq.write_table(table, out, row_group_size=50)
        return out.getvalue()


def make_dataset(n: int = 120, seed: int = 1234) -> Dataset:
    fake = Faker("en_US")
    fake.seed_instance(seed)
    planted: dict[str, list[str]] = {"EMAIL_ADDRESS": [], "PHONE_NUMBER": [], "IP_ADDRESS": [], "CREDIT_CARD": [],
                                     "IBAN_CODE": []}
    rows: list[dict[str, str]] = []
    for i in range(n):
        email = fake.email() if i != 7 else rows[3]["email"]  # a repeated address (pseudonym consistency)
        phone = fake.phone_number()
        ip = fake.ipv4() if i % 2 else fake.ipv6()
        card = fake.credit_card_number()
        iban = fake.iban()
        notes = fake.sentence()
        comment = fake.sentence()
        if i % 3 == 0:
            extra_phone = fake.phone_number()
            notes = f'{notes} Call me at {extra_phone}, or write to "{fake.company_email()}".'
            planted["PHONE_NUMBER"].append(extra_phone)
            planted["EMAIL_ADDRESS"].append(notes.rsplit('"', 2)[1])
        if i % 4 == 1:
            extra_ip = fake.ipv4_public()
            extra_card = fake.credit_card_number()
            comment = f"{comment}\nlogin from {extra_ip}; paid with {extra_card}"
            planted["IP_ADDRESS"].append(extra_ip)
            planted["CREDIT_CARD"].append(extra_card)
        planted["EMAIL_ADDRESS"].append(email)
        planted["PHONE_NUMBER"].append(phone)
        planted["IP_ADDRESS"].append(ip)
        planted["CREDIT_CARD"].append(card)
        planted["IBAN_CODE"].append(iban)
        rows.append({
            "id": str(1000 + i), "name": fake.name(), "email": email, "phone": phone, "city": fake.city(),
            "signup": fake.date_time().isoformat(), "ip": ip, "card": card, "iban": iban,
            "score": f"{fake.pyfloat(min_value=0, max_value=100):.4f}", "notes": notes, "comment": comment,
            "uuid": fake.uuid4(), "active": str(fake.boolean()).lower(),
        })
    return Dataset(rows=rows, planted=planted)


def csv_rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode(), newline="")))
