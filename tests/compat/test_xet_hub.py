"""Real clients with hf_xet and Xet *enabled* (no HF_HUB_DISABLE_XET) against the hub's CAS.

One repository carries everything (XET.md §7.4): the newest huggingface_hub uploads a >10 MB
file, a folder and a pull request through Xet and reads them back (hf_hub_download,
snapshot_download, HfFileSystem ranges); `git clone` + `git lfs pull`, a client with
HF_HUB_DISABLE_XET=1 and the 0.x client (Xet negotiated through the LFS batch API) work on the
same repository. Dedup is measured on the bytes the CAS stored; transformers' push_to_hub goes
through Xet too. Each client process gets fresh HF_HOME / HF_XET_CACHE directories, so no cached
shard can hide a server bug.
"""
from __future__ import annotations

import hashlib
import json
import random
import re
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.compat.conftest import SCRIPTS, client_python, no_errors, run_client, unique_suffix
from tests.live import LiveHub, require_tool
from tests.repos.git_client import client_git_env, run_git

pytestmark = pytest.mark.live

BIG = 12_000_000  # > 10 MB, the size that failed with a 501 before the CAS existed


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def xet_env(live_hub: LiveHub, home: Path, token: str, *, xet: bool = True) -> dict[str, str]:
    env = live_hub.client_env(home, token)
    if xet:
        del env["HF_HUB_DISABLE_XET"]
    env["HF_XET_CACHE"] = str(home / "xet-cache")
    return env


def client(python: Path | str, live_hub: LiveHub, token: str, work: Path, config: dict[str, Any], *,
           xet: bool = True, script: str = "xet_client.py", timeout: float = 240) -> dict[str, Any]:
    work.mkdir(parents=True, exist_ok=True)
    env = xet_env(live_hub, work / "home", token, xet=xet)
    return run_client(python, SCRIPTS / script, env=env, config={**config, "work": str(work)}, work=work,
                      timeout=timeout)


def tree_xet_hashes(live_hub: LiveHub, repo: str, token: str) -> dict[str, str | None]:
    request = urllib.request.Request(f"{live_hub.url}/api/models/{repo}/tree/main?recursive=true",
                                     headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return {e["path"]: e.get("xetHash") for e in json.load(response) if e["type"] == "file"}


def log_lines(live_hub: LiveHub, start: int) -> list[str]:
    assert live_hub.log_path is not None
    return live_hub.log_path.read_text(errors="replace").splitlines()[start:]


def log_mark(live_hub: LiveHub) -> int:
    assert live_hub.log_path is not None
    return len(live_hub.log_path.read_text(errors="replace").splitlines())


@pytest.fixture(scope="module")
def xet_repo(live_hub, compat_users, tmp_path_factory) -> dict[str, Any]:
    """The newest client uploads a big file, a folder and a PR through Xet."""
    work = tmp_path_factory.mktemp("xet-upload")
    rng = random.Random(13)
    big, shard, note = rng.randbytes(BIG), rng.randbytes(2_000_000), b"a small text file\n"
    pr_file = rng.randbytes(1_500_000)
    (work / "big.bin").write_bytes(big)
    folder = work / "folder"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "shard.bin").write_bytes(shard)
    (folder / "note.txt").write_bytes(note)
    (work / "pr.bin").write_bytes(pr_file)
    repo = f"{compat_users.alice}/xet-{unique_suffix()}"
    mark = log_mark(live_hub)
    token = compat_users.alice_token
    first = client(sys.executable, live_hub, token, work / "c1",
                   {"op": "upload", "repo": repo, "create": True, "files": {"big.bin": str(work / "big.bin")}})
    second = client(sys.executable, live_hub, token, work / "c2",
                    {"op": "upload", "repo": repo, "folder": str(folder)})
    pr = client(sys.executable, live_hub, token, work / "c3",
                {"op": "upload", "repo": repo, "files": {"pr.bin": str(work / "pr.bin")}, "create_pr": True})
    return {"repo": repo, "work": work, "log": log_lines(live_hub, mark), "results": [first, second, pr],
            "sha": {"big.bin": sha(big), "sub/shard.bin": sha(shard), "note.txt": sha(note), "pr.bin": sha(pr_file)},
            "big": big}


