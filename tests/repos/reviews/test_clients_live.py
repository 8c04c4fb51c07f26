"""The real huggingface_hub clients (newest and 0.x) and the `hf discussions` CLI against a live
hub: every community method with the Hub's results and error classes; and git: a PR's ref is
fetchable, its author pushes to it (a commit event on its timeline), a stranger can push
neither to someone else's PR ref nor to main."""
# ruff: noqa: F811 - fixtures imported from the compat and git suites are used as arguments
from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.compat.conftest import CLIENTS, client_python, compat_users, no_errors, run_client, unique_suffix  # noqa: F401
from tests.repos.git_client import (  # noqa: F401
    provision,
    remote_url,
    requires_git,
    run_git,
    server_refs,
    unique,
)

pytestmark = pytest.mark.live
SCRIPT = Path(__file__).resolve().parent / "scripts" / "discussions_client.py"


@pytest.fixture(scope="module", params=CLIENTS)
def community(request, live_hub, compat_users, tmp_path_factory):
    client = request.param
    work = tmp_path_factory.mktemp(f"community-{client}")
    result = run_client(client_python(request, client), SCRIPT,
                        env=live_hub.client_env(work / "home", compat_users.alice_token),
                        config={"owner": compat_users.alice, "bob_token": compat_users.bob_token,
                                "suffix": unique_suffix()}, work=work, timeout=240)
    result["client"] = client
    return result


def test_no_client_errors(community):
    no_errors(community)


def test_create_discussion_and_pull_requests(community, compat_users):
    out = community["out"]
    d = out["discussion"]
    assert d["num"] == 1 and d["is_pr"] is False and d["status"] == "open" and d["author"] == compat_users.bob
    assert d["events"] == [{"type": "comment", "author": compat_users.bob, "content": f"Hello @{compat_users.alice}",
                            "edited": False, "hidden": False}]
    assert d["same_on_refetch"] is True and d["url_tail"][-2:] == ["discussions", "1"] and d["git_reference"] is None
    assert out["draft_pr"] == {"num": 2, "status": "draft", "ref": "refs/pr/2", "target": "refs/heads/main",
                               "conflicts": [], "merge_commit": None, "ref_exists": True}
    assert out["commit_pr"] == {"url_tail": ["discussions", "3"], "revision": "refs/pr/3"}


def test_list_filters(community):
    assert community["out"]["lists"] == {"all": [3, 2, 1], "pull_request": [3, 2], "discussion": [1],
                                         "open": [3, 2, 1], "closed": [], "by_bob": [3, 2, 1], "by_owner": []}


def test_pull_request_details(community, compat_users):
    pr = community["out"]["pr_details"]
    assert pr["types"] == ["comment", "commit", "commit"] and pr["target"] == "refs/heads/main"
    assert pr["conflicts"] == [] and pr["merge_commit"] is None and pr["diff_has_file"] is True
    assert [c["summary"] for c in pr["commit"]] == ["Add more", "Add weights"]
    assert {c["author"] for c in pr["commit"]} == {compat_users.bob}


def test_comments_edit_hide_rename_status(community):
    c = community["out"]["comments"]
    assert c["comment"]["content"] == "A **reply**" and c["comment"]["edited"] is False
    assert c["edited"]["content"] == "An edited reply" and c["edited"]["edited"] is True
    assert c["hidden"]["hidden"] is True
    assert (c["renamed"]["old_title"], c["renamed"]["new_title"]) == ("Test Discussion", "New title")
    assert c["closed"]["new_status"] == "closed" and c["reopened"]["new_status"] == "open"
    assert c["title"] == "New title"


def test_error_classes(community):
    raised = community["out"]["raised"]
    assert raised["merge_by_non_writer"]["status"] == 403 and "HfHubHTTPError" in raised["merge_by_non_writer"]["is"]
    for name in ("private_repo_discussions", "private_repo_details"):
        assert raised[name]["class"] == "RepositoryNotFoundError", raised[name]
    assert raised["missing_discussion"]["status"] == 404
    assert raised["missing_discussion"]["class"] not in ("RepositoryNotFoundError", None)
    assert raised["edit_someone_elses_comment"]["status"] == 403
    assert raised["missing_comment"]["status"] == 404


def test_merge(community):
    m = community["out"]["merged"]
    assert m["status"] == "merged" and m["merge_commit"] == m["main_sha"]
    assert "more.txt" in m["files"] and m["pr_ref_kept"] is True
    assert "weights.bin" in m["files"] and community["out"]["pr_lfs"] is True
    assert m["last_event"] == {"type": "status-change", "author": m["last_event"]["author"], "new_status": "merged"}


