"""The Xet client matrix: older huggingface_hub + hf-xet pairs against the hub's CAS.

The newest pair (the project's venv) and huggingface_hub 0.36 (`.venv-hf0`, Xet negotiated
through the LFS batch API) run in test_xet_hub.py; here the venvs `make venv-xet` builds:
huggingface_hub 1.26 + hf-xet 1.5 (no v2 shard route, no grants) and huggingface_hub 1.33 +
hf-xet 1.6 (v2 shards, which the hub answers 404). Each uploads a file through Xet, reads it back
(whole and a range), and reads a file another client version uploaded.
"""
from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

from tests.compat.conftest import no_errors, unique_suffix
from tests.compat.test_xet_hub import client, sha, tree_xet_hashes
from tests.live import ROOT, _missing

pytestmark = pytest.mark.live

MATRIX = {"xet-a": ("1.26.", "1.5."), "xet-b": ("1.33.", "1.6.")}


def matrix_python(name: str) -> Path:
    python = ROOT / f".venv-{name}" / "bin" / "python"
    if not python.exists():
        _missing(f"the Xet client venv .venv-{name}", "make venv-xet")
    return python


@pytest.mark.parametrize("name", sorted(MATRIX))
def test_older_xet_clients_upload_and_download(live_hub, compat_users, tmp_path, name) -> None:
    python = matrix_python(name)
    repo = f"{compat_users.alice}/matrix-{name}-{unique_suffix()}"
    data = random.Random(name).randbytes(3_000_000)
    newest = random.Random(name + "new").randbytes(1_000_000)
    (tmp_path / "m.bin").write_bytes(data)
    (tmp_path / "n.bin").write_bytes(newest)
    up = client(python, live_hub, compat_users.alice_token, tmp_path / "up",
                {"op": "upload", "repo": repo, "create": True, "files": {"m.bin": str(tmp_path / "m.bin")}})
    no_errors(up)
    hub_version, xet_version = MATRIX[name]
    assert up["out"]["client_version"].startswith(hub_version)
    # The newest client adds a file: the older one must read it through Xet as well.
    no_errors(client(sys.executable, live_hub, compat_users.alice_token, tmp_path / "new",
                     {"op": "upload", "repo": repo, "files": {"n.bin": str(tmp_path / "n.bin")}}))
    hashes = tree_xet_hashes(live_hub, repo, compat_users.alice_token)
    assert hashes["m.bin"] and hashes["n.bin"]
    down = client(python, live_hub, compat_users.bob_token, tmp_path / "down",
                  {"op": "download", "repo": repo, "files": ["m.bin", "n.bin"], "range": ["m.bin", 1_234_567, 400_000]})
    no_errors(down)
    assert down["out"]["hf_hub_download"] == {"m.bin": sha(data), "n.bin": sha(newest)}
    assert down["out"]["range_sha256"] == sha(data[1_234_567:1_634_567])
    assert down["out"]["hf_xet_version"].startswith(xet_version)
