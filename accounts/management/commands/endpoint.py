"""`python manage.py endpoint`: the URL of the hub serving this data directory (for HF_ENDPOINT).

`make run` records the URL it serves in the data directory (hub/datadir.py), so a second
terminal gets it right whatever HUB_PORT or HUB_PUBLIC_URL the first one used. With no hub
running there, the configured URL (HUB_PUBLIC_URL, or http://127.0.0.1:$HUB_PORT) is printed
and a note on stderr says so.
"""
from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from hub.datadir import running_url


class Command(BaseCommand):
    help = "Print the URL of the hub serving this data directory (use it as HF_ENDPOINT)."

    def handle(self, *args: Any, **options: Any) -> None:
        url = running_url(settings.DATA_DIR)
        if url is None:
            url = settings.PUBLIC_URL
            self.stderr.write(f"No hub is running on {settings.DATA_DIR} (start it with `make run`); "
                              "this is the URL it will serve.")
        self.stdout.write(url)