def test_newest_client_uploads_through_xet(xet_repo) -> None:
    for result in xet_repo["results"]:
        no_errors(result)
    log = "\n".join(xet_repo["log"])
    assert re.search(r'"GET /api/models/\S+/xet-write-token/main HTTP[^"]*" 200', log)
    assert re.search(r'"GET /api/models/\S+/xet-write-token/None\?create_pr=1 HTTP[^"]*" 200', log)
    assert re.search(r'"POST /xet/v1/xorbs/default/[0-9a-f]{64} HTTP[^"]*" 200', log)
    assert re.search(r'"POST /xet/v1/shards HTTP[^"]*" 200', log)
    assert "/info/lfs/objects/batch" not in log  # >= 1.20 never asks the LFS batch API
    first, folder, pr = xet_repo["results"]
    assert first["out"]["xet_hashes"]["big.bin"] and folder["out"]["xet_hashes"]["sub/shard.bin"]
    assert pr["out"]["pr_revision"] == "refs/pr/1" and pr["out"]["xet_hashes"]["pr.bin"]


def test_newest_client_downloads_through_xet(live_hub, compat_users, xet_repo) -> None:
    mark = log_mark(live_hub)
    shas = xet_repo["sha"]
    result = client(sys.executable, live_hub, compat_users.bob_token, xet_repo["work"] / "d1", {
        "op": "download", "repo": xet_repo["repo"], "files": ["big.bin", "sub/shard.bin", "note.txt"],
        "range": ["big.bin", 5_000_003, 700_000]})
    no_errors(result)
    out = result["out"]
    assert out["hf_hub_download"] == {p: shas[p] for p in ("big.bin", "sub/shard.bin", "note.txt")}
    assert {p: out["snapshot"][p] for p in ("big.bin", "sub/shard.bin", "note.txt")} == \
        {p: shas[p] for p in ("big.bin", "sub/shard.bin", "note.txt")}
    assert out["range_sha256"] == sha(xet_repo["big"][5_000_003:5_700_003])
    log = "\n".join(log_lines(live_hub, mark))
    assert re.search(r'"GET /xet/v[12]/reconstructions/[0-9a-f]{64} HTTP[^"]*" 200', log)
    assert re.search(r'"GET /xet/v1/fetch/[0-9a-f]{64}\?\S+ HTTP[^"]*" 206', log)
    pr = client(sys.executable, live_hub, compat_users.bob_token, xet_repo["work"] / "d2",
                {"op": "download", "repo": xet_repo["repo"], "files": ["pr.bin"], "revision": "refs/pr/1"})
    no_errors(pr)
    assert pr["out"]["hf_hub_download"] == {"pr.bin": shas["pr.bin"]}


def test_git_clone_and_lfs_pull_return_the_same_bytes(live_hub, compat_users, xet_repo, tmp_path) -> None:
    require_tool("git-lfs")
    env = client_git_env(tmp_path / "home")
    url = live_hub.url.replace("://", f"://{compat_users.alice}:{compat_users.alice_token}@")
    work = tmp_path / "clone"
    run_git("clone", "-q", f"{url}/{xet_repo['repo']}", str(work), env={**env, "GIT_LFS_SKIP_SMUDGE": "1"})
    run_git("lfs", "pull", cwd=work, env=env)
    for path in ("big.bin", "sub/shard.bin", "note.txt"):
        assert sha((work / path).read_bytes()) == xet_repo["sha"][path], path


def test_client_without_xet_and_xet_client_share_the_repo(live_hub, compat_users, xet_repo) -> None:
    """HF_HUB_DISABLE_XET=1 reads Xet uploads over plain HTTP and uploads through LFS; the Xet
    client then reads that LFS object (no xetHash: plain download)."""
    work = xet_repo["work"] / "plain"
    work.mkdir()
    plain = random.Random(5).randbytes(400_000)
    (work / "plain.bin").write_bytes(plain)
    up = client(sys.executable, live_hub, compat_users.alice_token, work / "up",
                {"op": "upload", "repo": xet_repo["repo"], "files": {"plain.bin": str(work / "plain.bin")}}, xet=False)
    no_errors(up)
    assert up["out"]["xet_hashes"]["plain.bin"] is None
    down = client(sys.executable, live_hub, compat_users.bob_token, work / "down",
                  {"op": "download", "repo": xet_repo["repo"], "files": ["big.bin"]}, xet=False)
    no_errors(down)
    assert down["out"]["hf_hub_download"] == {"big.bin": xet_repo["sha"]["big.bin"]}
    xet_down = client(sys.executable, live_hub, compat_users.bob_token, work / "xet-down",
                      {"op": "download", "repo": xet_repo["repo"], "files": ["plain.bin"]})
    no_errors(xet_down)
    assert xet_down["out"]["hf_hub_download"] == {"plain.bin": sha(plain)}


