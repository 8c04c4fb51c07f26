"""Master keys for the tests of encryption at rest, and the fixture that configures one.

`env_master_key` (tests/conftest.py) sets `KEY_A` as HUB_MASTER_KEY (no key file, no
generation) with empty key caches around the test; tests switch to `KEY_B` to play a wrong or
rotated key."""
from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

KEY_A = base64.b64encode(bytes(range(32))).decode()
KEY_B = base64.b64encode(bytes(range(1, 33))).decode()


def configured_master_key(settings: Any, tmp_path: Path) -> Iterator[None]:
    from repos.objects.encryption import forget_keys

    settings.HUB_MASTER_KEY = KEY_A
    settings.HUB_MASTER_KEY_PREVIOUS = None
    settings.HUB_MASTER_KEY_FILE = str(tmp_path / "no-such.key")
    settings.HUB_MASTER_KEY_GENERATE = False
    forget_keys()
    yield
    forget_keys()
