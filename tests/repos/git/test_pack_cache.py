"""The pack cache of upload-pack (repos/git/pack_cache.py): its functions against real git
repositories in tmp dirs, then real clones through the live hub."""
from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path

import pytest

from repos.git import pack_cache, smart_http
from tests.repos.git_client import provision, remote_url, requires_git, run_git, unique

pytestmark = [requires_git]

PACK_ARGS = ["git", "pack-objects", "--revs", "--thin", "--stdout", "--delta-base-offset"]


# --------------------------------------------------------------------------- units


@pytest.fixture
def repo(tmp_path: Path, git_env) -> tuple[Path, str]:
    """A repository with two commits: (git dir, tip sha)."""
    work = tmp_path / "repo"
    run_git("init", "-q", str(work), env=git_env)
    for i in range(2):
        (work / f"f{i}.txt").write_text(f"file {i}\n" * 50)
        run_git("add", "-A", cwd=work, env=git_env)
        run_git("commit", "-q", "-m", f"c{i}", cwd=work, env=git_env)
    return work / ".git", run_git("rev-parse", "HEAD", cwd=work, env=git_env).stdout.strip()


def _hook(git_dir: Path, cache: Path, stdin: bytes, args: list[str] = PACK_ARGS,
          **env: str) -> subprocess.CompletedProcess:
    settings = pack_cache.PackCacheSettings(cache, **{k: v for k, v in env.items() if k in ("max_bytes", "ttl")})
    full_env = {"PATH": os.environ["PATH"], "GIT_DIR": ".", **settings.env()}
    return subprocess.run([pack_cache.HOOK_PATH, *args], input=stdin, cwd=git_dir, env=full_env,
                          capture_output=True, timeout=60)


def _events(cache: Path) -> list[list[str]]:
    path = cache / pack_cache.STATS_LOG
    return [line.split(" ", 4) for line in path.read_text().splitlines()] if path.exists() else []


def _valid_pack(data: bytes, tmp_path: Path, git_env) -> int:
    """Number of objects in `data`, after git itself verified it."""
    target = tmp_path / f"verify-{time.monotonic_ns()}.git"
    run_git("init", "-q", "--bare", str(target), env=git_env)
    run_git("--git-dir", str(target), "index-pack", "--stdin", input=data, env=git_env)
    out = run_git("--git-dir", str(target), "count-objects", "-v", env=git_env).stdout
    return int(dict(line.split(": ") for line in out.splitlines())["in-pack"])


def test_hook_miss_then_hit_serve_the_same_valid_pack(repo, tmp_path, git_env):
    git_dir, tip = repo
    cache = tmp_path / "cache"
    stdin = f"{tip}\n--not\n\n".encode()
    first = _hook(git_dir, cache, stdin)
    second = _hook(git_dir, cache, stdin)
    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    assert first.stdout == second.stdout
    assert _valid_pack(first.stdout, tmp_path, git_env) == 6  # 2 commits, 2 trees, 2 blobs
    key = pack_cache.cache_key(args=PACK_ARGS[1:], stdin=stdin, git_dir=os.path.realpath(git_dir))
    assert (cache / f"{key}.pack").read_bytes() == first.stdout
    assert [(e[1], e[2]) for e in _events(cache)] == [("miss", key), ("hit", key)]
    assert not list(cache.glob("*.tmp.*"))


