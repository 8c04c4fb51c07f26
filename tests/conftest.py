"""Shared fixtures: personas in the test database, and a live hub server for real clients."""
from __future__ import annotations

import pytest

pytest_plugins = ["tests.live"]


@pytest.fixture
def alice(db):
    """alice, password "alice-password-1", email alice@example.com."""
    from tests.factories import UserFactory

    return UserFactory(username="alice")


@pytest.fixture
def bob(db):
    """bob, password "bob-password-1", email bob@example.com."""
    from tests.factories import UserFactory

    return UserFactory(username="bob")


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test starts with an empty cache: login rate-limit counters (accounts.auth.ratelimit)
    must not leak from one test's failed logins into another's."""
    from django.core.cache import cache

    cache.clear()
    yield
