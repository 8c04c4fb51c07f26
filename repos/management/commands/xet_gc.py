"""`python manage.py xet_gc [--grace-hours H] [--limit N]`: collect unused Xet storage now.

The periodic task `repos.xet_collect_garbage` (CELERY_BEAT_SCHEDULE, for `celery -A hub beat`)
runs the same service; see `repos.services.xet.xet_collect_garbage` for what is collected.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from repos.services.xet import xet_collect_garbage


class Command(BaseCommand):
    help = "Delete Xet xorbs, files and shards no repository uses, after a grace period."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--grace-hours", type=float, default=settings.HUB_XET_GC_GRACE / 3600,
                            help="Keep anything used within this many hours (default: HUB_XET_GC_GRACE).")
        parser.add_argument("--limit", type=int, default=10_000, help="At most this many of each kind per run.")

    def handle(self, *args: Any, **options: Any) -> None:
        stats = xet_collect_garbage(grace=timedelta(hours=options["grace_hours"]), limit=options["limit"])
        self.stdout.write(f"files={stats.files} xorbs={stats.xorbs} unindexed_xorb_files={stats.xorb_files} "
                          f"shards={stats.shards}")
