"""Run ``hf_xet_client.py`` against a ``StubCas`` in a fresh process with fresh caches."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from tests.repos.xet.cas_stub import StubCas

CLIENT = Path(__file__).with_name("hf_xet_client.py")
# Generous: the runs take well under a second each, but CI machines can be slow.
TIMEOUT_S = 120


def run_hf_xet(cas: StubCas, cfg: dict[str, Any], *, scope: str = "write") -> list[dict[str, Any]]:
    token, exp = cas.token(scope)
    with tempfile.TemporaryDirectory(prefix="hf-xet-") as home:
        env = {
            **os.environ,
            "HF_HOME": os.path.join(home, "hf"),
            "HF_XET_CACHE": os.path.join(home, "xet"),
            "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        }
        proc = subprocess.run(
            [sys.executable, str(CLIENT), json.dumps({**cfg, "endpoint": cas.url, "token": token, "exp": exp})],
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            env=env,
        )
    if proc.returncode != 0:
        raise AssertionError(f"hf_xet client failed ({proc.returncode}):\n{proc.stderr[-4000:]}\nlog={cas.state.log}")
    result: list[dict[str, Any]] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result
