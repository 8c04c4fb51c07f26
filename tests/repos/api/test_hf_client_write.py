"""The real huggingface_hub 2.4 client against a live hub: the write side of the API.

Client code runs in subprocesses (HF_ENDPOINT / HF_HUB_DISABLE_XET must be set before
huggingface_hub is imported), each bounded by a timeout. Every script prints one JSON object
that the test asserts on.
"""
from __future__ import annotations

import hashlib
import http.client
import json
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.live

PRELUDE = """
import hashlib, json, os, sys
from huggingface_hub import (HfApi, CommitOperationAdd, CommitOperationCopy, CommitOperationDelete,
                             hf_hub_download)
from huggingface_hub.errors import (EntryNotFoundError, HfHubHTTPError, RepositoryNotFoundError,
                                    RevisionNotFoundError)
api = HfApi()
out = {}
"""


def run_client(live_hub, tmp_path: Path, token: str, script: str, timeout: float = 180) -> dict:
    home = tmp_path / f"hf-home-{uuid.uuid4().hex[:6]}"
    home.mkdir()
    code = PRELUDE + textwrap.dedent(script) + "\nprint('RESULT=' + json.dumps(out))\n"
    proc = subprocess.run([sys.executable, "-c", code], env=live_hub.client_env(home, token), cwd=tmp_path,
                          capture_output=True, text=True, timeout=timeout)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT=")]
    if proc.returncode != 0 or not lines:
        log = live_hub.log_path.read_text(errors="replace")[-3000:] if live_hub.log_path else ""
        pytest.fail(f"client failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}\n"
                    f"--- server log ---\n{log}")
    return json.loads(lines[-1][len("RESULT="):])


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _has_lfs_batch_route() -> bool:
    from django.urls import Resolver404, resolve

    try:
        match = resolve("/alice/x.git/info/lfs/objects/batch")
    except Resolver404:
        return False
    return getattr(match.func, "__module__", "") == "repos.transport.lfs_http"


def test_create_repos_and_exist_ok(live_hub, tmp_path):
    token = live_hub.create_user("alice")
    name, ds = unique("model"), unique("data")
    out = run_client(live_hub, tmp_path, token, f"""
        url = api.create_repo("alice/{name}")
        out["url"] = str(url)
        out["repo_id"] = url.repo_id
        out["private_url"] = str(api.create_repo("alice/{name}-p", private=True))
        out["dataset_url"] = str(api.create_repo("alice/{ds}", repo_type="dataset"))
        out["again"] = str(api.create_repo("alice/{name}", exist_ok=True))
        try:
            api.create_repo("alice/{name}")
        except HfHubHTTPError as e:
            out["conflict"] = e.response.status_code
        out["private"] = api.repo_info("alice/{name}-p").private
        out["public"] = api.repo_info("alice/{name}").private
        commits = api.list_repo_commits("alice/{name}")
        out["titles"] = [c.title for c in commits]
        out["files"] = api.list_repo_files("alice/{ds}", repo_type="dataset")
    """)
    assert out["url"] == f"{live_hub.url}/alice/{name}" and out["repo_id"] == f"alice/{name}"
    assert out["dataset_url"] == f"{live_hub.url}/datasets/alice/{ds}"
    assert out["again"] == out["url"] and out["conflict"] == 409
    assert out["private"] is True and out["public"] is False
    assert out["titles"] == ["initial commit"] and out["files"] == [".gitattributes"]


