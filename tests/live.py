"""A real hub (gunicorn + the production WSGI app) in a subprocess, for real clients.

Session-scoped: one server for the whole run, with its own data directory and database.
With DATABASE_URL pointing at PostgreSQL, a fresh database is created for the server and
dropped afterwards; with CELERY_BROKER_URL pointing at Redis, the server and its worker get a
Redis database of their own (flushed first), so no other worker of the run steals their tasks.
`live_worker` adds a real Celery worker sharing the server's data dir, database and broker.
Every process started here is stopped at teardown, even on failure.

`require_tool(name)` and `hf0_python` skip a test when an external program (git-lfs,
chromium) or the huggingface_hub 0.x virtualenv is missing, with the install command as the
reason; on CI (CI=true) they fail instead, since .ci/run installs everything.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
HF0_PYTHON = ROOT / ".venv-hf0" / "bin" / "python"
WORKER_QUEUES = "default,eval,gpu"
# Redis databases of the broker (when CELERY_BROKER_URL is redis://): the pytest process keeps
# the configured one; each hub started here consumes from its own.
LIVE_HUB_REDIS_DB = 1
RUN_HUB_REDIS_DB = 2
SCRATCH_HUB_REDIS_DB = 3  # short-lived hubs of one module or one test (isolated_hub's default)


def _missing(what: str, install: str) -> None:
    message = f"{what} is not installed ({install})"
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(f"{message}; .ci/run must install it", pytrace=False)
    pytest.skip(message)


def require_tool(name: str) -> str:
    """The path of external program `name`; skips the test when it is missing (fails on CI)."""
    path = shutil.which(name)
    if path is None:
        _missing(name, f"apt-get install -y {name}")
    return path  # type: ignore[return-value]


@pytest.fixture(scope="session")
def hf0_python() -> Path:
    """The interpreter of the virtualenv holding the huggingface_hub 0.x client."""
    if not HF0_PYTHON.exists():
        _missing("the huggingface_hub 0.x virtualenv .venv-hf0", "make venv-hf0")
    return HF0_PYTHON


def isolated_broker_url(db: int) -> str | None:
    """CELERY_BROKER_URL moved to Redis database `db` and emptied, or None when the broker is
    not Redis (the filesystem broker lives in each hub's data dir and is isolated already)."""
    base = os.environ.get("CELERY_BROKER_URL", "")
    if not base.startswith(("redis://", "rediss://")):
        return None
    url = urllib.parse.urlsplit(base)._replace(path=f"/{db}").geturl()
    import redis

    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()
    return url


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate: Callable[[], object], timeout: float, what: str, *, every: float = 0.05) -> None:
    """Poll `predicate` until it holds; fail naming `what` after `timeout` seconds. The one way
    tests wait on another process (never a fixed sleep): `every` is only the poll interval."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(every)


def wait_http(url: str, timeout: float = 60.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except Exception:
            time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout}s")


def stop_process(proc: subprocess.Popen, timeout: float = 15.0) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


@dataclass
class LiveHub:
    url: str
    port: int
    data_dir: Path
    env: dict[str, str]
    tokens: dict[str, str] = field(default_factory=dict)
    log_path: Path | None = None

    def manage(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run([PYTHON, str(ROOT / "manage.py"), *args], env=self.env, cwd=ROOT,
                              capture_output=True, text=True, check=check, timeout=120)

    def create_user(self, name: str, *, admin: bool = False) -> str:
        """Create a user with a write token through the operator commands; return the token."""
        if name not in self.tokens:
            args = ["users", "create", name, "--password", f"{name}-Pa55word!", "--email", f"{name}@example.com"]
            self.manage(*args, *(["--admin"] if admin else []))
            self.tokens[name] = self.manage("tokens", "create", name, "--scope", "write").stdout.strip()
        return self.tokens[name]

    def read_token(self, name: str) -> str:
        self.create_user(name)
        return self.manage("tokens", "create", name, "--scope", "read", "--name", "ro").stdout.strip()

    def client_env(self, home: Path, token: str | None = None) -> dict[str, str]:
        """Environment for a huggingface_hub client process pointed at this hub."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING"))}
        env.update({
            "HF_ENDPOINT": self.url, "HF_HOME": str(home), "HF_HUB_DISABLE_XET": "1",
            "HF_HUB_DISABLE_TELEMETRY": "1", "DISABLE_SAFETENSORS_CONVERSION": "1",
            "HF_HUB_DISABLE_PROGRESS_BARS": "1", "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1",
        })
        if token:
            env["HF_TOKEN"] = token
        return env


