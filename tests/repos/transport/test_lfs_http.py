"""Git LFS with the real git-lfs client, the batch API on the wire, and interoperability
with the HF API (/resolve/, huggingface_hub uploads)."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from tests.repos.git_client import provision, remote_url, requires_git_lfs, run_git, server_refs, unique

pytestmark = [pytest.mark.live, requires_git_lfs]

N = {key: unique(key) for key in ("lfs", "wire-a", "wire-b", "interop", "huge", "analyzed")}


@pytest.fixture(scope="module")
def hub(live_hub):
    return provision(live_hub, users=["gh_alice", "gh_bob"],
                     repos=[("gh_alice", name, key in ("lfs", "wire-b"), "model") for key, name in N.items()])

LFS_JSON = "application/vnd.git-lfs+json"


def http(method: str, url: str, *, body: bytes | None = None, token: str | None = None,
         headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def batch(live_hub, repo, payload: dict, token: str | None = None):
    status, headers, body = http("POST", f"{live_hub.url}/{repo.url_path}.git/info/lfs/objects/batch",
                                 body=json.dumps(payload).encode(), token=token,
                                 headers={"Content-Type": LFS_JSON, "Accept": LFS_JSON})
    return status, headers, json.loads(body)


def obj(data: bytes) -> dict:
    return {"oid": hashlib.sha256(data).hexdigest(), "size": len(data)}


def test_push_and_clone_with_lfs_and_resolve(live_hub, hub, git_env, work):
    token, repo = hub.tokens["gh_alice"], hub.repos[f"gh_alice/{N['lfs']}"]
    clone = work / "clone"
    run_git("clone", "-q", remote_url(live_hub, repo, token), str(clone), env=git_env)
    weights = os.urandom(3 * 1024 * 1024 + 7)
    (clone / "model.safetensors").write_bytes(weights)
    (clone / "sub").mkdir()
    (clone / "sub" / "opt.bin").write_bytes(b"\x00" * 5000)
    run_git("add", "-A", cwd=clone, env=git_env)
    run_git("commit", "-q", "-m", "weights", cwd=clone, env=git_env)
    push = run_git("push", "origin", "main", cwd=clone, env=git_env)
    assert "Remote \"origin\" does not support the Git LFS locking API" not in push.stderr
    head = run_git("rev-parse", "HEAD", cwd=clone, env=git_env).stdout.strip()
    assert server_refs(repo)["refs/heads/main"] == head
    # git stores the pointer; the store has the object under its sha256.
    pointer = run_git("--git-dir", str(repo.git_dir), "cat-file", "-p", "main:model.safetensors").stdout
    oid = hashlib.sha256(weights).hexdigest()
    assert f"oid sha256:{oid}" in pointer
    # The repository is private: the object is stored encrypted in the repository's own
    # enclave of the store, never in plaintext (tests/repos/objects/test_encryption_live.py).
    stored = live_hub.data_dir / "lfs" / "enc" / repo.git_dir.name.removesuffix(".git") / oid[:2] / oid[2:4] / oid
    assert stored.stat().st_size > len(weights) and weights[1000:1064] not in stored.read_bytes()
    assert not (live_hub.data_dir / "lfs" / oid[:2] / oid[2:4] / oid).exists()

    # A fresh clone smudges the pointers back into the files.
    fresh = work / "fresh"
    run_git("clone", "-q", remote_url(live_hub, repo, token), str(fresh), env=git_env)
    assert (fresh / "model.safetensors").read_bytes() == weights
    assert (fresh / "sub" / "opt.bin").read_bytes() == b"\x00" * 5000

    # The HF download path serves the same object.
    status, headers, body = http("GET", f"{live_hub.url}/{repo.repo_id}/resolve/main/model.safetensors",
                                 token=token)
    assert status == 200 and body == weights
    assert headers["X-Repo-Commit"] == head
    assert headers["ETag"].strip('"') == oid


def test_lfs_batch_protocol_on_the_wire(live_hub, hub):
    token, bob = hub.tokens["gh_alice"], hub.tokens["gh_bob"]
    repo, private = hub.repos[f"gh_alice/{N['wire-a']}"], hub.repos[f"gh_alice/{N['wire-b']}"]
    data = b"hello lfs " * 100
    o = obj(data)
    upload_req = {"operation": "upload", "transfers": ["basic", "multipart"], "objects": [o],
                  "ref": {"name": "refs/heads/main"}, "hash_algo": "sha256"}

    # Anonymous upload: asked to authenticate, the git-lfs way.
    status, headers, body = batch(live_hub, repo, upload_req)
    assert status == 401 and headers["LFS-Authenticate"].startswith("Basic")
    assert "message" in body
    # A user without write access...
    status, _, body = batch(live_hub, repo, upload_req, token=bob)
    assert status == 403
    # ... may still upload for a pull request (HF create_pr batches carry no ref).
    status, _, body = batch(live_hub, repo, {k: v for k, v in upload_req.items() if k != "ref"}, token=bob)
    assert status == 200 and "upload" in body["objects"][0]["actions"]
    # ... or for a PR ref (`upload_file(revision="refs/pr/N")` by a PR's author); the commit
    # that names the ref decides whether this caller may move it.
    status, _, body = batch(live_hub, repo, {**upload_req, "ref": {"name": "refs/pr/7"}}, token=bob)
    assert status == 200 and "upload" in body["objects"][0]["actions"]
    for ref in ("refs/heads/other", "refs/pr/x", "refs/pr/07", "refs/tags/v1"):
        assert batch(live_hub, repo, {**upload_req, "ref": {"name": ref}}, token=bob)[0] == 403, ref
    # Private repo, stranger: looks missing.
    status, headers, body = batch(live_hub, private, {**upload_req, "operation": "download"}, token=bob)
    assert status == 404 and headers["X-Error-Code"] == "RepoNotFound"

    # A client that speaks Xet (huggingface_hub 0.31-1.19) is told to use it (the Xet CAS).
    status, _, body = batch(live_hub, repo, {**upload_req, "transfers": ["basic", "xet"]}, token=token)
    assert status == 200 and body["transfer"] == "xet"
    status, headers, body = batch(live_hub, repo, upload_req, token=token)
    assert status == 200 and headers["Content-Type"] == LFS_JSON
    assert body["transfer"] == "basic"
    (entry,) = body["objects"]
    href = entry["actions"]["upload"]["href"]
    assert href.startswith(f"{live_hub.url}/lfs-upload/")
    verify = entry["actions"]["verify"]["href"]

    # Wrong bytes, a tampered signature, a size mismatch: refused, nothing stored.
    assert http("PUT", href, body=data[:-1] + b"!")[0] == 422
    assert http("PUT", href.replace("sig=", "sig=0"), body=data)[0] == 403
    assert http("PUT", href.replace(f"size={len(data)}", f"size={len(data) + 1}"), body=data + b"x")[0] == 403
    status, _, body = http("POST", verify, body=json.dumps(o).encode(), token=token)
    assert status == 404
    # The real upload (no credentials: the URL is the credential), then verify.
    assert http("PUT", href, body=data)[0] == 200
    assert http("POST", verify, body=json.dumps(o).encode(), token=token)[0] == 200
    assert http("POST", verify, body=json.dumps({**o, "size": 3}).encode(), token=token)[0] == 422

    # Now present: no action needed.
    status, _, body = batch(live_hub, repo, upload_req, token=token)
    assert "actions" not in body["objects"][0]

    # Download: a signed href that needs no credentials.
    down_req = {"operation": "download", "transfers": ["basic"], "objects": [o, obj(b"unknown")]}
    status, _, body = batch(live_hub, repo, down_req)
    assert status == 200
    found, missing = body["objects"]
    assert missing["error"]["code"] == 404
    status, headers, content = http("GET", found["actions"]["download"]["href"])
    assert status == 200 and content == data
    # The same object is not available through another repository (no proof of possession).
    status, _, body = batch(live_hub, private, down_req, token=token)
    assert body["objects"][0]["error"]["code"] == 404
    status, _, body = batch(live_hub, private, upload_req, token=token)
    assert "upload" in body["objects"][0]["actions"]
    # A token for repo A does not serve A's object under B's URL.
    tampered = found["actions"]["download"]["href"].replace(repo.repo_id, private.repo_id)
    assert http("GET", tampered)[0] == 401

    # Malformed requests.
    status, _, body = batch(live_hub, repo, {"operation": "upload", "objects": [{"oid": "../x", "size": 1}]},
                            token=token)
    assert status == 422
    status, _, _ = batch(live_hub, repo, {**upload_req, "hash_algo": "md5"}, token=token)
    assert status == 409

    # Locks: verify says "none", listing is empty, locking itself is not supported.
    base = f"{live_hub.url}/{repo.repo_id}.git/info/lfs/locks"
    status, _, body = http("POST", f"{base}/verify", body=b"{}", token=token, headers={"Content-Type": LFS_JSON})
    assert status == 200 and json.loads(body) == {"ours": [], "theirs": []}
    status, _, body = http("GET", base, token=token)
    assert status == 200 and json.loads(body) == {"locks": []}
    status, _, body = http("POST", base, body=b'{"path": "a"}', token=token, headers={"Content-Type": LFS_JSON})
    assert status == 501 and "not supported" in json.loads(body)["message"]


_HF_UPLOAD = """
import sys
import time
from huggingface_hub import HfApi, hf_hub_download
api = HfApi()
repo_id, mode = sys.argv[1], sys.argv[2]
if mode == "upload":
    api.upload_file(path_or_fileobj=bytes(range(256)) * 4096, path_in_repo="hf/weights.bin", repo_id=repo_id,
                    commit_message="from huggingface_hub")
