"""The test-suite contract of tests/live.py: a missing program skips locally, fails on CI."""
from __future__ import annotations

import pytest

from tests.live import isolated_broker_url, require_tool

MISSING = "modelhub-no-such-program"


def test_missing_tool_skips_with_the_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match=f"apt-get install -y {MISSING}"):
        require_tool(MISSING)


def test_missing_tool_fails_on_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=r"\.ci/run must install it"):
        require_tool(MISSING)


def test_present_tool_is_found() -> None:
    assert require_tool("sh").endswith("/sh")


def test_broker_isolation_only_moves_redis(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CELERY_BROKER_URL", "filesystem://")
    assert isolated_broker_url(3) is None
    monkeypatch.delenv("CELERY_BROKER_URL")
    assert isolated_broker_url(3) is None
