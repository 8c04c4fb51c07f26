"""Every ingest path ends in a scan by the real Celery worker, and the verdicts reach the real
`huggingface_hub` client: `get_paths_info(expand=True)` / `list_repo_tree(expand=True)`
(`RepoFile.security`) and `model_info(securityStatus=True)` (`security_repo_status`).

Paths: the commit API through `huggingface_hub` (small pickles as regular files, the rest
uploaded over LFS), and `git push` with real git and git-lfs. The browser upload form is
covered in-process by tests/safety/test_scan_ingest.py.
"""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.repos.git_client import client_git_env, provision, remote_url, requires_git_lfs, run_git, unique
from tests.safety.model_files import benign_files, hostile_files

pytestmark = [pytest.mark.live, pytest.mark.worker]

# Waits (bounded) until the worker has judged every file, then reports what the client parses.
CHECK = """
import json, sys, time
from huggingface_hub import HfApi
api = HfApi()
repo = sys.argv[1]
deadline = time.monotonic() + 120
while True:
    status = api.model_info(repo, securityStatus=True).security_repo_status
    if status["scansDone"] or time.monotonic() > deadline:
        break
    time.sleep(0.2)
paths = [f.path for f in api.list_repo_tree(repo, recursive=True) if hasattr(f, "blob_id")]
tree = {f.path: dict(f.security) if f.security else None
        for f in api.list_repo_tree(repo, recursive=True, expand=True) if hasattr(f, "blob_id")}
info = {f.path: {"safe": f.security["safe"], "status": f.security["status"],
                 "imports": (f.security["pickle_import_scan"] or {}).get("imports")}
        for f in api.get_paths_info(repo, paths, expand=True)}
print("RESULT=" + json.dumps({"repo": status, "tree": tree, "info": info}))
"""

UPLOAD = """
import sys
from huggingface_hub import HfApi
api = HfApi()
repo, folder = sys.argv[1:3]
api.create_repo(repo)
api.upload_folder(repo_id=repo, folder_path=folder, commit_message="corpus")
print("RESULT={}")
"""


def run_client(live_hub, home: Path, token: str, script: str, *args: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(script), *args],
                          env=live_hub.client_env(home, token), capture_output=True, text=True, timeout=300)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT=")]
    assert proc.returncode == 0 and lines, f"{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    return json.loads(lines[-1][len("RESULT="):])


def write_corpus(folder: Path, files: dict[str, bytes]) -> None:
    for path, data in files.items():
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def assert_verdicts(result: dict, hostile: dict[str, bytes], benign: dict[str, bytes]) -> None:
    assert result["repo"]["scansDone"] is True, result["repo"]
    flagged = {item["path"]: item["level"] for item in result["repo"]["filesWithIssues"]}
    assert flagged == dict.fromkeys(hostile, "unsafe")
    for path in hostile:
        assert result["info"][path]["status"] == "unsafe" and result["info"][path]["safe"] is False, path
        assert any(i["safety"] == "dangerous" for i in result["info"][path]["imports"]), path
        assert result["tree"][path]["status"] == "unsafe", path
    for path in benign:
        assert result["info"][path] == {"safe": True, "status": "safe", "imports": result["info"][path]["imports"]}
        assert all(i["safety"] == "innocuous" for i in result["info"][path]["imports"] or ()), path


def test_api_commit_and_lfs_upload_are_scanned(live_hub, live_worker, tmp_path: Path):
    token = live_hub.create_user("scan_api")
    hostile, benign = hostile_files(str(tmp_path / "canary")), benign_files()
    folder = tmp_path / "corpus"
    write_corpus(folder, hostile | benign)
    repo = f"scan_api/{unique('corpus')}"
    run_client(live_hub, tmp_path / "home", token, UPLOAD, repo, str(folder))

    result = run_client(live_hub, tmp_path / "home", token, CHECK, repo)

    assert_verdicts(result, hostile, benign)
    assert not (tmp_path / "canary").exists()