def test_hook_without_cache_env_is_plain_pack_objects(repo):
    git_dir, tip = repo
    proc = subprocess.run([pack_cache.HOOK_PATH, *PACK_ARGS], input=f"{tip}\n\n".encode(), cwd=git_dir,
                          env={"PATH": os.environ["PATH"], "GIT_DIR": "."}, capture_output=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.startswith(b"PACK")


def test_failed_pack_objects_is_not_cached(repo, tmp_path):
    git_dir, _tip = repo
    cache = tmp_path / "cache"
    proc = _hook(git_dir, cache, b"%s\n\n" % (b"1" * 40))  # an object the repository lacks
    assert proc.returncode != 0
    assert not list(cache.glob("*.pack")) and not list(cache.glob("*.tmp.*"))
    assert [e[1] for e in _events(cache)] == ["uncached"]


def test_partial_expired_or_damaged_entries_are_never_served(repo, tmp_path, git_env):
    git_dir, tip = repo
    cache = tmp_path / "cache"
    cache.mkdir()
    stdin = f"{tip}\n\n".encode()
    key = pack_cache.cache_key(args=PACK_ARGS[1:], stdin=stdin, git_dir=os.path.realpath(git_dir))
    entry = cache / f"{key}.pack"
    # A dead writer's leftover, and an entry that is not a pack (a crash before writeback).
    (cache / f"{key}{pack_cache.TMP_MARK}12345").write_bytes(b"PACK-partial")
    entry.write_bytes(b"\0" * 100)
    proc = _hook(git_dir, cache, stdin)
    assert proc.returncode == 0 and _valid_pack(proc.stdout, tmp_path, git_env) > 0
    assert entry.read_bytes() == proc.stdout
    assert not list(cache.glob("*.tmp.*"))  # evicted: no writer held the key's lock
    # Expired: regenerated (a second miss), not served.
    old = time.time() - 7200
    os.utime(entry, (old, old))
    assert _hook(git_dir, cache, stdin, ttl="3600").stdout == proc.stdout
    assert [e[1] for e in _events(cache)] == ["miss", "miss"]
    assert entry.stat().st_mtime > old + 3600


def test_cache_key_covers_every_input():
    base = {"args": ["pack-objects", "--revs"], "stdin": b"a\n", "git_dir": "/r/a.git", "tags": b""}
    key = pack_cache.cache_key(**base)
    for change in ({"args": ["pack-objects", "--revs", "--include-tag"]}, {"stdin": b"b\n"},
                   {"git_dir": "/r/b.git"}, {"tags": b"v1 abc"},
                   {"args": ["pack-objects", "", "--revs"]}):
        assert pack_cache.cache_key(**{**base, **change}) != key, change
    assert pack_cache.cache_key(**base) == key


def test_tags_fingerprint_sees_new_and_moved_tags(repo, git_env):
    git_dir, tip = repo
    before = pack_cache.tags_fingerprint(str(git_dir))
    run_git("--git-dir", str(git_dir), "tag", "v1", tip, env=git_env)
    loose = pack_cache.tags_fingerprint(str(git_dir))
    run_git("--git-dir", str(git_dir), "pack-refs", "--all", env=git_env)
    packed = pack_cache.tags_fingerprint(str(git_dir))
    run_git("--git-dir", str(git_dir), "tag", "-f", "v1", "HEAD~1", env=git_env)
    assert len({before, loose, packed, pack_cache.tags_fingerprint(str(git_dir))}) == 4


def _entry(cache: Path, name: str, size: int, age: float) -> Path:
    path = cache / f"{name}.pack"
    path.write_bytes(b"PACK" + b"x" * (size - 4))
    (cache / f"{name}.lock").touch()
    when = time.time() - age
    os.utime(path, (when, when))
    return path


def test_evict_keeps_the_newest_within_size_and_ttl(tmp_path):
    cache = tmp_path
    newest, middle, oldest = (_entry(cache, n, 400, age) for n, age in (("n", 10), ("m", 20), ("o", 30)))
    expired = _entry(cache, "e", 10, 5000)
    orphan_tmp = cache / f"z{pack_cache.TMP_MARK}1"
    orphan_tmp.write_bytes(b"PACK")
    removed = pack_cache.evict(str(cache), max_bytes=1000, ttl=3600)
    assert newest.exists() and middle.exists()
    assert not oldest.exists() and not expired.exists() and not orphan_tmp.exists()
    assert set(removed) == {"o.pack", "e.pack", "o.lock", "e.lock", orphan_tmp.name, "z.lock"}
    assert sorted(p.name for p in cache.iterdir()) == ["m.lock", "m.pack", "n.lock", "n.pack"]


def test_evict_spares_a_writer_holding_its_lock(tmp_path):
    cache = tmp_path
    tmp = cache / f"k{pack_cache.TMP_MARK}1"
    tmp.write_bytes(b"PACK")
    fd, waited = pack_cache.lock_key(str(cache / "k.lock"))
    try:
        assert not waited
        pack_cache.evict(str(cache), max_bytes=0, ttl=3600)
        assert tmp.exists() and (cache / "k.lock").exists()
    finally:
        os.close(fd)
    pack_cache.evict(str(cache), max_bytes=0, ttl=3600)
    assert list(cache.iterdir()) == []


def test_upload_pack_rpc_gets_the_hook_on_its_command_line(repo, tmp_path):
    git_dir, _tip = repo
    settings = pack_cache.PackCacheSettings(tmp_path / "cache")
    hook = f"uploadpack.packObjectsHook={pack_cache.HOOK_PATH}"
    rpc = smart_http.start_service(git_dir, "git-upload-pack", body=iter([b"0000"]), pack_cache=settings)
    advert = smart_http.start_service(git_dir, "git-upload-pack", advertise=True, pack_cache=settings)
    push = smart_http.start_service(git_dir, "git-receive-pack", advertise=True, pack_cache=settings)
    for r in (rpc, advert, push):
        r.read_all()
    assert hook in rpc.argv
    assert hook not in advert.argv and hook not in push.argv


# --------------------------------------------------------------------------- live


def _cache_dir(live_hub) -> Path:
    return live_hub.data_dir / "cache" / "packs"


def _repo_events(live_hub, git_dir: Path, since: int) -> list[tuple[str, str]]:
    """(event, key) of fetches from `git_dir` logged after the first `since` lines."""
    real = os.path.realpath(git_dir)
    return [(e[1], e[2]) for e in _events(_cache_dir(live_hub))[since:] if e[4] == real]


def _log_len(live_hub) -> int:
    return len(_events(_cache_dir(live_hub)))


def _push_commit(live_hub, repo, token: str, git_env, work: Path, files: dict[str, str]) -> str:
    clone = work / f"push-{unique()}"
    run_git("clone", "-q", remote_url(live_hub, repo, token), str(clone), env=git_env)
    for path, text in files.items():
        (clone / path).write_text(text)
    run_git("add", "-A", cwd=clone, env=git_env)
    run_git("commit", "-q", "-m", "update", cwd=clone, env=git_env)
    run_git("push", "-q", "origin", "main", cwd=clone, env=git_env)
    return run_git("rev-parse", "HEAD", cwd=clone, env=git_env).stdout.strip()


def _snapshot(clone: Path, git_env) -> tuple[str, str]:
    """(HEAD, every file with its content) of a clone."""
    head = run_git("rev-parse", "HEAD", cwd=clone, env=git_env).stdout.strip()
    files = {p.relative_to(clone).as_posix(): p.read_bytes() for p in clone.rglob("*")
             if p.is_file() and ".git" not in p.relative_to(clone).parts}
    return head, repr(sorted(files.items()))


@pytest.fixture(scope="module")
def hub(live_hub):
    return provision(live_hub, users=["pc_alice"], repos=[("pc_alice", unique("pc"), False, "model")])


@pytest.mark.live
def test_clones_share_one_pack_and_a_push_changes_the_key(live_hub, hub, git_env, work):
    repo, token = next(iter(hub.repos.values())), hub.tokens["pc_alice"]
    first_sha = _push_commit(live_hub, repo, token, git_env, work, {"a.txt": "alpha\n" * 100})

    since = _log_len(live_hub)
    url = remote_url(live_hub, repo)
    run_git("clone", "-q", url, str(work / "c1"), env=git_env)
    events = _repo_events(live_hub, repo.git_dir, since)
    assert [e for e, _ in events] == ["miss"]
    entry = _cache_dir(live_hub) / f"{events[0][1]}.pack"
    mtime = entry.stat().st_mtime_ns
    run_git("clone", "-q", url, str(work / "c2"), env=git_env)
    assert _snapshot(work / "c1", git_env) == _snapshot(work / "c2", git_env)
    assert _snapshot(work / "c1", git_env)[0] == first_sha
    assert _repo_events(live_hub, repo.git_dir, since) == [("miss", events[0][1]), ("hit", events[0][1])]
    assert entry.stat().st_mtime_ns == mtime

    # A push moves main: the clone wants another commit, so another key, and gets it.
    second_sha = _push_commit(live_hub, repo, token, git_env, work, {"b.txt": "beta\n"})
    since = _log_len(live_hub)
    run_git("clone", "-q", url, str(work / "c3"), env=git_env)
    assert _snapshot(work / "c3", git_env)[0] == second_sha
    assert (work / "c3" / "b.txt").read_text() == "beta\n"
    new = _repo_events(live_hub, repo.git_dir, since)
    assert [e for e, _ in new] == ["miss"] and new[0][1] != events[0][1]
    # An incremental fetch (haves) works through the cache too.
    run_git("fetch", "-q", "origin", cwd=work / "c1", env=git_env)
    assert run_git("rev-parse", "origin/main", cwd=work / "c1", env=git_env).stdout.strip() == second_sha


@pytest.mark.live
def test_concurrent_clones_run_pack_objects_once(live_hub, hub, git_env, work):
    repo, token = next(iter(hub.repos.values())), hub.tokens["pc_alice"]
    _push_commit(live_hub, repo, token, git_env, work, {f"p{i}.txt": f"{i}\n" * 2000 for i in range(20)})
    since = _log_len(live_hub)
    url = remote_url(live_hub, repo)
    barrier = threading.Barrier(4)
    results: dict[int, object] = {}

    def clone(i: int) -> None:
        try:
            barrier.wait(30)
            run_git("clone", "-q", url, str(work / f"par-{i}"), env=git_env)
            results[i] = _snapshot(work / f"par-{i}", git_env)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            results[i] = exc

    threads = [threading.Thread(target=clone, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert all(isinstance(r, tuple) for r in results.values()) and len(results) == 4, results
    assert len(set(results.values())) == 1
    events = _repo_events(live_hub, repo.git_dir, since)
    assert len({key for _, key in events}) == 1
    assert sorted(e for e, _ in events).count("miss") == 1
    assert {e for e, _ in events} <= {"miss", "hit", "wait-hit"} and len(events) == 4


@pytest.mark.live
def test_shallow_and_partial_clones_through_the_cache(live_hub, hub, git_env, work):
    repo, token = next(iter(hub.repos.values())), hub.tokens["pc_alice"]
    tip = _push_commit(live_hub, repo, token, git_env, work, {"s.txt": "shallow\n"})
    since = _log_len(live_hub)
    url = remote_url(live_hub, repo)
    for name in ("s1", "s2"):
        run_git("clone", "-q", "--depth", "1", url, str(work / name), env=git_env)
        assert run_git("rev-list", "--count", "HEAD", cwd=work / name, env=git_env).stdout.strip() == "1"
        assert run_git("rev-parse", "HEAD", cwd=work / name, env=git_env).stdout.strip() == tip
        assert (work / name / "s.txt").read_text() == "shallow\n"
    run_git("clone", "-q", "--filter=blob:none", url, str(work / "partial"), env=git_env)
    assert (work / "partial" / "s.txt").read_text() == "shallow\n"
    events = _repo_events(live_hub, repo.git_dir, since)
    shallow_key = events[0][1]
    assert events[:2] == [("miss", shallow_key), ("hit", shallow_key)]
    # The partial clone keys differently (--filter) from the shallow ones.
    assert events[2][0] == "miss" and events[2][1] != shallow_key
