"""The command-line clients: `hf` (newest huggingface_hub) and `huggingface-cli` (0.x) upload a
folder (with an LFS file) into a new private dataset, then download it again."""
from __future__ import annotations

import hashlib
import random
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.compat.conftest import CLIENTS, client_python, unique_suffix

pytestmark = pytest.mark.live


def _cli(python: Path | str, client: str) -> Path:
    return Path(python).parent / ("huggingface-cli" if client == "hf0" else "hf")


@pytest.mark.parametrize("client", CLIENTS)
def test_cli_upload_then_download(request, live_hub, compat_users, tmp_path, client):
    cli = _cli(client_python(request, client), client)
    env = live_hub.client_env(tmp_path / "home", compat_users.alice_token)
    repo = f"{compat_users.alice}/cli-{unique_suffix()}"
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "sub" / "notes.txt").write_text("cli\n")
    weights = random.Random(repo).randbytes(200_000)
    (src / "weights.bin").write_bytes(weights)

    def run(*args: str) -> str:
        proc = subprocess.run([str(cli), *args], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=90)
        assert proc.returncode == 0, (f"{cli.name} {' '.join(args)} failed:\n"
                                      f"{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")
        return proc.stdout

    # Both CLIs create the repository when it does not exist yet.
    run("upload", repo, str(src), ".", "--repo-type", "dataset", "--private")
    dest = tmp_path / "dest"
    run("download", repo, "--repo-type", "dataset", "--local-dir", str(dest))
    assert (dest / "sub" / "notes.txt").read_text() == "cli\n"
    assert hashlib.sha256((dest / "weights.bin").read_bytes()).hexdigest() == hashlib.sha256(weights).hexdigest()
    assert sorted(p.name for p in dest.iterdir() if not p.name.startswith(".")) == ["sub", "weights.bin"]
    # `--private` was honoured: anonymous callers see no such repository.
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(f"{live_hub.url}/api/datasets/{repo}", timeout=10)
    assert missing.value.code == 404 and missing.value.headers["X-Error-Code"] == "RepoNotFound"
