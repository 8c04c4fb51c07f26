"""Display filters of the review pages (formatting only: no decisions, no queries)."""
from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.filter
def lookup(mapping: Any, key: Any) -> Any:
    """`mapping[key]`, or None (dicts of threads keyed by path or tensor name)."""
    try:
        return mapping.get(key)
    except AttributeError:
        return None


def _side(side: Any) -> str:
    return f"{side.dtype} [{', '.join(str(n) for n in side.shape)}]"


@register.filter
def tensor_sides(row: Any) -> str:
    """`F32 [768, 768]`, or `F32 [768] → F16 [1024]` when dtype or shape changed."""
    if row.old is None:
        return _side(row.new)
    if row.new is None:
        return _side(row.old)
    before, after = _side(row.old), _side(row.new)
    return before if before == after else f"{before} → {after}"


@register.filter
def percent(value: Any) -> str:
    try:
        return f"{100 * float(value):.3g}%"
    except (TypeError, ValueError):
        return ""


@register.filter
def sig(value: Any) -> str:
    """A float with 4 significant digits."""
    try:
        return f"{float(value):.4g}"
    except (TypeError, ValueError):
        return ""
