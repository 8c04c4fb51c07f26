"""git smart HTTP through the hub vs git itself, side by side.

    .venv/bin/python -m bench.git [--files 200] [--file-kb 24] [--commits 50] [--rounds 5]

One repository (`--files` text files, then `--commits` commits in all, pushed to the hub
over HTTP) is the subject of every measurement; baselines read the very same bare repo on
disk. Ratios are hub / baseline, alternating, median of rounds:

- upload_pack_vs_direct: one recorded full-clone request (protocol v2 `fetch`, want main,
  done) POSTed to the hub vs `git upload-pack --stateless-rpc` fed the same bytes
  (target <= 1.10)
- upload_pack_vs_http_backend: the same request to `git http-backend` behind nginx +
  fcgiwrap (target <= 1.0; skipped when fcgiwrap is missing)
- clone_http_vs_file: `git clone` from the hub vs `git clone file://` (target <= 1.05)
- push_50_commits: `git push` of the commits to the hub vs to a file:// bare copy of the
  same starting point (no target: the hub also runs fsck and its pre-receive policy)
- parallel_clone_cpu: server CPU per clone with 8 clones at once over server CPU of one
  clone (target <= 0.2, reachable only with a pack cache), gunicorn processes plus the git
  processes they spawned and reaped
- git_worker_rss_growth: peak RSS growth of any gunicorn worker during the parallel clones
  (< 64 MiB: the pack streams through, it is never held)
"""
from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import time
from pathlib import Path

from bench.common import (
    BENCH_USER,
    MiB,
    Report,
    RssPeak,
    child,
    child_pids,
    cpu_seconds,
    hub_server,
    install_deadline,
    median,
    nginx_server,
    seed,
    temp_dir,
    tree_pids,
)
from tests.live import LiveHub

HTTP_BACKEND = "/usr/lib/git-core/git-http-backend"
FCGIWRAP = "/usr/sbin/fcgiwrap"
WORDS = ("tensor", "layer", "weight", "bias", "token", "embed", "head", "attention", "norm", "scale",
         "dropout", "config", "vocab", "merge", "shard", "index", "batch", "epoch", "loss", "grad")


def _client_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update({"HOME": str(home), "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": str(home / ".gitconfig"),
                "GIT_TERMINAL_PROMPT": "0", "GIT_LFS_SKIP_SMUDGE": "1", "GIT_AUTHOR_NAME": "Bench",
                "GIT_AUTHOR_EMAIL": "bench@example.com", "GIT_COMMITTER_NAME": "Bench",
                "GIT_COMMITTER_EMAIL": "bench@example.com"})
    return env


def _git(*args: str, env: dict[str, str], cwd: Path | None = None, timeout: float = 300,
         stdin: Path | None = None) -> float:
    start = time.perf_counter()
    with open(stdin, "rb") if stdin else open(os.devnull, "rb") as inp:
        subprocess.run(["git", *args], env=env, cwd=cwd, stdin=inp, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, timeout=timeout, check=True)
    return time.perf_counter() - start


def _text(rng: random.Random, size: int) -> str:
    out, n = [], 0
    while n < size:
        line = " ".join(rng.choice(WORDS) + str(rng.randrange(1000)) for _ in range(10)) + "\n"
        out.append(line)
        n += len(line)
    return "".join(out)[:size]


def _make_history(work: Path, *, files: int, file_kb: int, commits: int, env: dict[str, str], seed_: int) -> None:
    """`commits` commits on top of the clone in `work`: all files in the first one, then
    a tenth of them rewritten in part in each of the others."""
    rng = random.Random(seed_)
    names = [f"data/part-{i:04d}.txt" for i in range(files)]
    (work / "data").mkdir(exist_ok=True)
    for name in names:
        (work / name).write_text(_text(rng, file_kb * 1024))
    _git("add", "-A", env=env, cwd=work)
    _git("commit", "-q", "-m", "add data", env=env, cwd=work)
    for c in range(1, commits):
        for name in rng.sample(names, max(1, files // 10)):
            path = work / name
            text = path.read_text()
            cut = rng.randrange(len(text))
            path.write_text(text[:cut] + _text(rng, 2048) + text[cut + 2048:])
        _git("commit", "-q", "-am", f"update {c}", env=env, cwd=work)


def _upload_pack_request(sha: str) -> bytes:
    def pkt(line: str) -> bytes:
        data = line.encode()
        return f"{len(data) + 4:04x}".encode() + data

    return (pkt("command=fetch\n") + pkt("agent=git/bench\n") + pkt("object-format=sha1\n") + b"0001"
            + pkt("thin-pack\n") + pkt("ofs-delta\n") + pkt("no-progress\n") + pkt(f"want {sha}\n")
            + pkt("done\n") + b"0000")


def _curl_post(url: str, body: Path, *, timeout: float = 120) -> tuple[float, int]:
    out = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code} %{size_download} %{time_total}",
                          "--data-binary", f"@{body}", "-H", "Git-Protocol: version=2",
                          "-H", "Content-Type: application/x-git-upload-pack-request",
                          "-H", "Accept: application/x-git-upload-pack-result", "--max-time", str(int(timeout)), url],
                         capture_output=True, text=True, timeout=timeout + 5, check=True).stdout
    code, size, seconds = out.split()
    if code != "200":
        raise RuntimeError(f"POST {url} answered {code}")
    return float(seconds), int(size)


