"""One personal-data detector for the whole session: building it imports Presidio (which
imports spaCy and transformers, ~7 s); using it is cheap and thread-safe."""

from __future__ import annotations

import pytest

from safety.entities import EntityDetector


@pytest.fixture(scope="session")
def detector() -> EntityDetector:
    return EntityDetector()


@pytest.fixture
def repo(alice):
    """A fresh model repository of alice ("alice/s-<8 hex>")."""
    import uuid

    from tests.factories import RepositoryFactory

    return RepositoryFactory(owner=alice, name=f"s-{uuid.uuid4().hex[:8]}")