def _create_pg_database(base_url: str) -> tuple[str, str]:
    import psycopg

    name = f"hub_live_{uuid.uuid4().hex[:10]}"
    head, _, _db = base_url.rpartition("/")
    with psycopg.connect(base_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{head}/{name}", name


def _drop_pg_database(base_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(base_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def hub_env(data_dir: Path, port: int, extra_env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a hub process (web, worker, manage.py) on `port` with `data_dir`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING"))}
    env.update({
        "DJANGO_SETTINGS_MODULE": "hub.settings.dev",
        "HUB_DATA_DIR": str(data_dir),
        "HUB_PORT": str(port),
        "HUB_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "SECRET_KEY": "live-test-secret-" + uuid.uuid4().hex,
        "PYTHONUNBUFFERED": "1",
    })
    env.update(extra_env or {})
    return env


def start_hub(tmp: Path, *, workers: int = 2,
              extra_env: dict[str, str] | None = None) -> tuple[LiveHub, subprocess.Popen]:
    port = free_port()
    data_dir = tmp / "data"
    env = hub_env(data_dir, port, extra_env)
    hub = LiveHub(url=f"http://127.0.0.1:{port}", port=port, data_dir=data_dir, env=env)
    hub.manage("migrate", "--noinput")
    log_path = tmp / "server.log"
    hub.log_path = log_path
    log = open(log_path, "wb")
    proc = subprocess.Popen(
        [PYTHON, "-m", "gunicorn", "hub.wsgi:application", "-c", str(ROOT / "hub" / "gunicorn_conf.py"),
         "--bind", f"127.0.0.1:{port}", "--workers", str(workers)],
        env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        wait_http(f"{hub.url}/api/agent-harnesses", proc=proc)
    except Exception:
        stop_process(proc)
        raise RuntimeError("hub did not start:\n" + log_path.read_text()[-4000:]) from None
    return hub, proc


@contextmanager
def isolated_database() -> Iterator[str | None]:
    """With DATABASE_URL on PostgreSQL, the URL of a fresh database for one hub, dropped on
    exit; None otherwise (the hub then keeps SQLite in its own data dir)."""
    base_db = os.environ.get("DATABASE_URL", "")
    if not base_db.startswith("postgres"):
        yield None
        return
    url, name = _create_pg_database(base_db)
    try:
        yield url
    finally:
        _drop_pg_database(base_db, name)


@contextmanager
def isolated_hub(tmp: Path, *, workers: int = 2, extra_env: dict[str, str] | None = None,
                 redis_db: int = SCRATCH_HUB_REDIS_DB) -> Iterator[tuple[LiveHub, subprocess.Popen]]:
    """A hub process on a database of its own (PostgreSQL: created here, dropped on exit) and,
    with a Redis broker, on Redis database `redis_db` emptied first, stopped on exit. Hubs of
    one test session never see each other's users, repositories or queued tasks."""
    env = dict(extra_env or {})
    with isolated_database() as database_url:
        if database_url:
            env["DATABASE_URL"] = database_url
        if broker := isolated_broker_url(redis_db):
            env["CELERY_BROKER_URL"] = broker
        hub, proc = start_hub(tmp, workers=workers, extra_env=env)
        try:
            yield hub, proc
        finally:
            stop_process(proc)


@pytest.fixture(scope="session")
def live_hub() -> Iterator[LiveHub]:
    tmp = Path(tempfile.mkdtemp(prefix="hub-live-"))
    try:
        with isolated_hub(tmp, redis_db=LIVE_HUB_REDIS_DB) as (hub, _proc):
            yield hub
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@dataclass
class LiveWorker:
    proc: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def start_worker(hub: LiveHub, log_path: Path, *, timeout: float = 60.0) -> LiveWorker:
    """A Celery worker (the same command as `make run`'s) with the hub's environment, started
    in its own process group; returns once it reports ready.

    Tasks queued before the worker existed (every commit in earlier tests schedules an
    analysis) are purged first: the tests that need the worker enqueue after it started.
    """
    hub_purge = subprocess.run([PYTHON, "-m", "celery", "-A", "hub", "purge", "-f"], env=hub.env, cwd=ROOT,
                               capture_output=True, text=True, timeout=60)
    if hub_purge.returncode != 0:
        raise RuntimeError("celery purge failed:\n" + hub_purge.stderr[-2000:])
    log = open(log_path, "wb")
    proc = subprocess.Popen(
        [PYTHON, "-m", "celery", "-A", "hub", "worker", "-Q", WORKER_QUEUES, "--concurrency", "1",
         "--pool", "prefork", "--loglevel", "INFO", "--hostname", f"live-{uuid.uuid4().hex[:8]}@%h"],
        env=hub.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    log.close()
    worker = LiveWorker(proc=proc, log_path=log_path)
    deadline = time.monotonic() + timeout
    while " ready." not in worker.log():
        if proc.poll() is not None or time.monotonic() > deadline:
            stop_process(proc)
            raise RuntimeError("celery worker did not start:\n" + worker.log()[-4000:])
        time.sleep(0.2)
    return worker


@pytest.fixture(scope="session")
def live_worker(live_hub: LiveHub) -> Iterator[LiveWorker]:
    """A real Celery worker consuming the live hub's queues (default, eval, gpu)."""
    worker = start_worker(live_hub, live_hub.data_dir.parent / "worker.log")
    try:
        yield worker
    finally:
        stop_process(worker.proc)