def test_upload_delete_copy_and_conflicts(live_hub, tmp_path):
    token = live_hub.create_user("alice")
    repo_id = f"alice/{unique('files')}"
    out = run_client(live_hub, tmp_path, token, f"""
        repo_id = "{repo_id}"
        api.create_repo(repo_id)
        first = api.upload_file(path_or_fileobj=b'{{"model_type": "bert"}}\\n', path_in_repo="config.json",
                                repo_id=repo_id)
        out["oid"] = first.oid
        out["commit_url"] = first.commit_url
        readme = "---\\nlicense: mit\\n---\\n# Tiny\\n"
        api.upload_file(path_or_fileobj=readme.encode(), path_in_repo="README.md", repo_id=repo_id)
        api.upload_file(path_or_fileobj=b"old", path_in_repo="old/notes.txt", repo_id=repo_id)
        info = api.create_commit(repo_id, commit_message="reshuffle", operations=[
            CommitOperationDelete(path_in_repo="old/"),
            CommitOperationCopy(src_path_in_repo="config.json", path_in_repo="copies/config.json"),
        ])
        out["files"] = sorted(api.list_repo_files(repo_id))
        path = hf_hub_download(repo_id, "copies/config.json")
        out["copied"] = open(path).read()
        try:
            api.create_commit(repo_id, commit_message="stale", parent_commit=first.oid,
                              operations=[CommitOperationAdd("late.txt", b"late")])
        except HfHubHTTPError as e:
            out["stale"] = [e.response.status_code, e.response.headers.get("X-Error-Message")]
        try:
            api.delete_file("missing.txt", repo_id)
        except EntryNotFoundError as e:
            out["missing"] = str(e)
        try:
            api.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=repo_id, revision="nope")
        except RevisionNotFoundError:
            out["no_rev"] = True
        try:
            api.upload_file(path_or_fileobj=b"---\\nlicense: [mit\\n---\\n", path_in_repo="README.md",
                            repo_id=repo_id)
        except ValueError as e:
            out["bad_readme"] = str(e)
        out["head"] = api.list_repo_commits(repo_id)[0].commit_id
        out["reshuffle"] = info.oid
    """)
    assert out["commit_url"] == f"{live_hub.url}/{repo_id}/commit/{out['oid']}"
    assert out["files"] == [".gitattributes", "README.md", "config.json", "copies/config.json"]
    assert out["copied"] == '{"model_type": "bert"}\n'
    assert out["stale"][0] == 412 and "was updated since you opened this page" in out["stale"][1]
    assert "A file with this name doesn't exist" in out["missing"]
    assert out["no_rev"] is True
    assert "Invalid metadata in README.md" in out["bad_readme"]
    assert out["head"] == out["reshuffle"]  # none of the failed calls moved main


def test_upload_folder_honours_gitignore(live_hub, tmp_path):
    token = live_hub.create_user("alice")
    repo_id = f"alice/{unique('folder')}"
    folder = tmp_path / "folder"
    (folder / "sub").mkdir(parents=True)
    (folder / ".gitignore").write_text("*.log\n")
    (folder / "a.txt").write_text("a")
    (folder / "debug.log").write_text("noise")
    (folder / "sub" / "c.txt").write_text("c")
    out = run_client(live_hub, tmp_path, token, f"""
        api.create_repo("{repo_id}")
        api.upload_file(path_or_fileobj=b"stale", path_in_repo="stale.txt", repo_id="{repo_id}")
        api.upload_folder(folder_path="{folder}", repo_id="{repo_id}", delete_patterns=["stale.txt"])
        out["files"] = sorted(api.list_repo_files("{repo_id}"))
    """)
    assert out["files"] == [".gitattributes", ".gitignore", "a.txt", "sub/c.txt"]


