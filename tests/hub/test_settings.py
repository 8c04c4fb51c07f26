"""The database and broker named by the environment are the ones actually in use.

.ci/run's second pass sets DATABASE_URL (PostgreSQL) and CELERY_BROKER_URL (Redis); if the
settings silently fell back to SQLite or the filesystem broker, that pass would prove nothing.
"""
from __future__ import annotations

import os

import pytest
from django.db import connection

from hub.celery import app


@pytest.mark.postgres
@pytest.mark.django_db
def test_database_engine_follows_database_url() -> None:
    expected = "postgresql" if os.environ.get("DATABASE_URL", "").startswith("postgres") else "sqlite"
    assert connection.vendor == expected
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)


@pytest.mark.postgres
def test_broker_follows_celery_broker_url() -> None:
    expected = os.environ.get("CELERY_BROKER_URL", "filesystem://")
    assert app.conf.broker_url == expected
    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1)  # reachable, not just configured
        assert conn.transport_cls == expected.split("://")[0]
