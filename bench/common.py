"""What every bench script shares: servers it starts and always stops, process accounting
from /proc, random test files, and the one output format (`name: value (target X)`).

Everything listens on 127.0.0.1 only. Every child runs in its own process group and is
stopped in a `finally`, including on SIGTERM, SIGINT and the script's own deadline.
"""
from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import os
import shutil
import signal
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tests.live import LiveHub, free_port, isolated_hub, stop_process

ROOT = Path(__file__).resolve().parent.parent
NGINX = "/usr/sbin/nginx"
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
MiB = 1024 * 1024
GiB = 1024 * MiB
BENCH_USER = "bencher"


# ---------------------------------------------------------------------- run control


class Deadline(Exception):
    """The script ran past its time budget."""


def _raise_deadline(signum: int, frame: object) -> None:
    raise Deadline("bench deadline reached")


def _raise_exit(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def install_deadline(seconds: int) -> None:
    """Abort with `Deadline` after `seconds`, and turn SIGTERM into SystemExit, so the
    `finally` blocks that stop servers always run."""
    signal.signal(signal.SIGALRM, _raise_deadline)
    signal.signal(signal.SIGTERM, _raise_exit)
    signal.alarm(seconds)


@contextlib.contextmanager
def temp_dir(prefix: str) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


# ---------------------------------------------------------------------- output


@dataclass
class Report:
    """Collects measured ratios; prints each as it is measured, a summary at the end."""

    title: str
    results: list[tuple[str, float, str, bool]] = field(default_factory=list)

    def __post_init__(self) -> None:
        print(f"# {self.title} ({os.cpu_count()} cores; baseline run side by side)", flush=True)

    def ratio(self, name: str, value: float, *, target: float, higher_is_better: bool) -> None:
        ok = value >= target if higher_is_better else value <= target
        op = ">=" if higher_is_better else "<="
        print(f"{name}: {value:.3f} (target {op} {target})", flush=True)
        self.results.append((name, value, f"{op} {target}", ok))

    def limit(self, name: str, value: float, *, below: float, unit: str) -> None:
        ok = value < below
        print(f"{name}: {value:.1f} {unit} (target < {below:g} {unit})", flush=True)
        self.results.append((name, value, f"< {below:g} {unit}", ok))

    def note(self, name: str, value: float, *, what: str) -> None:
        """A ratio the issue asks to report without a target."""
        print(f"{name}: {value:.3f} (no target; {what})", flush=True)

    def at_most(self, name: str, value: int, *, target: int) -> None:
        print(f"{name}: {value} (target <= {target})", flush=True)
        self.results.append((name, value, f"<= {target}", value <= target))

    def info(self, name: str, value: str) -> None:
        print(f"  {name}: {value}", flush=True)

    def summary(self, *, strict: bool = False) -> int:
        """Print the tally; the exit status is 1 for a missed target only with `strict`."""
        missed = [name for name, _v, _t, ok in self.results if not ok]
        met = len(self.results) - len(missed)
        print(f"# targets met: {met}/{len(self.results)}" + (f"; missed: {', '.join(missed)}" if missed else ""),
              flush=True)
        return 1 if missed and strict else 0


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


# ---------------------------------------------------------------------- /proc accounting


def child_pids(pid: int) -> list[int]:
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return found
    for tid in tasks:
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            found.extend(int(p) for p in Path(f"/proc/{pid}/task/{tid}/children").read_text().split())
    return found


def tree_pids(pid: int) -> list[int]:
    """`pid` and all its descendants (gunicorn master + workers, nginx, ...)."""
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        todo.extend(child_pids(current))
    return pids


def cpu_seconds(pids: Sequence[int], *, reaped_children: bool = False) -> float:
    """utime + stime of `pids` (their threads included), in seconds; with `reaped_children`
    also the CPU of their children that exited and were waited for (git subprocesses)."""
    total = 0
    for pid in pids:
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
            if reaped_children:
                total += int(fields[13]) + int(fields[14])  # cutime, cstime
    return total / CLK_TCK


def rss_bytes(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_SIZE
    except (FileNotFoundError, ProcessLookupError):
        return 0


class RssPeak:
    """Samples the RSS of `pids` every few ms in a thread; `growth()` is the largest
    increase of any one of them over its RSS when sampling started."""

    def __init__(self, pids: Sequence[int], interval: float = 0.01) -> None:
        self.pids = list(pids)
        self.interval = interval
        self.start = {pid: rss_bytes(pid) for pid in self.pids}
        self.peak = dict(self.start)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for pid in self.pids:
                self.peak[pid] = max(self.peak[pid], rss_bytes(pid))
            self._stop.wait(self.interval)

    def __enter__(self) -> RssPeak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def growth(self) -> int:
        return max(self.peak[pid] - self.start[pid] for pid in self.pids)


# ---------------------------------------------------------------------- files


def random_file(path: Path, size: int) -> str:
    """Write `size` incompressible bytes to `path`; return their sha256."""
    digest = hashlib.sha256()
    with open(path, "wb") as f:
        left = size
        while left:
            chunk = os.urandom(min(left, 4 * MiB))
            digest.update(chunk)
            f.write(chunk)
            left -= len(chunk)
    return digest.hexdigest()


def drop_cache(*paths: Path) -> None:
    """Drop these files' pages from the page cache (posix_fadvise DONTNEED; clean pages only,
    so callers sync first), so the next read comes from the disk."""
    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


# ---------------------------------------------------------------------- servers


@contextlib.contextmanager
def hub_server(tmp: Path, *, workers: int = 2, extra_env: dict[str, str] | None = None
               ) -> Iterator[tuple[LiveHub, subprocess.Popen]]:
    """A hub (gunicorn with the production config, `workers` processes) and a user
    `BENCH_USER` with a write token in `hub.tokens`. On PostgreSQL (and Redis) the hub gets a
    database (and broker database) of its own, dropped on exit: benches run one after another
    in the same test session, and each starts from an empty hub."""
    with isolated_hub(tmp, workers=workers, extra_env=extra_env) as (hub, proc):
        hub.create_user(BENCH_USER)
        yield hub, proc


def seed(hub: LiveHub, **arguments: object) -> dict:
    """`bench.seed.seed_repo` inside the hub's own Django (its data dir and database)."""
    code = f"from bench.seed import seed_repo_json; seed_repo_json({json.dumps(arguments)!r})"
    out = hub.manage("shell", "-c", code).stdout
    line = next(line for line in out.splitlines() if line.startswith("SEED "))
    return json.loads(line[5:])


@contextlib.contextmanager
def child(argv: Sequence[str], *, log: Path, env: dict[str, str] | None = None,
          cwd: Path | None = None) -> Iterator[subprocess.Popen]:
    with open(log, "wb") as out:
        proc = subprocess.Popen(list(argv), stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd,
                                start_new_session=True)
    try:
        yield proc
    finally:
        stop_process(proc)


NGINX_CONF = """\
daemon off;
master_process off;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 512; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000;
    default_type application/octet-stream;
    client_body_temp_path {tmp}/client_body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        {extra}
    }}
}}
"""


@dataclass
class Nginx:
    url: str
    proc: subprocess.Popen


@contextlib.contextmanager
def nginx_server(tmp: Path, *, root: Path, extra: str = "") -> Iterator[Nginx]:
    """nginx as a single foreground process (no master), serving `root` with sendfile."""
    tmp.mkdir(parents=True, exist_ok=True)
    port = free_port()
    conf = tmp / "nginx.conf"
    conf.write_text(NGINX_CONF.format(tmp=tmp, port=port, root=root, extra=extra))
    with child([NGINX, "-p", str(tmp), "-e", str(tmp / "error.log"), "-c", str(conf)], log=tmp / "stdout.log") as proc:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 10
        while True:
            if proc.poll() is not None:
                raise RuntimeError("nginx did not start:\n" + (tmp / "error.log").read_text()[-2000:])
            with contextlib.suppress(OSError):
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("HEAD", "/")
                conn.getresponse().read()
                conn.close()
                break
            if time.monotonic() > deadline:
                raise RuntimeError("nginx did not answer")
            time.sleep(0.05)
        yield Nginx(url=url, proc=proc)


def curl_download(url: str, *, timeout: float, headers: Sequence[str] = ()) -> tuple[float, int, float]:
    """Download `url` with curl into /dev/null; (seconds, bytes, seconds to the first byte).
    curl is the client for throughput because a Python reader would be the bottleneck on 2 cores."""
    argv = ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code} %{size_download} %{time_total} %{time_starttransfer}",
            "--max-time", str(int(timeout))]
    for header in headers:
        argv += ["-H", header]
    out = subprocess.run([*argv, url], capture_output=True, text=True, timeout=timeout + 5, check=True).stdout
    code, size, seconds, first_byte = out.split()
    if code != "200":
        raise RuntimeError(f"GET {url} answered {code}")
    return float(seconds), int(size), float(first_byte)