def test_hf_discussions_cli(live_hub, compat_users, tmp_path):
    hf = Path(sys.executable).parent / "hf"
    env = live_hub.client_env(tmp_path / "home", compat_users.alice_token)
    repo = f"{compat_users.alice}/cli-disc-{unique_suffix()}"

    def run(*args: str) -> str:
        proc = subprocess.run([str(hf), *args], env=env, capture_output=True, text=True, timeout=90)
        assert proc.returncode == 0, f"hf {' '.join(args)}:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
        return proc.stdout

    run("repos", "create", repo)
    assert "#1" in run("discussions", "create", repo, "--title", "From the CLI", "--body", "Body text")
    assert "#2" in run("discussions", "create", repo, "--title", "A CLI pull request", "--pr")
    listing = run("discussions", "list", repo, "--status", "all", "--format", "json")
    assert sorted(item["num"] for item in json.loads(listing)) == [1, 2]
    run("discussions", "comment", repo, "1", "--body", "A CLI comment")
    info = json.loads(run("discussions", "info", repo, "1", "--format", "json"))
    assert info["title"] == "From the CLI" and [e["type"] for e in info["events"]] == ["comment", "comment"]
    comment_id = info["events"][1]["id"]
    run("discussions", "edit", repo, "1", comment_id, "--body", "Edited from the CLI")
    run("discussions", "rename", repo, "1", "Renamed from the CLI")
    run("discussions", "close", repo, "1", "--yes")
    run("discussions", "reopen", repo, "1", "--yes")
    run("discussions", "reopen", repo, "2", "--yes")  # the draft PR becomes open
    assert run("discussions", "diff", repo, "2").strip() in ("", "No diff available.")  # an empty draft
    run("discussions", "merge", repo, "2", "--yes")
    final = json.loads(run("discussions", "info", repo, "2", "--format", "json"))
    assert final["status"] == "merged"
    first = json.loads(run("discussions", "info", repo, "1", "--format", "json"))
    assert first["title"] == "Renamed from the CLI" and first["status"] == "open"


def _api(live_hub, token: str, method: str, path: str, body: dict | None = None) -> dict:
    req = urllib.request.Request(f"{live_hub.url}{path}", method=method,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as response:
        return json.loads(response.read() or b"{}")


@requires_git
def test_git_fetch_and_push_of_pull_request_refs(live_hub, git_env, tmp_path):
    name = unique("prgit")
    hub = provision(live_hub, users=["rv_alice", "rv_bob", "rv_carol"], repos=[("rv_alice", name, False, "model")])
    repo = hub.repos[f"rv_alice/{name}"]
    bob, carol = hub.tokens["rv_bob"], hub.tokens["rv_carol"]
    num = _api(live_hub, bob, "POST", f"/api/models/rv_alice/{name}/discussions",
               {"title": "Bob's proposal", "pullRequest": True})["num"]
    assert num == 1

    def clone(token: str, where: str) -> Path:
        path = tmp_path / where
        run_git("clone", "-q", remote_url(live_hub, repo, token), str(path), env=git_env)
        return path

    # The author fetches the PR ref, commits and pushes to it.
    bob_dir = clone(bob, "bob")
    run_git("fetch", "-q", "origin", "refs/pr/1", cwd=bob_dir, env=git_env)
    run_git("checkout", "-q", "FETCH_HEAD", cwd=bob_dir, env=git_env)
    (bob_dir / "proposal.txt").write_text("please merge\n")
    run_git("add", "proposal.txt", cwd=bob_dir, env=git_env)
    run_git("commit", "-q", "-m", "Pushed with git", cwd=bob_dir, env=git_env)
    sha = run_git("rev-parse", "HEAD", cwd=bob_dir, env=git_env).stdout.strip()
    run_git("push", "-q", "origin", "HEAD:refs/pr/1", cwd=bob_dir, env=git_env)
    assert server_refs(repo)["refs/pr/1"] == sha
    # The push reached the PR's timeline through the event door.
    deadline = time.monotonic() + 10
    while True:
        details = _api(live_hub, bob, "GET", f"/api/models/rv_alice/{name}/discussions/1")
        commits = [e for e in details["events"] if e["type"] == "commit"]
        if commits or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert commits and commits[0]["data"] == {"subject": "Pushed with git", "oid": sha}

    # A stranger may fetch it, but push neither to bob's PR nor to main.
    carol_dir = clone(carol, "carol")
    run_git("fetch", "-q", "origin", "refs/pr/1", cwd=carol_dir, env=git_env)
    run_git("checkout", "-q", "FETCH_HEAD", cwd=carol_dir, env=git_env)
    (carol_dir / "sneaky.txt").write_text("x\n")
    run_git("add", "sneaky.txt", cwd=carol_dir, env=git_env)
    run_git("commit", "-q", "-m", "sneaky", cwd=carol_dir, env=git_env)
    before = server_refs(repo)
    refused = run_git("push", "origin", "HEAD:refs/pr/1", cwd=carol_dir, env=git_env, check=False)
    assert refused.returncode != 0 and "Only the author of pull request #1" in refused.stderr
    refused = run_git("push", "origin", "HEAD:refs/heads/main", cwd=carol_dir, env=git_env, check=False)
    assert refused.returncode != 0 and "You don't have write access" in refused.stderr
    assert server_refs(repo) == before
