"""Issue 14's first list through the real clients (newest in .venv, 0.36 in .venv-hf0): each
call a Hugging Face user makes on day one, with the Hub's status, error code and shape.

One client process per version runs `scripts/parity_calls.py`; the tests assert on the
values it reports.
"""
from __future__ import annotations

from typing import Any

import pytest

from tests.compat.conftest import CLIENTS, SCRIPTS, client_python, no_errors, run_client, unique_suffix

pytestmark = pytest.mark.live


@pytest.fixture(scope="module", params=CLIENTS)
def calls(request: pytest.FixtureRequest, live_hub, compat_users, tmp_path_factory) -> dict[str, Any]:
    client = request.param
    work = tmp_path_factory.mktemp(f"parity-{client}")
    result = run_client(
        client_python(request, client), SCRIPTS / "parity_calls.py",
        env=live_hub.client_env(work / "home", compat_users.alice_token),
        config={"owner": compat_users.alice, "bob": compat_users.bob, "bob_token": compat_users.bob_token,
                "suffix": unique_suffix(), "work": str(work)},
        work=work, timeout=240,
    )
    result["client"] = client
    return result


def test_setup(calls):
    no_errors(calls, "setup")


def test_ids_without_namespace_do_not_exist(calls):
    no_errors(calls, "exists")
    assert calls["out"]["exists"] == {
        "namespaceless_repo": False, "namespaceless_dataset": False, "namespaceless_file": False,
        "missing_repo": False, "repo": True, "file": True, "missing_file": False,
    }


def test_error_messages_name_the_request_id(calls):
    no_errors(calls, "request_id")
    got = calls["out"]["request_id"]
    assert got["header"] and len(got["header"]) == 32
    assert got["header"] in got["message"]
