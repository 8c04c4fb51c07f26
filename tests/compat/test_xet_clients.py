"""Clients that have hf_xet installed and Xet *not* disabled, as many users run them."""
from __future__ import annotations

import pytest

from tests.compat.conftest import CLIENTS, SCRIPTS, client_python, no_errors, run_client, unique_suffix

pytestmark = pytest.mark.live


@pytest.mark.parametrize("client", CLIENTS)
def test_xet_capable_client(request, live_hub, compat_users, tmp_path, client):
    env = live_hub.client_env(tmp_path / "home", compat_users.alice_token)
    del env["HF_HUB_DISABLE_XET"]
    result = run_client(client_python(request, client), SCRIPTS / "xet_installed.py", env=env,
                        config={"owner": compat_users.alice, "suffix": unique_suffix(), "work": str(tmp_path)},
                        work=tmp_path, timeout=120)
    no_errors(result)
    out = result["out"]
    assert out["xet_available"] is True  # hf_xet is a dependency of both client versions
    assert out["regular_upload"] is True
    if client == "hf0":
        # 0.x offers "xet" in the LFS batch request; the hub answers "basic" and it uploads.
        assert out["lfs_upload"] == "ok"
    else:
        # >= 1.20 asks for a Xet write token without negotiating: the hub refuses with 501.
        assert "501" in out["lfs_upload"] and "xet-write-token" in out["lfs_upload"]
    assert out["files"] == [".gitattributes", "a.txt", "w.safetensors"]
    # Downloads never go through Xet: the hub sends no Xet headers nor xetHash.
    assert out["downloads"] == {"hf_hub_download": True, "snapshot": [".gitattributes", "a.txt", "w.safetensors"],
                                "hffs_range": True}