else:
    path = hf_hub_download(repo_id, "model.safetensors")
    sys.stdout.write(open(path, "rb").read().hex()[:64])
"""


def test_huggingface_hub_and_git_lfs_share_objects(live_hub, hub, git_env, work, tmp_path):
    token, repo = hub.tokens["gh_alice"], hub.repos[f"gh_alice/{N['interop']}"]
    env = live_hub.client_env(tmp_path / "hf", token)

    # huggingface_hub uploads an LFS file (preupload, batch, signed PUT, commit) ...
    subprocess.run([sys.executable, "-c", _HF_UPLOAD, repo.repo_id, "upload"], env=env, check=True, timeout=120,
                   capture_output=True)
    clone = work / "clone"
    run_git("clone", "-q", remote_url(live_hub, repo, token), str(clone), env=git_env)
    # ... and git-lfs downloads it.
    assert (clone / "hf" / "weights.bin").read_bytes() == bytes(range(256)) * 4096

    # git-lfs uploads one, huggingface_hub downloads it.
    weights = os.urandom(4096)
    (clone / "model.safetensors").write_bytes(weights)
    run_git("add", "-A", cwd=clone, env=git_env)
    run_git("commit", "-q", "-m", "git weights", cwd=clone, env=git_env)
    run_git("push", "-q", "origin", "main", cwd=clone, env=git_env)
    out = subprocess.run([sys.executable, "-c", _HF_UPLOAD, repo.repo_id, "download"], env=env, check=True,
                         timeout=120, capture_output=True, text=True).stdout
    assert out == weights.hex()[:64]


def test_push_of_a_file_over_100_mb(live_hub, hub, git_env, work):
    """One large LFS object, streamed end to end (sparse file: fast to make and hash)."""
    token, repo = hub.tokens["gh_alice"], hub.repos[f"gh_alice/{N['huge']}"]
    clone = work / "clone"
    run_git("clone", "-q", remote_url(live_hub, repo, token), str(clone), env=git_env)
    size = 101 * 1024 * 1024 + 3
    big = clone / "big.bin"
    with open(big, "wb") as f:
        f.truncate(size)
        f.seek(size // 2)
        f.write(b"middle")
    digest = hashlib.sha256()
    with open(big, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    oid = digest.hexdigest()
    run_git("add", "big.bin", cwd=clone, env=git_env)
    run_git("commit", "-q", "-m", "big", cwd=clone, env=git_env)
    run_git("push", "-q", "origin", "main", cwd=clone, env=git_env, timeout=300)
    stored = live_hub.data_dir / "lfs" / oid[:2] / oid[2:4] / oid
    assert stored.stat().st_size == size
    status, headers, _ = http("HEAD", f"{live_hub.url}/{repo.repo_id}/resolve/main/big.bin")
    assert status == 200
    assert headers["X-Linked-Size"] == str(size)
    assert headers["ETag"].strip('"') == oid
    # Smudge through the LFS download action, streamed back.
    fresh = work / "fresh"
    run_git("clone", "-q", remote_url(live_hub, repo, token), str(fresh), env=git_env, timeout=300)
    assert (fresh / "big.bin").stat().st_size == size


@pytest.mark.worker
def test_pushed_weights_are_analyzed_by_the_worker(live_hub, live_worker, hub, git_env, work):
    """After a push to the default branch, the same background analysis as after an API commit
    runs (`_after_push` -> the Celery worker) and model_info reports the parameter counts."""
    import numpy as np
    from safetensors.numpy import save

    token, repo = hub.tokens["gh_alice"], hub.repos[f"gh_alice/{N['analyzed']}"]
    clone = work / "clone"
    run_git("clone", "-q", remote_url(live_hub, repo, token), str(clone), env=git_env)
    (clone / "model.safetensors").write_bytes(save({"w": np.zeros((3, 4), dtype=np.float32),
                                                     "b": np.zeros((5,), dtype=np.int64)}))
    run_git("add", "model.safetensors", cwd=clone, env=git_env)
    run_git("commit", "-q", "-m", "weights", cwd=clone, env=git_env)
    run_git("push", "-q", "origin", "main", cwd=clone, env=git_env)
    deadline = time.monotonic() + 60
    while True:
        status, _, body = http("GET", f"{live_hub.url}/api/models/{repo.repo_id}")
        info = json.loads(body)
        if info.get("safetensors") or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert info.get("safetensors") == {"parameters": {"F32": 12, "I64": 5}, "total": 17}, live_worker.log()[-2000:]
