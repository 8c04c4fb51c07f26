"""Recognising personal data in a string: emails, phone numbers, IP addresses, payment card
numbers, IBANs and US social security numbers, offline.

Built on Presidio's recognizers, called directly (no `AnalyzerEngine`, which wants a spaCy
language model for its NLP pipeline): `EmailRecognizer` (with the public-suffix check pinned
to tldextract's bundled snapshot, because by default it *downloads* the list), `PhoneRecognizer`
(python-phonenumbers, VALID leniency) plus a pattern recognizer for written phone formats
(NANP `(415) 555-0123`, `+1-415-555-0123x12`, international `+44 (0)20 7946 0958`), which
also catches numbers whose area code is unassigned (phonenumbers' POSSIBLE leniency would,
but it also calls every date, price and ISBN a phone number), `IpRecognizer` (v4 and v6, validated by
`ipaddress`), `IbanRecognizer` (country format + mod-97), and a `CreditCardRecognizer` whose
pattern covers 12-19 digit numbers (Presidio's misses 2-series Mastercard, 15-digit JCB and
19-digit Visa) validated by issuer prefix and Luhn, and `UsSsnRecognizer`.

Person names are NOT recognised: that needs a named-entity model (spaCy `en_core_web_*`,
a transformers NER model) and none is installed or downloadable here. `UNSUPPORTED` says so,
and reports carry it; `column_hints` flags columns whose *names* suggest people.

Presidio is imported when a detector is built, never at module import (the web process
should not pay for spaCy's import).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

EMAIL = "EMAIL_ADDRESS"
PHONE = "PHONE_NUMBER"
IP = "IP_ADDRESS"
CARD = "CREDIT_CARD"
IBAN = "IBAN_CODE"
SSN = "US_SSN"
PERSON = "PERSON"

ENTITIES: tuple[str, ...] = (CARD, IBAN, EMAIL, IP, SSN, PHONE)  # also the priority on overlaps
UNSUPPORTED: dict[str, str] = {
    PERSON: "not recognised offline: no named-entity model is installed (spaCy is present but no "
            "en_core_web_* model, and models cannot be downloaded); only column-name hints are reported",
}
_PRIORITY = {entity: rank for rank, entity in enumerate(ENTITIES)}
_PERSON_COLUMN = re.compile(
    r"(^|[_\W])(name|first_?name|last_?name|full_?name|surname|given_?name|person|customer|patient|author|"
    r"user_?name|contact)([_\W]|$)", re.IGNORECASE)
_PHONE_COLUMN = re.compile(r"(^|[_\W])(phones?|telephones?|tel|mobiles?|cell|fax|msisdn)([_\W\d]|$)", re.IGNORECASE)
# Words that make a bare digit string a phone number in free text (Presidio's context idea).
_PHONE_CONTEXT = re.compile(r"\b(phone|tel|telephone|call|mobile|cell|fax|contact|reach|whatsapp|sms|text me)\b",
                            re.IGNORECASE)
_DIGIT = re.compile(r"\d")
_WINDOW = 1 << 16
_OVERLAP = 512  # longer than any entity we recognise


@dataclass(frozen=True, order=True)
class EntitySpan:
    start: int
    end: int
    entity: str
    score: float


def column_hints(column: str) -> frozenset[str]:
    """Entities a column's *name* suggests. PERSON is reported as a hint (we cannot recognise
    names in values); PHONE makes bare digit strings in that column count as phone numbers."""
    hints = set()
    if _PERSON_COLUMN.search(column):
        hints.add(PERSON)
    if _PHONE_COLUMN.search(column):
        hints.add(PHONE)
    return frozenset(hints)


def normalize(entity: str, value: str) -> str:
    """A canonical form, so one address written two ways gets one pseudonym."""
    if entity == EMAIL:
        return value.strip().lower()
    if entity in (PHONE, CARD, SSN):
        return "".join(ch for ch in value if ch.isdigit() or ch == "+")
    if entity == IBAN:
        return "".join(value.split()).upper()
    if entity == IP:
        try:
            return str(ipaddress.ip_address(value.strip("[]")))
        except ValueError:
            return value
    return value


_IIN_RANGES: tuple[tuple[int, int, int], ...] = (
    # (prefix length, low, high) per issuer: Visa, Mastercard, Amex, Discover, JCB, Diners,
    # Maestro (incl. its old 0604 range), UnionPay, Mir, old 15-digit JCB, and the whole 35
    # block (Faker and test generators issue JCB numbers below 3528).
    (1, 4, 4), (2, 51, 55), (4, 2221, 2720), (2, 34, 34), (2, 37, 37), (4, 6011, 6011), (3, 644, 649),
    (2, 65, 65), (4, 3528, 3589), (3, 300, 305), (2, 36, 36), (2, 38, 39), (2, 50, 50), (2, 56, 69),
    (2, 62, 62), (4, 2200, 2204), (4, 1800, 1800), (4, 2131, 2131), (2, 35, 35), (4, 604, 604),
)


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def is_card_number(text: str) -> bool:
    digits = "".join(ch for ch in text if ch.isdigit())
    if not 12 <= len(digits) <= 19 or len(set(digits)) == 1:
        return False
    if not any(lo <= int(digits[:n]) <= hi for n, lo, hi in _IIN_RANGES):
        return False
    return _luhn(digits)


class EntityDetector:
    """Finds personal-data spans in strings. Build once, reuse (recognizers compile regexes
    and phone metadata); `find` is thread-safe (no shared mutable state)."""

    def __init__(self, *, entities: Sequence[str] = ENTITIES, phone_regions: Sequence[str] | None = None) -> None:
        unknown = set(entities) - set(ENTITIES)
        if unknown:
            raise ValueError(f"unsupported entities: {sorted(unknown)} (supported: {ENTITIES})")
        self.entities = tuple(e for e in ENTITIES if e in entities)
        self._recognizers = _build_recognizers(self.entities, phone_regions)

    def find(self, text: str, *, hints: Collection[str] = ()) -> list[EntitySpan]:
        """Non-overlapping spans, left to right. On overlaps the longer span wins (an IBAN
        contains digits that can pass for a card number; a card number contains a
        phone-shaped run), then the more specific entity. `hints`: entities the column name
        suggests (see `column_hints`). Long texts are scanned in overlapping windows, so the
        cost is linear and every part of a 10 MB cell is covered."""
        if len(text) <= _WINDOW:
            return _resolve(self._candidates(text, hints, 0))
        candidates: set[EntitySpan] = set()
        step = _WINDOW - _OVERLAP
        for offset in range(0, len(text), step):
            candidates.update(self._candidates(text[offset:offset + _WINDOW], hints, offset))
            if offset + _WINDOW >= len(text):
                break
        return _resolve(list(candidates))

    def _candidates(self, text: str, hints: Collection[str], offset: int) -> list[EntitySpan]:
        if not text.strip():
            return []
        has_digit = _DIGIT.search(text) is not None
        candidates: list[EntitySpan] = []
        for entity, recognizer in self._recognizers:
            if not _worth_trying(entity, text, has_digit):
                continue
            results = recognizer.find(text, hinted=PHONE in hints) if entity == PHONE else \
                recognizer.analyze(text, [entity], None)
            for result in results:
                end = _extend_phone(text, result.end) if entity == PHONE else result.end
                if entity in (CARD, SSN) and not _stands_alone(text, result.start, end):
                    continue
                if _valid(entity, text[result.start:end]):
                    candidates.append(EntitySpan(offset + result.start, offset + end, entity, float(result.score)))
        return candidates


def _worth_trying(entity: str, text: str, has_digit: bool) -> bool:
    """Cheap filters in front of the recognizers (the phone matcher costs ~50 us a call)."""
    if entity == EMAIL:
        return "@" in text
    if entity == IP:
        return ("." in text and has_digit) or text.count(":") >= 2
    if entity in (PHONE, CARD, SSN):
        return has_digit and sum(ch.isdigit() for ch in text) >= 7
    if entity == IBAN:
        return has_digit and len(text) >= 15
    return True


def _valid(entity: str, value: str) -> bool:
    if entity == CARD:
        return is_card_number(value)
    if entity == SSN:
        return "-" in value or " " in value  # a bare 9-digit run is any number
    if entity == PHONE:
        digits = sum(ch.isdigit() for ch in _EXTENSION.split(value, 1)[0])
        return 7 <= digits <= 15  # E.164 allows at most 15 digits
    if entity == IP:
        try:
            ipaddress.ip_address(value.strip("[]"))
        except ValueError:
            return False
    return True


def _stands_alone(text: str, start: int, end: int) -> bool:
    """Not part of a longer token: no letter/digit/dot/colon/slash glued before, and after it
    (and its extension, `x1234`) no letter or digit, nor a separator followed by one
    (`08.757884` in a timestamp, `08919013` at the head of a UUID, `2236897338` in a float)."""
    end = _extend_phone(text, end)
    before = text[start - 1] if start else ""
    if before and (before.isalnum() or before in "._:/@"):
        return False
    after = text[end:end + 2]
    if after[:1].isalnum() or after[:1] in ("_", "@"):
        return False
    return not (after[:1] in (".", ":", "/", "-") and after[1:2].isalnum())


def _written_like_phone(value: str) -> bool:
    """Separated like a phone number; one dot between digits is a decimal number."""
    if value.startswith("+") or any(ch in value for ch in " -()"):
        return True
    return value.count(".") >= 2


def _announced(text: str, start: int) -> bool:
    return _PHONE_CONTEXT.search(text, max(start - 40, 0), start) is not None


_EXTENSION = re.compile(r"\s*(?:x|ext\.?|extension)\s*\d{1,6}(?!\d)", re.IGNORECASE)


def _extend_phone(text: str, end: int) -> int:
    """Include a trailing extension ("x1234", "ext. 12"), which phonenumbers leaves out."""
    match = _EXTENSION.match(text, end)
    return match.end() if match else end


def _resolve(candidates: list[EntitySpan]) -> list[EntitySpan]:
    chosen: list[EntitySpan] = []
    for span in sorted(candidates, key=lambda s: (-(s.end - s.start), _PRIORITY[s.entity], s.start)):
        if all(span.end <= kept.start or span.start >= kept.end for kept in chosen):
            chosen.append(span)
    return sorted(chosen)


def _build_recognizers(entities: Sequence[str], phone_regions: Sequence[str] | None) -> list[tuple[str, Any]]:
    import tldextract
    from presidio_analyzer import Pattern, PatternRecognizer
    from presidio_analyzer.predefined_recognizers import (
        CreditCardRecognizer,
        EmailRecognizer,
        IbanRecognizer,
        IpRecognizer,
        PhoneRecognizer,
        UsSsnRecognizer,
    )

    offline_suffixes = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)

    class OfflineEmailRecognizer(EmailRecognizer):  # type: ignore[misc]
        def validate_result(self, pattern_text: str) -> bool:
            return bool(offline_suffixes(pattern_text.rsplit("@", 1)[-1]).fqdn)

    class PaymentCardRecognizer(CreditCardRecognizer):  # type: ignore[misc]
        PATTERNS = [Pattern(
            "payment card number",
            r"(?<![\d.\-/])(?:\d{4}([ -]?)\d{4}\1\d{4}\1\d{1,7}|\d{4}([ -]?)\d{6}\2\d{4,5}|\d{12,19})(?![\d.\-/]\d|\d)",
            0.3,
        )]

        def validate_result(self, pattern_text: str) -> bool:
            return is_card_number(pattern_text)

    class PhoneFinder:
        """Three sources, from strict to loose:
        - written formats with separators (NANP, international) by pattern;
        - numbers phonenumbers deems VALID in the supported regions, if they are written with
          separators or `+`, or announced by a context word ("call", "phone") just before;
        - any POSSIBLE number, only in a column named like a phone column or after a context
          word (a bare `5919024441` is a phone number in a `phone` column, an id elsewhere).
        All must stand alone: not glued to letters, decimals, times or hyphenated ids."""

        def __init__(self) -> None:
            regions = tuple(phone_regions) if phone_regions else PhoneRecognizer.DEFAULT_SUPPORTED_REGIONS
            # Presidio's type hints want NlpArtifacts we do not have (None is what it accepts).
            self._valid: Any = PhoneRecognizer(leniency=1, supported_regions=regions)
            self._possible: Any = PhoneRecognizer(leniency=0, supported_regions=regions)
            self._written: Any = PatternRecognizer(supported_entity=PHONE, patterns=[
                Pattern("NANP", r"(?<![\w+])(?:(?:\+?1|001)[-. ]?)?(?:\(\d{3}\)\s?|\d{3}[-. ])\d{3}[-. ]\d{4}(?!\d)",
                        0.5),
                Pattern("international", r"(?<![\w+])\+\d{1,3}(?:[-. ]?\(0\))?(?:[-. ]?\(?\d{1,5}\)?){2,6}(?!\d)",
                        0.5),
            ])

        def find(self, text: str, *, hinted: bool) -> list[Any]:
            found = [r for r in self._written.analyze(text, [PHONE]) if _stands_alone(text, r.start, r.end)]
            for r in self._valid.analyze(text, [PHONE], None):
                if _stands_alone(text, r.start, r.end) and (
                        hinted or _written_like_phone(text[r.start:r.end]) or _announced(text, r.start)):
                    found.append(r)
            if hinted or _PHONE_CONTEXT.search(text):
                for r in self._possible.analyze(text, [PHONE], None):
                    if _stands_alone(text, r.start, r.end) and (hinted or _announced(text, r.start)):
                        found.append(r)
            return found

    factories: dict[str, Any] = {
        SSN: UsSsnRecognizer,
        EMAIL: OfflineEmailRecognizer,
        PHONE: PhoneFinder,
        IP: IpRecognizer,
        CARD: PaymentCardRecognizer,
        IBAN: IbanRecognizer,
    }
    return [(entity, factories[entity]()) for entity in entities]
