"""Where a hub keeps its data, found the same way by every process, and the first-run guard.

`make run` in one terminal and `manage.py users create ...` in another must agree on the data
directory, or the second creates a fresh empty one and dies on "no such table". So:

- `data_dir()` is the one rule (settings use it too): `$HUB_DATA_DIR`, a relative value taken
  from the checkout (not from the current directory), else `<checkout>/data`.
- `make run` records the URL it serves in `<data dir>/run.json` (`record_run`), which
  `manage.py endpoint` prints: a second terminal needs neither HUB_PORT nor HUB_PUBLIC_URL.
- `manage.py` refuses to run a command that needs the database when the data directory has
  none (`database_problem`), with a message naming HUB_DATA_DIR, before Django's settings are
  even loaded: no traceback, and no empty data directory created as a side effect. Commands
  that set a hub up or need no database (migrate, check, collectstatic, help, ...) run anyway.

No Django here: manage.py and scripts/run_hub.py use it before Django is configured.
"""
from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Mapping, Sequence
from pathlib import Path

import dj_database_url

CHECKOUT = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = CHECKOUT / "data"
RUN_RECORD = "run.json"
# manage.py commands that create the database or never open it.
SETUP_COMMANDS = frozenset({
    "migrate", "makemigrations", "squashmigrations", "optimizemigration", "sqlmigrate", "check",
    "collectstatic", "findstatic", "diffsettings", "help", "version", "test", "shell", "sendtestemail",
    "startapp", "startproject", "makemessages", "compilemessages",
})


def data_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """The data directory of this checkout's hub."""
    value = environ.get("HUB_DATA_DIR", "").strip()
    return (CHECKOUT / value).resolve() if value else DEFAULT_DATA_DIR


def sqlite_path(environ: Mapping[str, str] = os.environ) -> Path | None:
    """The SQLite file the hub uses, or None when DATABASE_URL names a database server."""
    url = environ.get("DATABASE_URL", "").strip()
    if not url:
        return data_dir(environ) / "db.sqlite3"
    if not url.startswith("sqlite:"):
        return None
    name = str(dj_database_url.parse(url)["NAME"])  # what the settings will open
    return None if name in ("", ":memory:") else Path(name)


def _where(environ: Mapping[str, str]) -> str:
    if environ.get("HUB_DATA_DIR", "").strip():
        return f"HUB_DATA_DIR is {environ['HUB_DATA_DIR']!r}"
    return f"HUB_DATA_DIR is not set, so the default {DEFAULT_DATA_DIR} is used"


def database_problem(argv: Sequence[str], environ: Mapping[str, str] = os.environ) -> str | None:
    """Why `manage.py <argv>` cannot run against this data directory, or None if it can."""
    args = list(argv[1:])
    if not args or args[0] in SETUP_COMMANDS or args[0].startswith("-") or {"-h", "--help"} & set(args):
        return None
    path = sqlite_path(environ)
    if path is None:
        return None  # a database server: its own errors name it
    start = "Start the hub with `make run` (it creates and migrates the database), then run this again."
    other = ("If a hub is already running with another data directory (`make run` prints \"data in ...\"), "
             "set HUB_DATA_DIR to that directory in this terminal too, e.g. `export HUB_DATA_DIR=/path/to/data`.")
    if not path.exists():
        return f"No ModelHub database at {path} ({_where(environ)}).\n{other}\n{start}"
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as conn:
            migrated = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' "
                                    "AND name = 'django_migrations'").fetchone()
    except sqlite3.Error:
        return None  # unreadable in some other way: Django's error says how
    if migrated is None:
        return (f"The ModelHub database at {path} is empty ({_where(environ)}): it was never migrated.\n"
                f"{start} Or run `manage.py migrate`.")
    return None


def record_run(directory: Path, *, url: str, pid: int) -> Path:
    """Write the record of the hub serving `directory` (what `manage.py endpoint` reads)."""
    path = directory / RUN_RECORD
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"url": url, "pid": pid}) + "\n")
    tmp.replace(path)
    return path


def running_url(directory: Path) -> str | None:
    """The URL of the hub serving `directory` now, from its record; None when none runs."""
    try:
        record = json.loads((directory / RUN_RECORD).read_text())
        os.kill(int(record["pid"]), 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # alive, another user's
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return str(record["url"])
