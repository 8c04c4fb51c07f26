"""Behaviour only the huggingface_hub 0.x client has (the line transformers 4.x users run);
the shared round trip of test_api_clients.py runs under 0.x too."""
from __future__ import annotations

from typing import Any

import pytest

from tests.compat.conftest import HF0_SCRIPTS, no_errors, run_client, unique_suffix

pytestmark = [pytest.mark.live, pytest.mark.hf0]


@pytest.fixture(scope="module")
def hf0(live_hub, compat_users, hf0_python, tmp_path_factory) -> dict[str, Any]:
    work = tmp_path_factory.mktemp("hf0")
    suffix = unique_suffix()
    # No token in the environment: login() has to store it for every later call.
    result = run_client(hf0_python, HF0_SCRIPTS / "hf0_specific.py", env=live_hub.client_env(work / "home"),
                        config={"owner": compat_users.alice, "token": compat_users.alice_token,
                                "bob_token": compat_users.bob_token, "suffix": suffix, "work": str(work)},
                        work=work, timeout=180)
    no_errors(result)
    return {"suffix": suffix, "owner": compat_users.alice, **result["out"]}


def test_login_reads_whoami_token_fields(hf0):
    assert hf0["client_version"].startswith("0.36.")
    assert hf0["token_file"] is True
    assert hf0["whoami"] == {"name": hf0["owner"], "role": "write", "has_display_name": True}


def test_list_models_with_requests_style_params(hf0):
    older, newer = (f"{hf0['owner']}/{kind}-{hf0['suffix']}" for kind in ("older", "newer"))
    assert hf0["sorted_desc"] == [newer, older]
    assert hf0["full_sha"] == {older: True, newer: True}


def test_update_repo_visibility_returns_json(hf0):
    assert hf0["visibility_response"].get("private") is True
    assert hf0["bob_sees_private"] is False
    assert hf0["visibility_back"].get("private") is False


def test_metadata_head_and_local_dir(hf0):
    assert hf0["metadata"] == {"regular": [True, len(b'{"a": 1}\n'), True], "lfs": [True, True, True]}
    assert hf0["local_dir"] == {"content_ok": True, "same_path": True, "not_rewritten": True}
