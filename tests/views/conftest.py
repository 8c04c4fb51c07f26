"""Fixtures for the HTML pages: repositories and logged-in clients."""
from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from repos.models import Repository
from repos.services.repos import repo_create


@pytest.fixture
def make_repo(alice) -> Callable[..., Repository]:
    def make(name: str = "demo", *, user=None, private: bool = False, repo_type: str = "model",
             namespace: str | None = None) -> Repository:
        owner = user or alice
        return repo_create(user=owner, namespace=namespace or owner.username, name=name, repo_type=repo_type,
                           private=private)
    return make


@pytest.fixture
def alice_client(alice) -> Client:
    client = Client()
    client.force_login(alice)
    return client


@pytest.fixture
def bob_client(bob) -> Client:
    client = Client()
    client.force_login(bob)
    return client
