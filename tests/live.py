"""A real hub (gunicorn + the production WSGI app) in a subprocess, for real clients.

Session-scoped: one server for the whole run, with its own data directory and database.
With DATABASE_URL pointing at PostgreSQL, a fresh database is created for the server and
dropped afterwards. Every process started here is stopped at teardown, even on failure.
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
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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


def start_hub(tmp: Path, *, workers: int = 2, extra_env: dict[str, str] | None = None) -> tuple[LiveHub, subprocess.Popen]:
    port = free_port()
    data_dir = tmp / "data"
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


@pytest.fixture(scope="session")
def live_hub() -> Iterator[LiveHub]:
    tmp = Path(tempfile.mkdtemp(prefix="hub-live-"))
    base_db = os.environ.get("DATABASE_URL", "")
    pg_name = None
    extra: dict[str, str] = {}
    if base_db.startswith("postgres"):
        extra["DATABASE_URL"], pg_name = _create_pg_database(base_db)
    hub, proc = start_hub(tmp, extra_env=extra)
    try:
        yield hub
    finally:
        stop_process(proc)
        if pg_name:
            _drop_pg_database(base_db, pg_name)
        shutil.rmtree(tmp, ignore_errors=True)
