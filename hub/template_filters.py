"""Display filters available in every template (registered as builtins in settings.TEMPLATES):
formatting only, no decisions, no queries."""
from __future__ import annotations

from django import template

from hub.units import decimal_size

register = template.Library()


@register.filter(name="size")
def size(value: int | float | None) -> str:
    """A byte count in decimal units (`hub.units.decimal_size`): `{{ file.size|size }}`."""
    return decimal_size(value)
