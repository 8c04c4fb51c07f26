"""Encryption at rest against a live hub with real clients: a private repository's file full
of a known marker, uploaded with huggingface_hub (through Xet, as it uploads when hf_xet is
installed) and pushed with git-lfs, is nowhere on disk in
plaintext (every file under the data dir, temporaries included); hf_hub_download, ranges, a
resumed download and `git lfs pull` return identical bytes; private -> public -> private, run by
the real Celery worker while the hub serves, keeps every object readable."""
from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import textwrap
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from repos.objects.crypto.format import MAGIC
from tests.live import wait_for
from tests.repos.git_client import client_git_env, provision, remote_url, requires_git_lfs, run_git

pytestmark = [pytest.mark.live, requires_git_lfs]

MARKER = f"ENCRYPTION-AT-REST-MARKER-{uuid.uuid4().hex}|".encode()


def grep_data_dir(data_dir: Path, needle: bytes) -> list[str]:
    """Every file under the data dir whose bytes contain `needle` (temporaries included)."""
    hits = []
    for path in data_dir.rglob("*"):
        try:
            if path.is_file() and needle in path.read_bytes():
                hits.append(str(path.relative_to(data_dir)))
        except FileNotFoundError:  # a temporary file that went away meanwhile
            continue
    return hits


def stored_xorbs(live_hub) -> set[Path]:
    return {p for p in (live_hub.data_dir / "lfs" / "xet" / "xorbs").rglob("*") if p.is_file()}


def http_get(url: str, token: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def run_client(live_hub, tmp_path: Path, token: str, script: str, *, xet: bool = False) -> dict:
    """Run `script` with the newest huggingface_hub; `xet`: as most users run it, with hf_xet
    installed and not disabled (uploads and downloads then go through the hub's Xet CAS)."""
    home = tmp_path / f"hf-home-{uuid.uuid4().hex[:6]}"
    home.mkdir()
    env = live_hub.client_env(home, token)
    if xet:
        del env["HF_HUB_DISABLE_XET"]
    code = ("import hashlib, json, os\nfrom huggingface_hub import HfApi, hf_hub_download\napi = HfApi()\nout = {}\n"
            + textwrap.dedent(script) + "\nprint('RESULT=' + json.dumps(out))\n")
    proc = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=180)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT=")]
    assert proc.returncode == 0 and lines, f"{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    return json.loads(lines[-1][len("RESULT="):])


def test_private_objects_never_on_disk_in_plaintext_and_read_identically(live_hub, live_worker, tmp_path):
    hub = provision(live_hub, users=["enc_owner"], repos=[("enc_owner", None, True, "model")])
    token = hub.tokens["enc_owner"]
    (repo,) = hub.repos.values()
    # ~2.5 MB: ranges cross 64 KiB chunk boundaries, and a whole download spans more than one
    # block of the server's read-ahead (repos.transport.read_ahead).
    data = MARKER * 40_000
    pushed = MARKER[::-1] * 300
    src = tmp_path / "marker.bin"
    src.write_bytes(data)
    oid = hashlib.sha256(data).hexdigest()

    # Uploaded and downloaded through Xet: its xorbs are stored encrypted too.
    xorbs_before = stored_xorbs(live_hub)
    out = run_client(live_hub, tmp_path, token, f"""
        api.upload_file(path_or_fileobj={str(src)!r}, path_in_repo="marker.bin", repo_id={repo.repo_id!r})
        path = hf_hub_download({repo.repo_id!r}, "marker.bin")
        out["sha"] = hashlib.sha256(open(path, "rb").read()).hexdigest()
        info = api.get_paths_info({repo.repo_id!r}, ["marker.bin"])[0]
        out["lfs"] = info.lfs is not None
        out["xet"] = bool(getattr(info, "xet_hash", None))
    """, xet=True)
    assert out == {"sha": oid, "lfs": True, "xet": True}
    xorbs = stored_xorbs(live_hub) - xorbs_before  # the hub is shared: other tests' xorbs are plain
    assert xorbs and all(p.read_bytes()[:len(MAGIC)] == MAGIC for p in xorbs)

    # git-lfs push of another marker file, then a fresh clone and `git lfs pull`.
    git_env = client_git_env(tmp_path / "git-home")
    clone = tmp_path / "clone"
    run_git("clone", "-q", remote_url(live_hub, repo, token), str(clone), env=git_env)
    (clone / "pushed.bin").write_bytes(pushed)
    run_git("add", "pushed.bin", cwd=clone, env=git_env)
    run_git("commit", "-q", "-m", "pushed", cwd=clone, env=git_env)
    run_git("push", "-q", "origin", "main", cwd=clone, env=git_env)
    fresh = tmp_path / "fresh"
    run_git("clone", "-q", remote_url(live_hub, repo, token), str(fresh), env={**git_env, "GIT_LFS_SKIP_SMUDGE": "1"})
    assert (fresh / "marker.bin").read_bytes() != data  # a pointer until pulled
    run_git("lfs", "pull", cwd=fresh, env=git_env)
    assert (fresh / "marker.bin").read_bytes() == data and (fresh / "pushed.bin").read_bytes() == pushed

    # Ranges and a resumed download (Range from an offset, If-Range on the ETag).
    url = f"{live_hub.url}/{repo.repo_id}/resolve/main/marker.bin"
    status, headers, body = http_get(url, token)
    assert status == 200 and body == data and headers["ETag"] == f'"{oid}"'
    for start, end in ((0, 9), (60_000, 70_000), (1_000_000, len(data) - 3), (len(data) - 7, len(data) - 1)):
        status, headers, body = http_get(url, token, {"Range": f"bytes={start}-{end}"})
        assert status == 206 and body == data[start:end + 1]
    status, _, body = http_get(url, token, {"Range": "bytes=12345-", "If-Range": f'"{oid}"'})
    assert status == 206 and body == data[12345:]

    for needle in (MARKER, MARKER[::-1]):
        assert grep_data_dir(live_hub.data_dir, needle) == []

    # private -> public -> private, by the worker, while we keep downloading.
    enclave = live_hub.data_dir / "lfs" / "enc" / repo.git_dir.name.removesuffix(".git")
    shared = live_hub.data_dir / "lfs" / oid[:2] / oid[2:4] / oid
    for private in (False, True):
        out = run_client(live_hub, tmp_path, token,
                         f"api.update_repo_settings({repo.repo_id!r}, private={private!r}); out['ok'] = True")
        assert out == {"ok": True}
        wait_for(lambda p=private: shared.is_file() != p, 60, f"the objects to be {'private' if private else 'public'}")
        status, _, body = http_get(url, token)
        assert status == 200 and body == data
        wait_for(lambda p=private: (enclave / oid[:2] / oid[2:4] / oid).is_file() == p, 60, "the move to finish")
        status, _, body = http_get(url, token, {"Range": "bytes=100-199"})
        assert status == 206 and body == data[100:200]
    assert grep_data_dir(live_hub.data_dir, MARKER) == []
    out = run_client(live_hub, tmp_path, token, f"""
        for name in ("pushed.bin", "marker.bin"):
            path = hf_hub_download({repo.repo_id!r}, name, force_download=True)
            out[name] = hashlib.sha256(open(path, "rb").read()).hexdigest()
    """, xet=True)
    assert out == {"pushed.bin": hashlib.sha256(pushed).hexdigest(), "marker.bin": oid}
