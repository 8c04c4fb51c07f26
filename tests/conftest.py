"""Shared fixtures: personas in the test database (built with tests/factories.py), and a live hub
server for real clients (tests/live.py)."""
from __future__ import annotations

from collections.abc import Callable

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


@pytest.fixture
def people(db):
    """ann, ben and cat (no email), each with a write token named "w": ({name: user}, {name: secret})."""
    from tests.factories import TokenFactory, UserFactory

    users = {name: UserFactory(username=name, email="") for name in ("ann", "ben", "cat")}
    keys = {name: TokenFactory(user=user, name="w").secret for name, user in users.items()}
    return users, keys


@pytest.fixture
def make_repo(alice) -> Callable[..., object]:
    """Make a repository ("demo" of alice unless told otherwise) with RepositoryFactory."""
    from tests.factories import RepositoryFactory

    def make(name: str = "demo", *, user=None, private: bool = False, repo_type: str = "model",
             namespace: str | None = None):
        owner = user or alice
        return RepositoryFactory(owner=owner, namespace=namespace or owner.username, name=name,
                                 repo_type=repo_type, private=private)
    return make


@pytest.fixture
def alice_client(alice):
    """A Django test client logged in as alice."""
    from django.test import Client

    client = Client()
    client.force_login(alice)
    return client


@pytest.fixture
def bob_client(bob):
    """A Django test client logged in as bob."""
    from django.test import Client

    client = Client()
    client.force_login(bob)
    return client


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test starts with an empty cache: login rate-limit counters (accounts.auth.ratelimit)
    must not leak from one test's failed logins into another's."""
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture
def env_master_key(settings, tmp_path):
    """HUB_MASTER_KEY = tests.master_keys.KEY_A, fresh key caches (tests of encryption at rest)."""
    from tests.master_keys import configured_master_key

    yield from configured_master_key(settings, tmp_path)