def _direct_upload_pack(git_dir: Path, body: Path) -> tuple[float, int]:
    start = time.perf_counter()
    with open(body, "rb") as inp:
        out = subprocess.run(["git", "upload-pack", "--stateless-rpc", "--strict", str(git_dir)], stdin=inp,
                             capture_output=True, timeout=120, check=True,
                             env={"PATH": os.environ["PATH"], "GIT_PROTOCOL": "version=2", "HOME": str(body.parent),
                                  "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}).stdout
    return time.perf_counter() - start, len(out)


FASTCGI_LOCATION = """
        location ~ ^/git(/.*)$ {{
            client_max_body_size 0;
            fastcgi_buffering off;
            fastcgi_pass unix:{sock};
            fastcgi_param SCRIPT_FILENAME {backend};
            fastcgi_param GIT_PROJECT_ROOT {root};
            fastcgi_param GIT_HTTP_EXPORT_ALL 1;
            fastcgi_param PATH_INFO $1;
            fastcgi_param REQUEST_METHOD $request_method;
            fastcgi_param QUERY_STRING $query_string;
            fastcgi_param CONTENT_TYPE $content_type;
            fastcgi_param CONTENT_LENGTH $content_length;
            fastcgi_param REMOTE_ADDR $remote_addr;
            fastcgi_param SERVER_PROTOCOL $server_protocol;
            fastcgi_param HOME {home};
        }}
"""


def _recorded_request(report: Report, *, hub: LiveHub, repo_id: str, git_dir: Path, sha: str, tmp: Path,
                      rounds: int) -> None:
    body = tmp / "upload-pack-request"
    body.write_bytes(_upload_pack_request(sha))
    hub_url = f"{hub.url}/{repo_id}.git/git-upload-pack"
    _curl_post(hub_url, body)
    _direct_upload_pack(git_dir, body)
    hub_times, direct_times, sizes = [], [], {}
    for r in range(rounds):
        for side in (("hub", "direct") if r % 2 == 0 else ("direct", "hub")):
            if side == "hub":
                elapsed, sizes["hub"] = _curl_post(hub_url, body)
                hub_times.append(elapsed)
            else:
                elapsed, sizes["direct"] = _direct_upload_pack(git_dir, body)
                direct_times.append(elapsed)
    report.ratio("upload_pack_vs_direct", median(hub_times) / median(direct_times), target=1.10,
                 higher_is_better=False)
    report.info("upload_pack", f"hub {median(hub_times) * 1e3:.0f} ms ({sizes['hub'] / MiB:.1f} MiB), direct "
                               f"{median(direct_times) * 1e3:.0f} ms ({sizes['direct'] / MiB:.1f} MiB)")
    if not os.access(FCGIWRAP, os.X_OK):
        report.info("upload_pack_vs_http_backend", "skipped: fcgiwrap missing (apt-get install -y fcgiwrap)")
        return
    sock = tmp / "fcgi.sock"
    with child([FCGIWRAP, "-c", "4", "-s", f"unix:{sock}"], log=tmp / "fcgiwrap.log"):
        deadline = time.monotonic() + 10
        while not sock.exists():
            if time.monotonic() > deadline:
                raise RuntimeError("fcgiwrap did not create its socket")
            time.sleep(0.05)
        extra = FASTCGI_LOCATION.format(sock=sock, backend=HTTP_BACKEND, root=git_dir.parent, home=tmp)
        with nginx_server(tmp / "nginx", root=tmp, extra=extra) as nginx:
            backend_url = f"{nginx.url}/git/{git_dir.name}/git-upload-pack"
            _curl_post(backend_url, body)
            backend_times = []
            for r in range(rounds):
                for side in (("hub", "backend") if r % 2 == 0 else ("backend", "hub")):
                    if side == "hub":
                        hub_times.append(_curl_post(hub_url, body)[0])
                    else:
                        elapsed, sizes["backend"] = _curl_post(backend_url, body)
                        backend_times.append(elapsed)
    report.ratio("upload_pack_vs_http_backend", median(hub_times) / median(backend_times), target=1.0,
                 higher_is_better=False)
    report.info("http_backend", f"nginx+fcgiwrap+git http-backend {median(backend_times) * 1e3:.0f} ms "
                                f"({sizes['backend'] / MiB:.1f} MiB)")


def _clones(report: Report, *, hub: LiveHub, hub_pid: int, repo_id: str, git_dir: Path, tmp: Path,
            env: dict[str, str], rounds: int, parallel: int) -> None:
    url = f"{hub.url}/{repo_id}"
    times: dict[str, list[float]] = {"hub": [], "file": []}
    for r in range(rounds + 1):
        for side in (("hub", "file") if r % 2 == 0 else ("file", "hub")):
            dest = tmp / f"clone-{side}"
            elapsed = _git("clone", "-q", url if side == "hub" else f"file://{git_dir}", str(dest), env=env)
            shutil.rmtree(dest)
            if r:  # round 0 warms caches
                times[side].append(elapsed)
    report.ratio("clone_http_vs_file", median(times["hub"]) / median(times["file"]), target=1.05,
                 higher_is_better=False)
    report.info("clone", f"hub {median(times['hub']) * 1e3:.0f} ms, file:// {median(times['file']) * 1e3:.0f} ms")

    pids = tree_pids(hub_pid)
    # Cold: the pack cache (repos/git/pack_cache.py) emptied before each single clone and
    # before the parallel ones, which then share the one pack the first of them makes.
    pack_cache = hub.data_dir / "cache" / "packs"
    single, warm = [], []
    for i in range(3):
        shutil.rmtree(pack_cache, ignore_errors=True)
        before = cpu_seconds(pids, reaped_children=True)
        _git("clone", "-q", "--bare", url, str(tmp / f"single-{i}.git"), env=env)
        single.append(cpu_seconds(pids, reaped_children=True) - before)
        before = cpu_seconds(pids, reaped_children=True)
        _git("clone", "-q", "--bare", url, str(tmp / f"warm-{i}.git"), env=env)
        warm.append(cpu_seconds(pids, reaped_children=True) - before)
    shutil.rmtree(pack_cache, ignore_errors=True)
    before = cpu_seconds(pids, reaped_children=True)
    with RssPeak(child_pids(hub_pid)) as rss:
        procs = [subprocess.Popen(["git", "clone", "-q", "--bare", url, str(tmp / f"par-{i}.git")], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
                 for i in range(parallel)]
        try:
            codes = [proc.wait(300) for proc in procs]
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait(5)
    if any(codes):
        raise RuntimeError(f"parallel clones failed: {codes}")
    per_clone = (cpu_seconds(pids, reaped_children=True) - before) / parallel
    report.ratio("parallel_clone_cpu", per_clone / median(single), target=0.2, higher_is_better=False)
    report.info("clone_cpu", f"server CPU per clone: alone {median(single) * 1e3:.0f} ms, {parallel} at once "
                             f"{per_clone * 1e3:.0f} ms each; alone from a warm pack cache "
                             f"{median(warm) * 1e3:.0f} ms")
    report.limit("git_worker_rss_growth", rss.growth() / MiB, below=64, unit="MiB")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--file-kb", type=int, default=24)
    parser.add_argument("--commits", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--push-rounds", type=int, default=2)
    parser.add_argument("--parallel", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=int, default=420)
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    install_deadline(args.timeout)
    report = Report("git smart HTTP: hub vs git upload-pack / http-backend / file://")
    with temp_dir("bench-git-") as tmp:
        home = tmp / "home"
        home.mkdir()
        with hub_server(tmp / "hub", workers=args.workers) as (hub, proc):
            env = _client_env(home)
            token = hub.tokens[BENCH_USER]
            push_times: dict[str, list[float]] = {"hub": [], "file": []}
            subject = None
            for r in range(args.push_rounds):
                seeded = seed(hub, username=BENCH_USER, namespace=BENCH_USER, name=f"git-bench-{r}")
                work, bare = tmp / f"work-{r}", tmp / f"target-{r}.git"
                _git("clone", "-q", f"{hub.url}/{seeded['repo_id']}", str(work), env=env)
                _git("clone", "-q", "--bare", f"{hub.url}/{seeded['repo_id']}", str(bare), env=env)
                _make_history(work, files=args.files, file_kb=args.file_kb, commits=args.commits - 1, env=env,
                              seed_=r)
                pushes = {"hub": ("-c", f"http.extraHeader=Authorization: Bearer {token}", "push", "-q", "origin",
                                  "HEAD:main"),
                          "file": ("push", "-q", f"file://{bare}", "HEAD:main")}
                for side in (("hub", "file") if r % 2 == 0 else ("file", "hub")):
                    push_times[side].append(_git(*pushes[side], env=env, cwd=work))
                shutil.rmtree(work)
                subject = seeded
            assert subject is not None
            report.note("push_50_commits", median(push_times["hub"]) / median(push_times["file"]),
                        what=f"hub {median(push_times['hub']) * 1e3:.0f} ms vs file:// "
                             f"{median(push_times['file']) * 1e3:.0f} ms, {args.commits} commits")
            git_dir = Path(subject["git_dir"])
            sha = subprocess.run(["git", "--git-dir", str(git_dir), "rev-parse", "refs/heads/main"],
                                 capture_output=True, text=True, check=True, timeout=30).stdout.strip()
            _recorded_request(report, hub=hub, repo_id=subject["repo_id"], git_dir=git_dir, sha=sha, tmp=tmp,
                              rounds=args.rounds)
            _clones(report, hub=hub, hub_pid=proc.pid, repo_id=subject["repo_id"], git_dir=git_dir, tmp=tmp,
                    env=env, rounds=args.rounds, parallel=args.parallel)
    return report.summary(strict=args.strict)


if __name__ == "__main__":
    raise SystemExit(main())
