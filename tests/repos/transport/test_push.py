"""git push over smart HTTP: branches, tags, deletions, atomic pushes, large (chunked) packs,
and what the rest of the hub (HF API, database index, HTML) sees afterwards."""
from __future__ import annotations

import json
import os
import urllib.request

import pytest

from tests.repos.git_client import provision, remote_url, requires_git, run_git, server_refs, unique

pytestmark = [pytest.mark.live, requires_git]

N = {key: unique(key) for key in ("push", "atomic", "big")}


@pytest.fixture(scope="module")
def hub(live_hub):
    return provision(live_hub, users=["gh_alice"], repos=[("gh_alice", name, False, "model") for name in N.values()])

README = """---
license: mit
tags:
- pushed-with-git
pipeline_tag: text-classification
---
# Pushed with git
"""


def api_get(live_hub, path: str, token: str | None = None):
    req = urllib.request.Request(f"{live_hub.url}{path}")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


def html_get(live_hub, path: str) -> str:
    with urllib.request.urlopen(f"{live_hub.url}{path}", timeout=30) as resp:
        return resp.read().decode()


def test_push_branches_tags_and_deletions_are_visible_everywhere(live_hub, hub, git_env, work):
    token, repo = hub.tokens["gh_alice"], hub.repos[f"gh_alice/{N['push']}"]
    clone = work / "clone"
    run_git("clone", "-q", remote_url(live_hub, repo, token), str(clone), env=git_env)

    (clone / "README.md").write_text(README)
    (clone / "config.json").write_text('{"model_type": "bert"}\n')
    run_git("add", "-A", cwd=clone, env=git_env)
    run_git("commit", "-q", "-m", "Add model card and config", cwd=clone, env=git_env)
    run_git("push", "-q", "origin", "main", cwd=clone, env=git_env)
    main_sha = run_git("rev-parse", "HEAD", cwd=clone, env=git_env).stdout.strip()

    run_git("checkout", "-q", "-b", "feature/x", cwd=clone, env=git_env)
    (clone / "extra.txt").write_text("extra\n")
    run_git("add", "extra.txt", cwd=clone, env=git_env)
    run_git("commit", "-q", "-m", "On a branch", cwd=clone, env=git_env)
    run_git("tag", "v1", main_sha, cwd=clone, env=git_env)
    run_git("tag", "-a", "v2", "-m", "annotated", cwd=clone, env=git_env)
    run_git("push", "-q", "origin", "feature/x", "v1", "v2", cwd=clone, env=git_env)
    run_git("push", "-q", "origin", "HEAD:refs/heads/doomed", cwd=clone, env=git_env)
    feature_sha = run_git("rev-parse", "HEAD", cwd=clone, env=git_env).stdout.strip()

    refs = server_refs(repo)
    assert refs["refs/heads/main"] == main_sha
    assert refs["refs/heads/feature/x"] == feature_sha
    assert refs["refs/tags/v1"] == main_sha
    assert run_git("--git-dir", str(repo.git_dir), "cat-file", "-t", "v2").stdout.strip() == "tag"

    run_git("push", "-q", "origin", "--delete", "doomed", cwd=clone, env=git_env)
    assert "refs/heads/doomed" not in server_refs(repo)

    # The HF API reads the same history and files...
    info = api_get(live_hub, f"/api/models/{repo.repo_id}")
    assert info["sha"] == main_sha
    assert info["cardData"]["license"] == "mit"
    assert "pushed-with-git" in info["tags"]
    assert {s["rfilename"] for s in info["siblings"]} == {".gitattributes", "README.md", "config.json"}
    commits = api_get(live_hub, f"/api/models/{repo.repo_id}/commits/main")
    history = run_git("rev-list", "main", cwd=clone, env=git_env).stdout.split()
    assert [c["id"] for c in commits] == history
    assert commits[0]["title"] == "Add model card and config"
    refs_json = api_get(live_hub, f"/api/models/{repo.repo_id}/refs")
    assert {b["name"] for b in refs_json["branches"]} == {"main", "feature/x"}
    assert {t["name"] for t in refs_json["tags"]} == {"v1", "v2"}
    with urllib.request.urlopen(f"{live_hub.url}/{repo.repo_id}/resolve/feature%2Fx/extra.txt", timeout=30) as resp:
        assert resp.read() == b"extra\n"
        assert resp.headers["X-Repo-Commit"] == feature_sha

    # ... and so does the web page.
    page = html_get(live_hub, f"/{repo.repo_id}/commits/main")
    assert "Add model card and config" in page


def test_atomic_push_is_all_or_nothing(live_hub, hub, git_env, work):
    token, repo = hub.tokens["gh_alice"], hub.repos[f"gh_alice/{N['atomic']}"]
    clone = work / "clone"
    run_git("clone", "-q", remote_url(live_hub, repo, token), str(clone), env=git_env)
    (clone / "a.txt").write_text("a\n")
    run_git("add", "a.txt", cwd=clone, env=git_env)
    run_git("commit", "-q", "-m", "a", cwd=clone, env=git_env)
    before = server_refs(repo)

    # One good ref and one the policy refuses: with --atomic nothing moves.
    res = run_git("push", "--atomic", "origin", "main", "HEAD:refs/convert/parquet", cwd=clone, env=git_env,
                  check=False)
    assert res.returncode != 0
    assert "refs/convert/" in res.stderr and "reserved" in res.stderr
    assert server_refs(repo) == before

    res = run_git("push", "--atomic", "origin", "main", "HEAD:refs/heads/side", cwd=clone, env=git_env)
    refs = server_refs(repo)
    assert refs["refs/heads/main"] == refs["refs/heads/side"] != before["refs/heads/main"]


def test_large_pack_is_streamed_chunked(live_hub, hub, git_env, work):
    """A >1 MiB pack makes git send a chunked request body (http.postBuffer)."""
    token, repo = hub.tokens["gh_alice"], hub.repos[f"gh_alice/{N['big']}"]
    clone = work / "clone"
    run_git("clone", "-q", remote_url(live_hub, repo, token), str(clone), env=git_env)
    # ~3 MB of incompressible *text* (hex): a regular file under the 10 MiB limit.
    (clone / "data.txt").write_text(os.urandom(1536 * 1024).hex())
    run_git("add", "data.txt", cwd=clone, env=git_env)
    run_git("commit", "-q", "-m", "big text", cwd=clone, env=git_env)
    trace = run_git("push", "origin", "main", cwd=clone, env={**git_env, "GIT_TRACE_CURL": "1",
                                                               "GIT_TRACE_CURL_NO_DATA": "1"})
    assert "Transfer-Encoding: chunked" in trace.stderr
    sha = run_git("rev-parse", "HEAD", cwd=clone, env=git_env).stdout.strip()
    assert server_refs(repo)["refs/heads/main"] == sha
    blob = run_git("rev-parse", "HEAD:data.txt", cwd=clone, env=git_env).stdout.strip()
    assert run_git("--git-dir", str(repo.git_dir), "cat-file", "-s", blob).stdout.strip() == str(3 * 1024 * 1024)
