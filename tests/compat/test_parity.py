"""Issue 14's first list through the real clients (newest in .venv, 0.36 in .venv-hf0): each
call a Hugging Face user makes on day one, with the Hub's status, error code and shape.

One client process per version runs `scripts/parity_calls.py`; the tests assert on the
values it reports.
"""
from __future__ import annotations

import time
from typing import Any

import pytest

from tests.compat.conftest import CLIENTS, SCRIPTS, client_python, no_errors, run_client, unique_suffix

pytestmark = pytest.mark.live


@pytest.fixture(scope="module", params=CLIENTS)
def calls(request: pytest.FixtureRequest, live_hub, compat_users, tmp_path_factory) -> dict[str, Any]:
    client = request.param
    work = tmp_path_factory.mktemp(f"parity-{client}")
    suffix = unique_suffix()
    result = run_client(
        client_python(request, client), SCRIPTS / "parity_calls.py",
        env=live_hub.client_env(work / "home", compat_users.alice_token),
        config={"owner": compat_users.alice, "bob": compat_users.bob, "bob_token": compat_users.bob_token,
                "suffix": suffix, "work": str(work)},
        work=work, timeout=240,
    )
    result.update(client=client, owner=compat_users.alice, suffix=suffix)
    return result


def test_setup(calls):
    no_errors(calls, "setup")


def test_ids_without_namespace_do_not_exist(calls):
    no_errors(calls, "exists")
    assert calls["out"]["exists"] == {
        "namespaceless_repo": False, "namespaceless_dataset": False, "namespaceless_file": False,
        "missing_repo": False, "repo": True, "file": True, "missing_file": False,
    }


def test_error_messages_name_the_request_id(calls, live_hub):
    no_errors(calls, "request_id")
    got = calls["out"]["request_id"]
    assert got["header"] and len(got["header"]) == 32
    assert got["header"] in got["message"]
    # ... and the operator finds that request in the access log by it.
    deadline = time.monotonic() + 10
    while f"rid={got['header']}" not in live_hub.log_path.read_text(errors="replace"):
        assert time.monotonic() < deadline, "the request id is not in the access log"
        time.sleep(0.05)


def test_folders_are_deleted_with_or_without_the_trailing_slash(calls):
    no_errors(calls, "delete_folder")
    assert calls["out"]["after_folder_deletes"] == []


def test_tag_on_a_missing_revision_is_revision_not_found(calls):
    raised = calls["out"]["raised"]
    assert raised["tag_on_missing_revision"]["is"] == ["RevisionNotFoundError"]
    assert raised["tag_on_missing_revision"]["status"] == 404
    assert raised["tag_invalid_name"]["status"] == 400


def test_accepting_an_accepted_request_is_refused(calls):
    no_errors(calls, "access_setup", "accept_accepted_message")
    assert calls["out"]["ask_access_status"] == 200
    assert calls["out"]["raised"]["accept_accepted"]["status"] == 400
    assert "already accepted" in calls["out"]["accept_accepted_message"]


def test_repo_ids_are_case_insensitive(calls):
    no_errors(calls, "case_insensitive")
    got = calls["out"]["case_insensitive"]
    assert got["info_id"] == got_model(calls)
    assert got == {"commit_url_names_canonical_id": True, "info_id": got_model(calls), "download": "case\n",
                   "exists": True, "file_exists": True}
    assert calls["out"]["raised"]["create_other_case"]["status"] == 409


def test_list_models_full_has_siblings(calls):
    no_errors(calls, "list_full_siblings")
    assert calls["out"]["list_full_siblings"] == [".gitattributes", "case.txt", "config.json"]


def test_card_metadata_is_validated_like_the_hub(calls):
    no_errors(calls, "card_license", "card_model_index", "card_empty")
    out = calls["out"]
    assert out["card_license"].startswith("Invalid metadata in README.md.") and '"license"' in out["card_license"]
    assert "asdf" in out["card_license"]
    assert out["card_model_index"].startswith("Invalid metadata in README.md.")
    assert '"model-index" must be an array' in out["card_model_index"]
    [warning] = out["card_empty_warnings"]
    assert "Empty or missing yaml metadata in repo card" in warning


def test_likes(calls):
    no_errors(calls, "likes")
    model, owner, suffix = got_model(calls), calls["owner"], calls["suffix"]
    liked = f"{owner}/liked-{suffix}"
    got = calls["out"]["likes"]
    assert {k: got[k] for k in ("likers", "count_before", "count_after", "listed")} == {
        "likers": sorted([owner, "compat-bob"]), "count_before": 2, "count_after": 1, "listed": {model: 1, liked: 1}}
    # bob's likes of this run (the other client's run adds its own).
    assert {model, liked} <= set(got["bob_likes"])
    # Both have one like now; "Most likes" puts them ahead of every repo without one.
    assert set(calls["out"]["likes"]["sorted"][:2]) == {model, liked}


def test_downloads_count_full_gets_of_the_config(calls):
    no_errors(calls, "downloads")
    got = calls["out"]["downloads"]
    assert got["after"] == got["before"] + 1
    assert got["listed"] == {got_model(calls): got["after"]}


def test_lfs_files_are_listed_and_deleted(calls):
    no_errors(calls, "lfs_files")
    out = calls["out"]
    assert out["lfs_files"] == [["ckpt/old.bin", 4096], ["weights.bin", 2048]]
    assert out["lfs_files_after"] == ["weights.bin"]
    assert out["raised"]["lfs_deleted_download"]["is"] == ["EntryNotFoundError"]
    assert out["raised"]["lfs_files_by_reader"]["status"] == 403  # readers see the repo, not its storage


def test_user_repos_and_overviews(calls):
    no_errors(calls, "user_repos", "overviews")
    out, owner, suffix = calls["out"], calls["owner"], calls["suffix"]
    if calls["client"] == "new":  # list_user_repos is newer than 0.x
        assert out["user_repos"] == sorted(f"{owner}/{kind}-{suffix}" for kind in
                                           ("parity", "gated", "liked", "lfs"))
    overview = out["user_overview"]
    assert overview["username"] == owner and overview["models"] >= 4
    assert overview["likes"] == 0 and overview["bob_likes"] >= 2  # alice unliked hers, bob likes two
    assert out["org_overview"] == {"name": f"org-{suffix}", "users": 1, "models": 1}


def got_model(calls) -> str:
    return f"{calls['owner']}/parity-{calls['suffix']}"
