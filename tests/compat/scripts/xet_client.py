"""A huggingface_hub client with hf_xet and Xet *enabled*, against the hub's Xet CAS.

Runs under any client version of the matrix (0.36 negotiates Xet through the LFS batch API,
>= 1.20 uses it unconditionally), so stdlib and huggingface_hub only.

`python xet_client.py CONFIG.json`; CONFIG: `op` and its arguments:
  upload     `repo`, `files` {path_in_repo: local path}, `create` (bool), `create_pr` (bool),
             `folder` (upload_folder of this local dir instead of `files`)
  download   `repo`, `files` {path_in_repo: sha256}, `revision`, `range` ([path, start, length])
Prints `out` with what happened: commit/pr refs, downloaded sha256s, the hf_xet version.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import huggingface_hub  # noqa: E402
from _harness import Recorder, sha256  # noqa: E402
from huggingface_hub import HfApi, HfFileSystem, hf_hub_download, snapshot_download  # noqa: E402


def upload(rec: Recorder, cfg: dict) -> None:
    api = HfApi()
    repo = cfg["repo"]
    with rec.step("upload"):
        if cfg.get("create"):
            api.create_repo(repo, exist_ok=True)
        if cfg.get("folder"):
            info = api.upload_folder(folder_path=cfg["folder"], repo_id=repo, commit_message="folder")
            rec.out["commit"] = info.oid
        for path_in_repo, local in cfg.get("files", {}).items():
            info = api.upload_file(path_or_fileobj=local, path_in_repo=path_in_repo, repo_id=repo,
                                   create_pr=bool(cfg.get("create_pr")))
            rec.out["commit"] = info.oid
            rec.out["pr_revision"] = getattr(info, "pr_revision", None)
        revision = rec.out.get("pr_revision") or "main"
        rec.out["xet_hashes"] = {f.path: getattr(f, "xet_hash", None)
                                 for f in api.list_repo_tree(repo, revision=revision, recursive=True)
                                 if hasattr(f, "lfs")}


def download(rec: Recorder, cfg: dict) -> None:
    repo, revision = cfg["repo"], cfg.get("revision")
    got: dict[str, str] = {}
    with rec.step("hf_hub_download"):
        for path in cfg["files"]:
            got[path] = sha256(Path(hf_hub_download(repo, path, revision=revision)).read_bytes())
    rec.out["hf_hub_download"] = got
    with rec.step("snapshot_download"):
        snap = Path(snapshot_download(repo, revision=revision, cache_dir=cfg["work"] + "/snap-cache"))
        rec.out["snapshot"] = {str(p.relative_to(snap)): sha256(p.read_bytes())
                               for p in sorted(snap.rglob("*")) if p.is_file()}
    if cfg.get("range"):
        path, start, length = cfg["range"]
        with rec.step("hffs_range"):
            with HfFileSystem().open(f"{repo}/{path}", "rb", revision=revision) as f:
                f.seek(start)
                rec.out["range_sha256"] = sha256(f.read(length))


def main() -> None:
    cfg = json.loads(Path(sys.argv[1]).read_text())
    rec = Recorder()
    rec.out["client_version"] = huggingface_hub.__version__
    from importlib.metadata import PackageNotFoundError, version

    try:
        rec.out["hf_xet_version"] = version("hf-xet")
    except PackageNotFoundError:
        rec.out["hf_xet_version"] = None
    {"upload": upload, "download": download}[cfg["op"]](rec, cfg)
    rec.finish()


if __name__ == "__main__":
    main()
