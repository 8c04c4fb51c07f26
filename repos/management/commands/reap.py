"""`python manage.py reap [--startup | --older-than SECONDS]`: remove what killed writers left.

A push whose `git receive-pack` dies with its web worker leaves its quarantine
(`objects/tmp_objdir-incoming-*`, never part of the repository); an upload whose process dies
leaves its `.part` temporary file in the byte door's temp dir. Neither is ever referenced; both
only cost disk. This removes them:

* by default, only those older than any live writer can be (`HUB_REAP_AGE`, default
  `HUB_GIT_TIMEOUT` + 10 minutes: receive-pack is killed at `HUB_GIT_TIMEOUT`, and an upload
  writes its temporary file continuously, so a live one is always recent). Safe while the hub
  serves; `make run` (scripts/run_hub.py) runs it every `HUB_REAP_INTERVAL` seconds, a
  scaled-out deployment from cron or a timer.
* with `--startup`, everything: only while no web server or worker uses this data directory
  (`make run` does it before it starts them).
"""
from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from repos import objects
from repos.git.quarantine import reap_stale_quarantines
from repos.models import Repository

DEFAULT_GIT_TIMEOUT = 3600.0
AGE_MARGIN = 600.0


def default_reap_age() -> float:
    """Seconds after which a quarantine or temporary file cannot belong to a live writer."""
    configured = getattr(settings, "HUB_REAP_AGE", None)
    if configured is not None:
        return float(configured)
    return float(getattr(settings, "HUB_GIT_TIMEOUT", DEFAULT_GIT_TIMEOUT)) + AGE_MARGIN


class Command(BaseCommand):
    help = "Remove push quarantines and upload temporaries left by killed processes."

    def add_arguments(self, parser: CommandParser) -> None:
        when = parser.add_mutually_exclusive_group()
        when.add_argument("--startup", action="store_true",
                          help="Nothing uses the data directory now (before the hub starts): remove all.")
        when.add_argument("--older-than", type=float, default=None, metavar="SECONDS",
                          help="Remove only what is older than this (default: HUB_REAP_AGE).")

    def handle(self, *args: Any, **options: Any) -> None:
        age = 0.0 if options["startup"] else options["older_than"]
        if age is None:
            age = default_reap_age()
        quarantines = 0
        for repo in Repository.objects.only("storage_key").iterator():
            quarantines += reap_stale_quarantines(repo.git_dir, older_than=age)
        temporaries = objects.purge_stale_temporaries(older_than_s=age)
        if options["verbosity"] >= 1 or quarantines or temporaries:
            self.stdout.write(f"reaped {quarantines} push quarantine(s) and {temporaries} upload temporary file(s)"
                              f" older than {age:g}s")
