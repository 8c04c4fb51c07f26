"""The planted dataset shared by the de-identification tests, and the oracle of a masked copy:
the source with each planted value replaced by its mask (independent of the detector)."""
from __future__ import annotations

from tests.safety.pii_dataset import make_dataset

DATA = make_dataset(n=40, seed=4321)
TOKENS = {"EMAIL_ADDRESS": "<EMAIL_ADDRESS>", "PHONE_NUMBER": "<PHONE_NUMBER>", "IP_ADDRESS": "<IP_ADDRESS>",
          "CREDIT_CARD": "<CREDIT_CARD>", "IBAN_CODE": "<IBAN_CODE>"}
# The entities whose recall the acceptance criteria name.
CHECKED = ("EMAIL_ADDRESS", "PHONE_NUMBER", "IP_ADDRESS", "CREDIT_CARD")


def expected_text(text: str) -> str:
    """`text` with each planted value replaced by its mask (longest first: no value is
    replaced inside another)."""
    pairs = sorted({(v, TOKENS[e]) for e, values in DATA.planted.items() for v in values}, key=lambda p: -len(p[0]))
    for value, token in pairs:
        text = text.replace(value, token)
    return text


def planted_values() -> list[str]:
    return [value for values in DATA.planted.values() for value in values]