def test_branches_tags_and_super_squash(live_hub, tmp_path):
    token = live_hub.create_user("alice")
    repo_id = f"alice/{unique('refs')}"
    out = run_client(live_hub, tmp_path, token, f"""
        repo_id = "{repo_id}"
        api.create_repo(repo_id)
        api.upload_file(path_or_fileobj=b"a", path_in_repo="a.txt", repo_id=repo_id)
        api.upload_file(path_or_fileobj=b"b", path_in_repo="b.txt", repo_id=repo_id)
        api.create_branch(repo_id, branch="dev")
        api.create_branch(repo_id, branch="dev", exist_ok=True)
        try:
            api.create_branch(repo_id, branch="dev")
        except HfHubHTTPError as e:
            out["branch_conflict"] = e.response.status_code
        api.create_branch(repo_id, branch="feature/x", revision="dev")
        api.upload_file(path_or_fileobj=b"c", path_in_repo="c.txt", repo_id=repo_id, revision="feature/x")
        api.create_tag(repo_id, tag="v1.0", tag_message="First release")
        api.create_tag(repo_id, tag="light", revision="feature/x")
        api.create_tag(repo_id, tag="v1.0", exist_ok=True)
        refs = api.list_repo_refs(repo_id)
        out["branches"] = sorted(b.name for b in refs.branches)
        out["tags"] = sorted(t.name for t in refs.tags)
        api.delete_tag(repo_id, tag="light")
        api.delete_branch(repo_id, branch="feature/x")
        try:
            api.delete_tag(repo_id, tag="light")
        except RevisionNotFoundError:
            out["tag_gone"] = True
        try:
            api.delete_branch(repo_id, branch="main")
        except HfHubHTTPError as e:
            out["keep_main"] = e.response.status_code
        api.super_squash_history(repo_id)
        out["main_commits"] = len(api.list_repo_commits(repo_id))
        out["dev_commits"] = len(api.list_repo_commits(repo_id, revision="dev"))
        out["files"] = sorted(api.list_repo_files(repo_id))
        refs = api.list_repo_refs(repo_id)
        out["after"] = [sorted(b.name for b in refs.branches), sorted(t.name for t in refs.tags)]
    """)
    assert out["branch_conflict"] == 409
    assert out["branches"] == ["dev", "feature/x", "main"] and out["tags"] == ["light", "v1.0"]
    assert out["tag_gone"] is True and out["keep_main"] == 403
    assert out["main_commits"] == 1 and out["dev_commits"] == 3
    assert out["files"] == [".gitattributes", "a.txt", "b.txt"]
    assert out["after"] == [["dev", "main"], ["v1.0"]]


def test_create_pr_flows(live_hub, tmp_path):
    token = live_hub.create_user("alice")
    bob = live_hub.create_user("bob")
    repo_id = f"alice/{unique('prs')}"
    out = run_client(live_hub, tmp_path, token, f"""
        repo_id = "{repo_id}"
        api.create_repo(repo_id)
        main_before = api.list_repo_commits(repo_id)[0].commit_id
        pr = api.create_commit(repo_id, commit_message="Add a proposal", create_pr=True,
                               operations=[CommitOperationAdd("proposal.txt", b"idea")])
        out["pr_url"] = pr.pr_url
        out["pr_num"] = pr.pr_num
        out["pr_revision"] = pr.pr_revision
        more = api.create_commit(repo_id, commit_message="More", revision=pr.pr_revision,
                                 operations=[CommitOperationAdd("more.txt", b"more")])
        refs = api.list_repo_refs(repo_id, include_pull_requests=True)
        out["pr_refs"] = {{r.ref: r.target_commit for r in refs.pull_requests}}
        out["more"] = more.oid
        out["main_same"] = api.list_repo_commits(repo_id)[0].commit_id == main_before
        out["pr_files"] = sorted(api.list_repo_files(repo_id, revision=pr.pr_revision))
    """)
    assert out["pr_url"] == f"{live_hub.url}/{repo_id}/discussions/1"
    assert out["pr_num"] == 1 and out["pr_revision"] == "refs/pr/1"
    assert out["pr_refs"] == {"refs/pr/1": out["more"]}
    assert out["main_same"] is True
    assert out["pr_files"] == [".gitattributes", "more.txt", "proposal.txt"]
    # A reader opens a PR on alice's repo but cannot push to main.
    out = run_client(live_hub, tmp_path, bob, f"""
        pr = api.upload_file(path_or_fileobj=b"fix", path_in_repo="fix.txt", repo_id="{repo_id}", create_pr=True)
        out["pr_num"] = pr.pr_num
        try:
            api.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id="{repo_id}")
        except HfHubHTTPError as e:
            out["direct"] = e.response.status_code
    """)
    assert out == {"pr_num": 2, "direct": 403}


