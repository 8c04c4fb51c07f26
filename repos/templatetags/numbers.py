"""Counts as the Hub shows them (`{{ n|count }}` -> "124M"), a builtin of every template
(settings.TEMPLATES): formatting only. Byte sizes use `size` (hub.template_filters)."""
from __future__ import annotations

from django import template

from repos.links import human_count

register = template.Library()


@register.filter(name="count")
def count(value: int | None) -> str:
    return human_count(int(value or 0))
