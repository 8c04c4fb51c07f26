"""Clone and fetch over smart HTTP with the real git client: access rules, protocols, URLs."""
from __future__ import annotations

import gzip
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.repos.git_client import HubRepo, provision, remote_url, requires_git, run_git, unique

pytestmark = [pytest.mark.live, requires_git]

N = {key: unique(key) for key in ("public", "proto", "priv", "data", "http")}


@pytest.fixture(scope="module")
def hub(live_hub):
    """Everyone and every repository this module needs, made in one server-side call."""
    return provision(
        live_hub, users=["gh_alice", "gh_carol", "gh_mallory", "gh_reader"],
        repos=[("gh_alice", N["public"], False, "model"), ("gh_alice", N["proto"], False, "model"),
               ("gh_carol", N["priv"], True, "model"), ("gh_alice", N["data"], False, "dataset"),
               ("gh_alice", N["http"], False, "model")],
        grants=[(f"gh_carol/{N['priv']}", "gh_reader", "read_repo")])


def _remote_lines(stderr: str) -> list[str]:
    return [line[len("remote:"):].strip() for line in stderr.splitlines() if line.startswith("remote:")]


def _seed(live_hub, repo, git_env, work: Path, token: str, files: dict[str, str]) -> str:
    """Push one commit with `files` on top of the initial commit; return its sha."""
    clone = work / f"seed-{repo.repo_id.replace('/', '-')}"
    run_git("clone", "-q", remote_url(live_hub, repo, token), str(clone), env=git_env)
    for path, text in files.items():
        target = clone / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    run_git("add", "-A", cwd=clone, env=git_env)
    run_git("commit", "-q", "-m", "seed", cwd=clone, env=git_env)
    run_git("push", "-q", "origin", "main", cwd=clone, env=git_env)
    return run_git("rev-parse", "HEAD", cwd=clone, env=git_env).stdout.strip()


def test_public_repo_anonymous_clone_fetch_and_shallow(live_hub, hub, git_env, work):
    repo, token = hub.repos[f"gh_alice/{N['public']}"], hub.tokens["gh_alice"]
    first = _seed(live_hub, repo, git_env, work, token, {"README.md": "# hello\n", "src/a.py": "print(1)\n"})

    anon = work / "anon"
    run_git("clone", "-q", remote_url(live_hub, repo), str(anon), env=git_env)
    assert (anon / "README.md").read_text() == "# hello\n"
    assert (anon / "src" / "a.py").read_text() == "print(1)\n"
    assert run_git("rev-parse", "HEAD", cwd=anon, env=git_env).stdout.strip() == first
    # Full history: initial commit + seed.
    assert run_git("rev-list", "--count", "HEAD", cwd=anon, env=git_env).stdout.strip() == "2"

    # A second commit arrives; fetch picks it up (protocol v2 and v0 both work).
    other = work / "other"
    run_git("clone", "-q", remote_url(live_hub, repo, token), str(other), env=git_env)
    (other / "b.txt").write_text("b\n")
    run_git("add", "b.txt", cwd=other, env=git_env)
    run_git("commit", "-q", "-m", "second", cwd=other, env=git_env)
    run_git("push", "-q", "origin", "main", cwd=other, env=git_env)
    second = run_git("rev-parse", "HEAD", cwd=other, env=git_env).stdout.strip()
    for version in ("2", "0"):
        run_git("-c", f"protocol.version={version}", "fetch", "-q", "origin", cwd=anon, env=git_env)
        assert run_git("rev-parse", "origin/main", cwd=anon, env=git_env).stdout.strip() == second

    shallow = work / "shallow"
    run_git("clone", "-q", "--depth", "1", remote_url(live_hub, repo) + ".git", str(shallow), env=git_env)
    assert run_git("rev-list", "--count", "HEAD", cwd=shallow, env=git_env).stdout.strip() == "1"
    assert (shallow / "b.txt").read_text() == "b\n"
    assert (shallow / ".git" / "shallow").exists()

    # Partial clone (filter) is allowed and still checks out the files.
    partial = work / "partial"
    run_git("clone", "-q", "--filter=blob:none", remote_url(live_hub, repo), str(partial), env=git_env)
    assert (partial / "src" / "a.py").read_text() == "print(1)\n"


def test_protocol_v2_is_spoken(live_hub, hub, git_env, work):
    repo = hub.repos[f"gh_alice/{N['proto']}"]
    env = {**git_env, "GIT_TRACE_PACKET": "1"}
    out = run_git("-c", "protocol.version=2", "ls-remote", remote_url(live_hub, repo), env=env)
    assert "version 2" in out.stderr
    assert "refs/heads/main" in out.stdout
    out = run_git("-c", "protocol.version=0", "ls-remote", remote_url(live_hub, repo), env=env)
    assert "version 2" not in out.stderr
    assert "refs/heads/main" in out.stdout