def test_settings_move_and_delete(live_hub, tmp_path):
    token = live_hub.create_user("alice")
    name = unique("moving")
    out = run_client(live_hub, tmp_path, token, f"""
        api.create_repo("alice/{name}")
        api.update_repo_settings("alice/{name}", private=True, gated="auto")
        info = api.repo_info("alice/{name}")
        out["settings"] = [info.private, info.gated]
        api.move_repo("alice/{name}", "alice/{name}-new")
        out["moved"] = api.repo_info("alice/{name}-new").id
        api.delete_repo("alice/{name}-new")
        api.delete_repo("alice/{name}-new", missing_ok=True)
        try:
            api.delete_repo("alice/{name}-new")
        except RepositoryNotFoundError:
            out["gone"] = True
        try:
            api.repo_info("alice/{name}-new")
        except RepositoryNotFoundError:
            out["info_gone"] = True
    """)
    assert out["settings"] == [True, "auto"]
    assert out["moved"] == f"alice/{name}-new"
    assert out["gone"] is True and out["info_gone"] is True


@pytest.mark.skipif(not _has_lfs_batch_route(), reason="LFS batch endpoint not routed yet")
def test_lfs_uploads_round_trip(live_hub, tmp_path):
    token = live_hub.create_user("alice")
    repo_id = f"alice/{unique('lfs')}"
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(hashlib.sha256(b"seed").digest() * 70_000)  # ~2.2 MB, binary
    digest = hashlib.sha256(weights.read_bytes()).hexdigest()
    out = run_client(live_hub, tmp_path, token, f"""
        repo_id = "{repo_id}"
        api.create_repo(repo_id)
        api.upload_file(path_or_fileobj="{weights}", path_in_repo="model.safetensors", repo_id=repo_id)
        api.upload_file(path_or_fileobj="{weights}", path_in_repo="weights.custom", repo_id=repo_id)
        api.create_commit(repo_id, commit_message="copy", operations=[
            CommitOperationCopy(src_path_in_repo="model.safetensors", path_in_repo="copy.safetensors")])
        got = hf_hub_download(repo_id, "copy.safetensors")
        out["sha"] = hashlib.sha256(open(got, "rb").read()).hexdigest()
        attrs = open(hf_hub_download(repo_id, ".gitattributes")).read()
        out["rule"] = [line for line in attrs.splitlines() if line.startswith("weights.custom")]
        files = {{f.path: f for f in api.list_repo_tree(repo_id)}}
        out["lfs"] = files["weights.custom"].lfs.sha256 if files["weights.custom"].lfs else None
        pr = api.upload_file(path_or_fileobj="{weights}", path_in_repo="pr.safetensors", repo_id=repo_id,
                             create_pr=True)
        out["pr"] = pr.pr_revision
    """)
    assert out["sha"] == digest
    assert out["rule"] == ["weights.custom filter=lfs diff=lfs merge=lfs -text"]
    assert out["lfs"] == digest
    assert out["pr"] == "refs/pr/1"


def test_chunked_commit_body(live_hub, tmp_path):
    """A commit sent with Transfer-Encoding: chunked (no Content-Length) under gunicorn."""
    token = live_hub.create_user("alice")
    name = unique("chunked")
    run_client(live_hub, tmp_path, token, f'api.create_repo("alice/{name}")')
    lines = [
        {"key": "header", "value": {"summary": "chunked upload", "description": ""}},
        {"key": "file", "value": {"path": "c.txt", "content": "Y2h1bmtlZA==", "encoding": "base64"}},
    ]

    def body():
        for item in lines:
            yield json.dumps(item).encode() + b"\n"

    parts = urlsplit(live_hub.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.request("POST", f"/api/models/alice/{name}/commit/main", body=body(), encode_chunked=True,
                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"})
        response = conn.getresponse()
        payload = json.loads(response.read())
    finally:
        conn.close()
    assert response.status == 200, payload
    assert payload["commitUrl"].endswith(f"/alice/{name}/commit/{payload['commitOid']}")
    out = run_client(live_hub, tmp_path, token, f"""
        out["content"] = open(hf_hub_download("alice/{name}", "c.txt")).read()
        out["title"] = api.list_repo_commits("alice/{name}")[0].title
    """)
    assert out == {"content": "chunked", "title": "chunked upload"}
