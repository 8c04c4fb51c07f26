"""Clients that have hf_xet installed and Xet *not* disabled, as many users run them."""
from __future__ import annotations

import random

import pytest

from tests.compat.conftest import CLIENTS, SCRIPTS, client_python, no_errors, run_client, unique_suffix

pytestmark = pytest.mark.live


@pytest.mark.parametrize("private", [False, True], ids=["public", "private"])
@pytest.mark.parametrize("client", CLIENTS)
def test_xet_capable_client(request, live_hub, compat_users, tmp_path, client, private):
    env = live_hub.client_env(tmp_path / "home", compat_users.alice_token)
    del env["HF_HUB_DISABLE_XET"]
    suffix = unique_suffix()
    result = run_client(client_python(request, client), SCRIPTS / "xet_installed.py", env=env,
                        config={"owner": compat_users.alice, "suffix": suffix, "work": str(tmp_path),
                                "private": private},
                        work=tmp_path, timeout=120)
    no_errors(result)
    out = result["out"]
    assert out["xet_available"] is True  # hf_xet is a dependency of both client versions
    assert out["regular_upload"] is True
    # 0.x offers "xet" in the LFS batch request and the hub accepts it; >= 1.20 asks for a Xet
    # write token without negotiating. Both upload through the hub's Xet CAS (test_xet_hub.py).
    assert out["lfs_upload"] == "ok"
    assert out["files"] == [".gitattributes", "a.txt", "w.safetensors"]
    # Downloads: through Xet for the Xet-uploaded file, plain HTTP for the rest.
    assert out["downloads"] == {"hf_hub_download": True, "snapshot": [".gitattributes", "a.txt", "w.safetensors"],
                                "hffs_range": True}
    # The weights' bytes on the hub's disk: plain for a public repository (xorbs and object),
    # nowhere for a private one (both encrypted at rest), temporaries included.
    sample = random.Random(suffix).randbytes(300_000)[1000:1064]
    holding = [p for p in live_hub.data_dir.rglob("*") if p.is_file() and sample in p.read_bytes()]
    assert bool(holding) is not private, holding
