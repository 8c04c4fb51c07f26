"""The real huggingface_hub client (and git) against a live hub: identity, private repos,
settings, gated access - as on the Hugging Face Hub."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import urllib.request
import uuid
from pathlib import Path

import pytest

from tests.live import require_tool

pytestmark = pytest.mark.live

PRELUDE = """
import json, os, sys, urllib.request
from huggingface_hub import HfApi, hf_hub_download
from huggingface_hub.errors import GatedRepoError, HfHubHTTPError, RepositoryNotFoundError
endpoint = os.environ["HF_ENDPOINT"]
out = {}
"""


def run_client(live_hub, tmp_path: Path, script: str, **tokens: str) -> dict:
    home = tmp_path / f"hf-home-{uuid.uuid4().hex[:6]}"
    home.mkdir()
    env = live_hub.client_env(home)
    env.update({f"TOKEN_{k.upper()}": v for k, v in tokens.items()})
    code = PRELUDE + textwrap.dedent(script) + "\nprint('RESULT=' + json.dumps(out))\n"
    proc = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=180)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT=")]
    if proc.returncode != 0 or not lines:
        log = live_hub.log_path.read_text(errors="replace")[-3000:] if live_hub.log_path else ""
        pytest.fail(f"client failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}\n"
                    f"--- server log ---\n{log}")
    return json.loads(lines[-1][len("RESULT="):])


def names(live_hub) -> tuple[str, str, str]:
    suffix = uuid.uuid4().hex[:6]
    owner, other = f"acc_own_{suffix}", f"acc_oth_{suffix}"
    return owner, other, f"{owner}/m-{suffix}"


def test_whoami_private_repos_and_settings(live_hub, tmp_path):
    owner, other, repo_id = names(live_hub)
    out = run_client(live_hub, tmp_path, """
        owner, other = HfApi(token=os.environ["TOKEN_OWNER"]), HfApi(token=os.environ["TOKEN_OTHER"])
        anon = HfApi(token=False)
        me = owner.whoami()
        out["whoami"] = [me["name"], me["type"], me["auth"]["accessToken"]["role"], me["orgs"]]
        repo_id = os.environ["TOKEN_REPO"]
        owner.create_repo(repo_id, private=True)
        out["owner_private"] = owner.model_info(repo_id).private
        for label, api in (("other", other), ("anon", anon)):
            try:
                api.model_info(repo_id)
                out[label] = "visible"
            except RepositoryNotFoundError:
                out[label] = "not found"
            out[label + "_exists"] = api.repo_exists(repo_id)
            out[label + "_listed"] = repo_id in [m.id for m in api.list_models(author=repo_id.split("/")[0])]
        out["owner_listed"] = repo_id in [m.id for m in owner.list_models(author=repo_id.split("/")[0])]
        try:
            other.update_repo_settings(repo_id, private=False)
            out["other_settings"] = "changed"
        except RepositoryNotFoundError:
            out["other_settings"] = "not found"
        owner.update_repo_settings(repo_id, private=False)
        out["public_now"] = [other.model_info(repo_id).private, other.repo_exists(repo_id)]
        try:
            other.update_repo_settings(repo_id, gated="manual")
            out["other_gated"] = "changed"
        except HfHubHTTPError as exc:
            out["other_gated"] = exc.response.status_code
        owner.update_repo_settings(repo_id, gated="auto")
        out["gated"] = other.model_info(repo_id).gated
    """, owner=live_hub.create_user(owner), other=live_hub.create_user(other), repo=repo_id)
    assert out["whoami"] == [owner, "user", "write", []]
    assert out["owner_private"] is True
    assert out["other"] == out["anon"] == "not found"
    assert out["other_exists"] is out["anon_exists"] is False
    assert out["other_listed"] is out["anon_listed"] is False and out["owner_listed"] is True
    assert out["other_settings"] == "not found"
    assert out["public_now"] == [False, True]
    assert out["other_gated"] == 403
    assert out["gated"] == "auto"


def test_gated_access_flow(live_hub, tmp_path):
    owner, other, repo_id = names(live_hub)
    out = run_client(live_hub, tmp_path, """
        owner, other = HfApi(token=os.environ["TOKEN_OWNER"]), HfApi(token=os.environ["TOKEN_OTHER"])
        repo_id = os.environ["TOKEN_REPO"]
        owner.create_repo(repo_id)
        owner.upload_file(path_or_fileobj=b'{"a": 1}', path_in_repo="config.json", repo_id=repo_id)
        owner.update_repo_settings(repo_id, gated="manual")

        def download(token):
            try:
                out.setdefault("n", 0)
                out["n"] += 1  # a fresh cache each time: nothing is served from a previous download
                hf_hub_download(repo_id, "config.json", token=token, cache_dir=os.path.join(os.getcwd(), str(out["n"])))
                return "ok"
            except GatedRepoError as exc:
                return f"gated {exc.response.status_code}"

        out["before"] = [download(os.environ["TOKEN_OTHER"]), download(False)]
        out["metadata"] = other.model_info(repo_id).gated
        out["exists"] = other.repo_exists(repo_id)
        ask = urllib.request.Request(
            f"{endpoint}/api/models/{repo_id}/ask-access", method="POST",
            data=json.dumps({"fields": {"reason": "research"}}).encode(),
            headers={"Authorization": "Bearer " + os.environ["TOKEN_OTHER"], "Content-Type": "application/json"})
        with urllib.request.urlopen(ask, timeout=30) as r:
            out["ask"] = json.loads(r.read())
        pending = list(owner.list_pending_access_requests(repo_id))
        out["pending"] = [(p.username, p.status, p.fields) for p in pending]
        out["still_gated"] = download(os.environ["TOKEN_OTHER"])
        owner.accept_access_request(repo_id, pending[0].username)
        out["accepted"] = [p.username for p in owner.list_accepted_access_requests(repo_id)]
        out["after"] = download(os.environ["TOKEN_OTHER"])
        owner.reject_access_request(repo_id, pending[0].username, rejection_reason="audit")
        out["rejected"] = [p.username for p in owner.list_rejected_access_requests(repo_id)]
        out["after_reject"] = download(os.environ["TOKEN_OTHER"])
        owner.grant_access(repo_id, pending[0].username)
        out["after_grant"] = download(os.environ["TOKEN_OTHER"])
    """, owner=live_hub.create_user(owner), other=live_hub.create_user(other), repo=repo_id)
    assert out["before"] == ["gated 403", "gated 401"]
    assert out["metadata"] == "manual" and out["exists"] is True
    assert out["ask"] == {"status": "pending"}
    assert out["pending"] == [[other, "pending", {"reason": "research"}]]
    assert out["still_gated"] == "gated 403"
    assert out["accepted"] == [other] and out["after"] == "ok"
    assert out["rejected"] == [other] and out["after_reject"] == "gated 403"
    assert out["after_grant"] == "ok"


def _git(*args: str, env: dict[str, str], cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=60)


def test_git_clone_of_gated_repo_and_push_audit(live_hub, tmp_path):
    require_tool("git")
    owner, other, repo_id = names(live_hub)
    owner_token, other_token = live_hub.create_user(owner), live_hub.create_user(other)
    run_client(live_hub, tmp_path, """
        owner = HfApi(token=os.environ["TOKEN_OWNER"])
        owner.create_repo(os.environ["TOKEN_REPO"])
        owner.update_repo_settings(os.environ["TOKEN_REPO"], gated="manual")
    """, owner=owner_token, repo=repo_id)
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "HOME": str(tmp_path), "GIT_CONFIG_NOSYSTEM": "1",
           "GIT_AUTHOR_NAME": "o", "GIT_AUTHOR_EMAIL": "o@x", "GIT_COMMITTER_NAME": "o", "GIT_COMMITTER_EMAIL": "o@x"}
    base = live_hub.url.replace("http://", "")
    refused = _git("clone", f"http://u:{other_token}@{base}/{repo_id}", str(tmp_path / "other"), env=env)
    assert refused.returncode != 0 and "restricted" in refused.stderr
    mine = tmp_path / "mine"
    assert _git("clone", f"http://u:{owner_token}@{base}/{repo_id}", str(mine), env=env).returncode == 0
    (mine / "notes.txt").write_text("hi\n")
    _git("add", "notes.txt", env=env, cwd=mine)
    _git("commit", "-qm", "notes", env=env, cwd=mine)
    pushed = _git("push", "origin", "HEAD:main", env=env, cwd=mine)
    assert pushed.returncode == 0, pushed.stderr
    request = urllib.request.Request(f"{live_hub.url}/api/models/{repo_id}/audit",
                                     headers={"Authorization": f"Bearer {owner_token}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        events = json.loads(response.read())
    pushes = [e for e in events if e["action"] == "repo.push"]
    assert len(pushes) == 1 and pushes[0]["actor"] == owner and pushes[0]["ip"] == "127.0.0.1"
    assert "refs/heads/main" in pushes[0]["data"]["refs"][0]
    assert owner_token not in json.dumps(events) and other_token not in json.dumps(events)
