"""Shared fixtures: personas in the test database, and a live hub server for real clients."""
from __future__ import annotations

import pytest

pytest_plugins = ["tests.live"]


@pytest.fixture
def alice(db):
    from accounts.services.users import user_create

    return user_create(username="alice", password="alice-password-1", email="alice@example.com")


@pytest.fixture
def bob(db):
    from accounts.services.users import user_create

    return user_create(username="bob", password="bob-password-1", email="bob@example.com")


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test starts with an empty cache: login rate-limit counters (accounts.auth.ratelimit)
    must not leak from one test's failed logins into another's."""
    from django.core.cache import cache

    cache.clear()
    yield
