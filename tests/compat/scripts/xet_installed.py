"""A client with hf_xet installed and HF_HUB_DISABLE_XET *unset* (the default for many users).

Uploads of regular-mode files never touch Xet. LFS-mode uploads: 0.x negotiates (the hub
answers "xet") and >= 1.20 goes to Xet unconditionally: both go through the hub's Xet CAS
(XET.md); downloads work for every version, through Xet where the hub advertises it.

`python xet_installed.py CONFIG.json`, CONFIG: `owner`, `suffix`, `work`, `private` (optional).
"""
from __future__ import annotations

import json
import os
import random
import sys
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import huggingface_hub  # noqa: E402
from _harness import Recorder, sha256  # noqa: E402
from huggingface_hub import HfApi, HfFileSystem, constants, hf_hub_download, snapshot_download  # noqa: E402
from huggingface_hub.utils._runtime import is_xet_available  # noqa: E402


def main() -> None:
    cfg = json.loads(Path(sys.argv[1]).read_text())
    repo = f"{cfg['owner']}/xet-{cfg['suffix']}"
    rec = Recorder()
    out = rec.out
    out["client_version"] = huggingface_hub.__version__
    out["xet_available"] = is_xet_available()
    api = HfApi()
    weights = random.Random(cfg["suffix"]).randbytes(300_000)
    with rec.step("setup"):
        api.create_repo(repo, private=bool(cfg.get("private")))
        out["regular_upload"] = bool(api.upload_file(path_or_fileobj=b"plain\n", path_in_repo="a.txt",
                                                     repo_id=repo).oid)
    try:
        api.upload_file(path_or_fileobj=weights, path_in_repo="w.safetensors", repo_id=repo)
        out["lfs_upload"] = "ok"
    except Exception as exc:  # noqa: BLE001
        out["lfs_upload"] = f"{type(exc).__name__}: {exc}"
        # Put the file there through the LFS protocol, then go back to the Xet-enabled client.
        with rec.step("lfs_upload_without_xet"):
            constants.HF_HUB_DISABLE_XET = True
            try:
                api.upload_file(path_or_fileobj=weights, path_in_repo="w.safetensors", repo_id=repo)
            finally:
                constants.HF_HUB_DISABLE_XET = False
    out["files"] = sorted(api.list_repo_files(repo))
    with rec.step("downloads"):
        snap = Path(snapshot_download(repo))
        with HfFileSystem().open(f"{repo}/w.safetensors", "rb") as f:
            f.seek(1000)
            chunk = f.read(5000)
        out["downloads"] = {
            "hf_hub_download": sha256(Path(hf_hub_download(repo, "w.safetensors")).read_bytes()) == sha256(weights),
            "snapshot": sorted(p.name for p in snap.iterdir()),
            "hffs_range": chunk == weights[1000:6000],
        }
    rec.finish()


if __name__ == "__main__":
    main()