@pytest.mark.hf0
def test_hf0_client_negotiates_xet_on_the_same_repo(request, live_hub, compat_users, xet_repo) -> None:
    python = client_python(request, "hf0")
    work = xet_repo["work"] / "hf0"
    work.mkdir()
    data = random.Random(6).randbytes(3_000_000)
    (work / "hf0.bin").write_bytes(data)
    mark = log_mark(live_hub)
    up = client(python, live_hub, compat_users.alice_token, work / "up",
                {"op": "upload", "repo": xet_repo["repo"], "files": {"hf0.bin": str(work / "hf0.bin")}})
    no_errors(up)
    assert up["out"]["client_version"].startswith("0.")
    log = "\n".join(log_lines(live_hub, mark))
    assert "/info/lfs/objects/batch" in log and re.search(r'"POST /xet/v1/shards HTTP[^"]*" 200', log)
    assert tree_xet_hashes(live_hub, xet_repo["repo"], compat_users.alice_token)["hf0.bin"]  # 0.x shows none
    down = client(python, live_hub, compat_users.bob_token, work / "down",
                  {"op": "download", "repo": xet_repo["repo"], "files": ["hf0.bin", "big.bin"],
                   "range": ["big.bin", 11_000_000, 500_000]})
    no_errors(down)
    assert down["out"]["hf_hub_download"] == {"hf0.bin": sha(data), "big.bin": xet_repo["sha"]["big.bin"]}
    assert down["out"]["range_sha256"] == sha(xet_repo["big"][11_000_000:11_500_000])


def stored_xorb_bytes(live_hub: LiveHub) -> dict[str, int]:
    root = live_hub.data_dir / "lfs" / "xet" / "xorbs"
    return {p.name: p.stat().st_size for p in root.rglob("*") if p.is_file()}


def test_reupload_of_a_modified_file_sends_only_the_changed_chunks(live_hub, compat_users, tmp_path) -> None:
    size = 8_000_000
    original = bytearray(random.Random(21).randbytes(size))
    modified = bytearray(original)
    modified[4_000_000:4_080_000] = random.Random(22).randbytes(80_000)  # 1 % of the file
    (tmp_path / "v1.bin").write_bytes(original)
    (tmp_path / "v2.bin").write_bytes(modified)
    repo = f"{compat_users.alice}/dedup-{unique_suffix()}"
    token = compat_users.alice_token
    no_errors(client(sys.executable, live_hub, token, tmp_path / "a",
                     {"op": "upload", "repo": repo, "create": True, "files": {"w.bin": str(tmp_path / "v1.bin")}}))
    before = stored_xorb_bytes(live_hub)
    mark = log_mark(live_hub)
    # Another machine: an empty hf_xet cache, so only the hub's dedup answers can save bytes.
    second = client(sys.executable, live_hub, token, tmp_path / "b",
                    {"op": "upload", "repo": repo, "files": {"w.bin": str(tmp_path / "v2.bin")}})
    no_errors(second)
    received = sum(n for name, n in stored_xorb_bytes(live_hub).items() if name not in before)
    assert 0 < received <= 0.05 * size, f"the CAS received {received} bytes for a 1% change of {size}"
    log = "\n".join(log_lines(live_hub, mark))
    assert re.search(r'"GET /xet/v1/chunks/default/[0-9a-f]{64} HTTP[^"]*" 200', log)
    down = client(sys.executable, live_hub, compat_users.bob_token, tmp_path / "c",
                  {"op": "download", "repo": repo, "files": ["w.bin"]})
    no_errors(down)
    assert down["out"]["hf_hub_download"] == {"w.bin": sha(bytes(modified))}


def test_transformers_push_to_hub_through_xet(live_hub, compat_users, tmp_path) -> None:
    repo = f"{compat_users.alice}/tiny-{unique_suffix()}"
    mark = log_mark(live_hub)
    result = client(sys.executable, live_hub, compat_users.alice_token, tmp_path, {"repo": repo},
                    script="xet_push_to_hub.py", timeout=300)
    no_errors(result)
    assert result["out"]["unequal"] == [] and result["out"]["num_tensors"] > 10
    log = "\n".join(log_lines(live_hub, mark))
    assert re.search(r'"POST /xet/v1/shards HTTP[^"]*" 200', log)
