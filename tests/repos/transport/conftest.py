"""Fixtures of the transport tests against the live hub."""
from __future__ import annotations

import pytest

from tests.repos.git_client import SlowProxy


@pytest.fixture
def slow_proxy(live_hub):
    proxy = SlowProxy(live_hub.port)
    yield proxy
    proxy.close()
