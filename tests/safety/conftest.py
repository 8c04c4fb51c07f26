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


@pytest.fixture(scope="session")
def clamd():
    """A real clamd for the session (tests/safety/clamd.py), stopped at the end."""
    from tests.safety.clamd import running_clamd

    with running_clamd() as daemon:
        yield daemon


@pytest.fixture
def antivirus(clamd, settings):
    """The hub configured to scan with `clamd` (settings HUB_CLAMD_*)."""
    settings.HUB_CLAMD_SOCKET = str(clamd.socket)
    settings.HUB_CLAMD_ADDRESS = ""
    return clamd
