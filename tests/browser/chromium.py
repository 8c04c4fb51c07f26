"""Debian's Chromium, driven by Playwright through its executable path (never a downloaded
browser): the one place that names it and its flags for every browser test."""
from __future__ import annotations

import os

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
requires_chromium = pytest.mark.skipif(not os.path.exists(CHROMIUM),
                                       reason=f"{CHROMIUM} is missing (apt-get install chromium)")
