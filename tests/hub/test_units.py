"""Sizes in decimal units, as the Hub shows them (issue 14: a 300 MB file is not "286.1 MB")."""
from __future__ import annotations

import pytest
from django.template import Context, Template

from hub.units import decimal_size


@pytest.mark.parametrize(("n", "text"), [
    (0, "0 bytes"), (1, "1 byte"), (999, "999 bytes"), (1000, "1.0 kB"), (2048, "2.0 kB"),
    (300_000_000, "300.0 MB"), (999_950, "1.0 MB"), (1_500_000_000, "1.5 GB"), (4 * 10**12, "4.0 TB"),
    (None, "0 bytes"),
])
def test_decimal_size(n: int | None, text: str) -> None:
    assert decimal_size(n) == text.replace(" ", "\xa0")


def test_size_filter_is_a_template_builtin() -> None:
    # No {% load %}: every template formats sizes the same way.
    html = Template("{{ n|size }}").render(Context({"n": 300 * 10**6}))
    assert html == "300.0\xa0MB"
