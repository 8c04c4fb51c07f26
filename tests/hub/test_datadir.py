"""The first-run rules (hub/datadir.py): one data directory for every process, a clear error
instead of a traceback and an empty ./data, and `manage.py endpoint` finding the running hub."""
from __future__ import annotations

import io
import os
import sqlite3
import subprocess
from pathlib import Path

import pytest
from django.core.management import call_command

from hub import datadir
from tests.live import PYTHON, ROOT


def test_the_data_dir_is_found_the_same_way_from_anywhere() -> None:
    assert datadir.data_dir({}) == ROOT / "data"
    assert datadir.data_dir({"HUB_DATA_DIR": ""}) == ROOT / "data"
    assert datadir.data_dir({"HUB_DATA_DIR": "/srv/hub"}) == Path("/srv/hub")
    # Relative to the checkout, not to the current directory of whoever runs the command.
    assert datadir.data_dir({"HUB_DATA_DIR": "var/hub"}) == ROOT / "var" / "hub"
    assert datadir.sqlite_path({"HUB_DATA_DIR": "/srv/hub"}) == Path("/srv/hub/db.sqlite3")
    assert datadir.sqlite_path({"DATABASE_URL": "sqlite:////tmp/x.db"}) == Path("/tmp/x.db")
    assert datadir.sqlite_path({"DATABASE_URL": "postgres://h/db"}) is None


def _manage(*args: str, data: Path, **extra: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "HUB_DATA_DIR", "DJANGO_SETTINGS_MODULE")}
    env.update({"HUB_DATA_DIR": str(data), "SECRET_KEY": "datadir-test-key", **extra})
    return subprocess.run([PYTHON, str(ROOT / "manage.py"), *args], env=env, cwd="/", capture_output=True,
                          text=True, timeout=120)


def test_operator_commands_without_a_database_say_what_to_do(tmp_path: Path) -> None:
    data = tmp_path / "data"
    for args in (["users", "create", "alice", "--password", "long-Passw0rd!"],
                 ["tokens", "create", "alice", "--scope", "write"], ["endpoint"]):
        result = _manage(*args, data=data)
        assert result.returncode == 2, result
        assert "HUB_DATA_DIR" in result.stderr and str(data) in result.stderr and "make run" in result.stderr
        assert "Traceback" not in result.stderr and result.stdout == ""
        assert not data.exists()  # nothing created as a side effect
    # Help needs no database; neither do the commands that set a hub up.
    assert _manage("users", "--help", data=data).returncode == 0
    assert _manage("check", data=data).returncode == 0


def test_an_unmigrated_database_is_named_too(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    sqlite3.connect(data / "db.sqlite3").close()  # what a bare sqlite connect leaves behind
    result = _manage("users", "create", "alice", "--password", "long-Passw0rd!", data=data)
    assert result.returncode == 2 and "never migrated" in result.stderr and "Traceback" not in result.stderr


def test_endpoint_prints_the_running_hubs_url_else_the_configured_one(settings, tmp_path: Path) -> None:
    settings.DATA_DIR = tmp_path
    settings.PUBLIC_URL = "http://127.0.0.1:8000"
    datadir.record_run(tmp_path, url="http://127.0.0.1:8123", pid=os.getpid())
    out = io.StringIO()
    call_command("endpoint", stdout=out)
    assert out.getvalue().strip() == "http://127.0.0.1:8123"
    dead = subprocess.Popen(["true"])
    dead.wait()
    datadir.record_run(tmp_path, url="http://127.0.0.1:8123", pid=dead.pid)
    out, err = io.StringIO(), io.StringIO()
    call_command("endpoint", stdout=out, stderr=err)
    assert out.getvalue().strip() == "http://127.0.0.1:8000" and "No hub is running" in err.getvalue()


@pytest.mark.parametrize("argv", [["manage.py"], ["manage.py", "migrate"], ["manage.py", "--version"],
                                  ["manage.py", "tokens", "-h"]])
def test_setup_and_help_run_without_a_database(argv: list[str], tmp_path: Path) -> None:
    assert datadir.database_problem(argv, {"HUB_DATA_DIR": str(tmp_path / "none")}) is None