def test_private_repo_needs_a_token_and_hides_from_strangers(live_hub, hub, git_env, work):
    owner, stranger, reader = (hub.tokens[u] for u in ("gh_carol", "gh_mallory", "gh_reader"))
    repo = hub.repos[f"gh_carol/{N['priv']}"]

    run_git("clone", "-q", remote_url(live_hub, repo, owner), str(work / "ok"), env=git_env)
    assert (work / "ok" / ".gitattributes").exists()

    anon = run_git("clone", "-q", remote_url(live_hub, repo), str(work / "anon"), env=git_env, check=False)
    assert anon.returncode != 0
    assert "could not read Username" in anon.stderr or "Authentication failed" in anon.stderr
    assert not (work / "anon" / ".gitattributes").exists()

    other = run_git("clone", "-q", remote_url(live_hub, repo, stranger), str(work / "other"), env=git_env,
                    check=False)
    assert other.returncode != 0
    assert "Repository not found" in other.stderr

    # Hidden looks exactly like missing, for strangers.
    missing = HubRepo(repo_id="gh_carol/does-not-exist", repo_type="model", git_dir=Path("/nonexistent"))
    gone = run_git("clone", "-q", remote_url(live_hub, missing, stranger), str(work / "gone"), env=git_env,
                   check=False)
    assert gone.returncode != 0
    assert _remote_lines(gone.stderr) == _remote_lines(other.stderr) == ["Repository not found"]

    # A reader granted access can clone.
    run_git("clone", "-q", remote_url(live_hub, repo, reader), str(work / "reader"), env=git_env)


def test_datasets_and_url_forms(live_hub, hub, git_env, work):
    repo, token = hub.repos[f"gh_alice/{N['data']}"], hub.tokens["gh_alice"]
    for i, suffix in enumerate(("", ".git", ".git/")):
        dest = work / f"d{i}"
        run_git("clone", "-q", remote_url(live_hub, repo, token, suffix=suffix), str(dest), env=git_env)
        assert (dest / ".gitattributes").exists()
    # The model URL of a dataset repo is another (missing) repository.
    model_url = f"{live_hub.url}/{repo.repo_id}"
    res = run_git("ls-remote", model_url, env=git_env, check=False)
    assert res.returncode != 0


def test_http_level_answers(live_hub, hub):
    repo = hub.repos[f"gh_alice/{N['http']}"]
    base = f"{live_hub.url}/{repo.repo_id}"
    with urllib.request.urlopen(f"{base}/info/refs?service=git-upload-pack", timeout=10) as resp:
        assert resp.headers["Content-Type"] == "application/x-git-upload-pack-advertisement"
        body = resp.read()
    assert body.startswith(b"001e# service=git-upload-pack\n0000")
    assert b"refs/heads/main" in body

    # Dumb protocol: refused with a readable message.
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(f"{base}/info/refs", timeout=10)
    assert err.value.code == 403
    assert b"smart HTTP" in err.value.read()

    # Pushing anonymously asks for credentials.
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(f"{base}.git/info/refs?service=git-receive-pack", timeout=10)
    assert err.value.code == 401
    assert err.value.headers["WWW-Authenticate"].startswith("Basic")

    # A protocol v2 request, gzip-compressed (git compresses large fetch requests).
    pkt = b"0014command=ls-refs\n" + b"0001" + b"0009peel\n" + b"0000"
    req = urllib.request.Request(f"{base}.git/git-upload-pack", data=gzip.compress(pkt), method="POST", headers={
        "Content-Type": "application/x-git-upload-pack-request", "Content-Encoding": "gzip",
        "Git-Protocol": "version=2"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.headers["Content-Type"] == "application/x-git-upload-pack-result"
        assert b"refs/heads/main" in resp.read()
    req = urllib.request.Request(f"{base}.git/git-upload-pack", data=b"\x1f\x8bgarbage", method="POST", headers={
        "Content-Type": "application/x-git-upload-pack-request", "Content-Encoding": "gzip",
        "Git-Protocol": "version=2"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert b"refs/heads/main" not in resp.read()  # git got nothing usable; no 500

    # Wrong content type on the RPC endpoint.
    req = urllib.request.Request(f"{base}/git-upload-pack", data=b"0000", method="POST",
                                 headers={"Content-Type": "text/plain"})
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=10)
    assert err.value.code == 415
