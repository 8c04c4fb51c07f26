"""The offline entity detector: recall on Faker-generated values (fixed seed), precision on
columns that must stay untouched, and no network."""

from __future__ import annotations

import socket

import pytest
from faker import Faker

from safety.entities import (
    CARD,
    EMAIL,
    IBAN,
    IP,
    PERSON,
    PHONE,
    UNSUPPORTED,
    EntityDetector,
    column_hints,
    is_card_number,
    normalize,
)


def _exact(detector: EntityDetector, text: str, value: str, entity: str, **kwargs: object) -> bool:
    return any(s.entity == entity and text[s.start:s.end] == value for s in detector.find(text, **kwargs))  # type: ignore[arg-type]


def test_recall_on_generated_values(detector: EntityDetector) -> None:
    fake = Faker("en_US")
    fake.seed_instance(99)
    generators = {
        EMAIL: lambda: (fake.email(), "write to {} today"),
        IP: lambda: (fake.ipv4() if fake.boolean() else fake.ipv6(), "seen from {} at noon"),
        CARD: lambda: (fake.credit_card_number(), "paid with {}."),
        IBAN: lambda: (fake.iban(), "wire to {} please"),
        PHONE: lambda: (fake.phone_number(), "call me at {} tomorrow"),
    }
    for entity, generate in generators.items():
        for _ in range(200):
            value, template = generate()
            assert _exact(detector, template.format(value), value, entity), (entity, value)
            if entity != PHONE:
                assert _exact(detector, value, value, entity), (entity, value)


def test_phone_numbers_in_a_phone_column(detector: EntityDetector) -> None:
    fake = Faker("en_US")
    fake.seed_instance(5)
    hints = column_hints("Phone Number")
    assert PHONE in hints
    for _ in range(200):
        value = fake.phone_number()
        assert _exact(detector, value, value, PHONE, hints=hints), value
    assert not detector.find("5919024441")  # a bare 10-digit number elsewhere is an id


def test_no_findings_in_ordinary_columns(detector: EntityDetector) -> None:
    fake = Faker("en_US")
    fake.seed_instance(3)
    generators = [fake.name, fake.city, fake.sentence, fake.company, fake.job, fake.uuid4, fake.zipcode,
                  lambda: fake.date_time().isoformat(), lambda: str(fake.date()), lambda: f"{fake.pyfloat():.6f}",
                  lambda: str(fake.random_int(0, 10**6)), lambda: fake.text(300), fake.url, fake.md5,
                  lambda: f"{fake.latitude()},{fake.longitude()}", lambda: "v" + fake.numerify("#.##.#")]
    for generate in generators:
        for _ in range(100):
            value = str(generate())
            assert not detector.find(value), (value, detector.find(value))


def test_overlaps_prefer_the_longer_more_specific_entity(detector: EntityDetector) -> None:
    iban = "GB23FBTH60521690458932"  # its digits contain a Luhn-valid run
    assert [(s.entity, s.start, s.end) for s in detector.find(iban)] == [(IBAN, 0, len(iban))]
    card = "4111 1111 1111 1111"
    assert [s.entity for s in detector.find(f"card {card} ok")] == [CARD]


def test_long_texts_are_covered_to_the_end(detector: EntityDetector) -> None:
    text = ("lorem ipsum " * 20_000) + "reach me at someone@example.org" + (" dolor" * 10)
    spans = detector.find(text)
    assert [(s.entity, text[s.start:s.end]) for s in spans] == [(EMAIL, "someone@example.org")]


def test_card_validation_and_normalization() -> None:
    assert is_card_number("4111-1111-1111-1111")
    assert not is_card_number("4111-1111-1111-1112")  # Luhn
    assert not is_card_number("9111111111111111")  # no issuer starts with 9
    assert normalize(EMAIL, " John@Example.COM ") == "john@example.com"
    assert normalize(PHONE, "(415) 555-0123") == "4155550123"
    assert normalize(IP, "2001:0db8::0001") == "2001:db8::1"


def test_person_names_are_declared_unsupported() -> None:
    assert PERSON in UNSUPPORTED and "no named-entity model" in UNSUPPORTED[PERSON]
    assert PERSON in column_hints("customer_name") and PERSON in column_hints("First Name")
    assert not column_hints("score")


def test_detection_is_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("the detector tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    fresh = EntityDetector()  # tldextract would fetch the public suffix list here by default
    assert [s.entity for s in fresh.find("mail bob@company.co.uk or alice@example.com")] == [EMAIL, EMAIL]