@requires_git_lfs
def test_git_push_with_lfs_is_scanned(live_hub, live_worker, tmp_path: Path):
    git_env = client_git_env(tmp_path / "git-home")
    hub = provision(live_hub, users=["scan_git"], repos=[("scan_git", unique("pushed"), False, "model")])
    token, [repo] = hub.tokens["scan_git"], list(hub.repos.values())
    clone = tmp_path / "clone"
    run_git("clone", "-q", remote_url(live_hub, repo, token), str(clone), env=git_env)
    hostile, benign = hostile_files(str(tmp_path / "canary")), benign_files()
    write_corpus(clone, hostile | benign)
    run_git("add", "-A", cwd=clone, env=git_env)
    run_git("commit", "-q", "-m", "corpus", cwd=clone, env=git_env)
    run_git("push", "-q", "origin", "main", cwd=clone, env=git_env)
    lfs_files = run_git("lfs", "ls-files", "-n", cwd=clone, env=git_env).stdout.split()
    assert "pytorch_model.bin" in lfs_files and "weights.dat" not in lfs_files  # both kinds pushed

    result = run_client(live_hub, tmp_path / "home", token, CHECK, repo.repo_id)

    assert_verdicts(result, hostile, benign)


BLOCK = """
from safety.services import safety_settings_update
for r in spec["repos"]:
    ns, name = r["id"].split("/")
    safety_settings_update(repo=Repository.objects.get(namespace=ns, name=name), block_unsafe_files=True)
"""

UPLOAD_REFUSED = """
import sys
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError
api = HfApi()
repo, evil, fine = sys.argv[1:4]
try:
    api.upload_file(path_or_fileobj=evil, path_in_repo="evil.pt", repo_id=repo)
    out = {"refused": False}
except HfHubHTTPError as exc:
    out = {"refused": True, "status": exc.response.status_code, "message": str(exc),
           "server_message": exc.server_message}
api.upload_file(path_or_fileobj=fine, path_in_repo="pytorch_model.bin", repo_id=repo)
out["files"] = sorted(api.list_repo_files(repo))
import json
print("RESULT=" + json.dumps(out))
"""


@requires_git_lfs
def test_blocking_repository_refuses_pushes_and_commits(live_hub, tmp_path: Path):
    hub = provision(live_hub, users=["scan_block"], repos=[("scan_block", unique("strict"), False, "model")],
                    extra=BLOCK)
    token, [repo] = hub.tokens["scan_block"], list(hub.repos.values())
    hostile, benign = hostile_files(str(tmp_path / "canary")), benign_files()

    git_env = client_git_env(tmp_path / "git-home")
    clone = tmp_path / "clone"
    run_git("clone", "-q", remote_url(live_hub, repo, token), str(clone), env=git_env)
    write_corpus(clone, {"README.md": b"# strict\n", "nested.pkl": hostile["nested.pkl"],
                         "weights.dat": hostile["weights.dat"]})
    run_git("add", "-A", cwd=clone, env=git_env)
    run_git("commit", "-q", "-m", "evil", cwd=clone, env=git_env)
    push = run_git("push", "origin", "main", cwd=clone, env=git_env, check=False)
    assert push.returncode != 0
    assert "model-file scanner does not judge safe" in push.stderr, push.stderr
    assert "nested.pkl" in push.stderr and "weights.dat" in push.stderr and "README.md" not in push.stderr

    (tmp_path / "evil.pt").write_bytes(hostile["torch_evil.pt"])
    (tmp_path / "fine.bin").write_bytes(benign["pytorch_model.bin"])
    out = run_client(live_hub, tmp_path / "home", token, UPLOAD_REFUSED, repo.repo_id, str(tmp_path / "evil.pt"),
                     str(tmp_path / "fine.bin"))
    assert out["refused"] and out["status"] == 400, out
    assert "model-file scanner does not judge safe" in out["server_message"] and "evil.pt" in out["server_message"]
    assert "pytorch_model.bin" in out["files"] and "evil.pt" not in out["files"]
