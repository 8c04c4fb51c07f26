"""`manage.py reap`: quarantines and upload temporaries of killed writers are removed; those
of live writers (recent) are left alone unless the hub is not running (`--startup`)."""
from __future__ import annotations

import os
import time
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from repos.git.quarantine import QUARANTINE_PREFIX
from repos.services.repos import repo_create

DAY = 86400


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def _leftovers(tmp_root: Path, git_dir: Path) -> tuple[list[str], list[str]]:
    quarantines = sorted(p.name for p in (git_dir / "objects").iterdir() if p.name.startswith(QUARANTINE_PREFIX))
    temporaries = sorted(p.name for p in tmp_root.iterdir()) if tmp_root.exists() else []
    return quarantines, temporaries


def _plant(git_dir: Path, tmp_root: Path) -> None:
    tmp_root.mkdir(parents=True, exist_ok=True)
    for name, age in (("old", DAY), ("new", 0)):
        quarantine = git_dir / "objects" / f"{QUARANTINE_PREFIX}{name}"
        (quarantine / "pack").mkdir(parents=True)
        (quarantine / "pack" / "tmp_pack_x").write_bytes(b"PACK")
        _age(quarantine, age)
        part = tmp_root / f"{name}-0123456789abcdef.part"
        part.write_bytes(b"partial object")
        _age(part, age)


def _reap(*args: str) -> str:
    out = StringIO()
    call_command("reap", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_reap_removes_only_what_no_live_writer_can_own(alice) -> None:
    repo = repo_create(user=alice, namespace="alice", name="reaped")
    tmp_root = Path(settings.TMP_ROOT)
    _plant(repo.git_dir, tmp_root)

    assert "reaped 1 push quarantine(s)" in _reap()
    quarantines, temporaries = _leftovers(tmp_root, repo.git_dir)
    assert quarantines == [f"{QUARANTINE_PREFIX}new"]
    assert "new-0123456789abcdef.part" in temporaries and "old-0123456789abcdef.part" not in temporaries

    # Before the hub starts nothing is live: everything goes.
    assert "reaped 1 push quarantine(s)" in _reap("--startup")
    assert _leftovers(tmp_root, repo.git_dir) == ([], [])
    assert (repo.git_dir / "objects").is_dir()  # the repository itself is untouched


@pytest.mark.django_db
def test_reap_age_is_configurable(alice, settings) -> None:
    repo = repo_create(user=alice, namespace="alice", name="aged")
    tmp_root = Path(settings.TMP_ROOT)
    _plant(repo.git_dir, tmp_root)
    settings.HUB_REAP_AGE = 2 * DAY
    assert "reaped 0 push quarantine(s)" in _reap()
    assert len(_leftovers(tmp_root, repo.git_dir)[0]) == 2
    assert "reaped 1 push quarantine(s)" in _reap("--older-than", "3600")
    assert _leftovers(tmp_root, repo.git_dir)[0] == [f"{QUARANTINE_PREFIX}new"]
    _reap("--startup")


@pytest.mark.django_db
def test_reap_is_silent_with_verbosity_0_unless_it_removed_something(alice) -> None:
    repo = repo_create(user=alice, namespace="alice", name="quiet")
    _reap("--startup")
    assert _reap("--verbosity", "0") == ""
    _plant(repo.git_dir, Path(settings.TMP_ROOT))
    assert "reaped 1 push quarantine(s)" in _reap("--verbosity", "0")
    _reap("--startup")
