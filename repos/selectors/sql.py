"""Helpers for the few raw SQL queries of hot paths (the permission gate's lookups), where
compiling the ORM query cost more CPU than running it (bench/metadata.py, bench/download.py)."""
from __future__ import annotations

from django.db import connections, router
from django.db.models import Model


def column(model: type[Model], field: str) -> str:
    """The database column of a concrete field, quoted for the model's read database."""
    name = model._meta.get_field(field).column  # type: ignore[union-attr]
    assert isinstance(name, str)
    return quote_name(model, name)


def quote_name(model: type[Model], name: str) -> str:
    return str(connections[router.db_for_read(model)].ops.quote_name(name))
