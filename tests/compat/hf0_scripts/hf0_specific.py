"""What only the 0.x client (huggingface_hub 0.36, requests-based) does differently
(HF_PROTOCOL.md §12): `login()` indexing whoami's `auth.accessToken` fields, the token file,
`update_repo_visibility` returning the response JSON, `direction=-1` and `full=True` on lists
(requests sends `True`), `local_dir` downloads that re-hash LFS files against the ETag, and the
metadata HEAD read by `get_hf_file_metadata`.

Run with no HF_TOKEN: `login(token)` must make every later call authenticated.
`python hf0_specific.py CONFIG.json`, CONFIG: `owner`, `token`, `bob_token`, `suffix`, `work`.
"""
from __future__ import annotations

import json
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))

import huggingface_hub  # noqa: E402
from _harness import Recorder, git_blob_sha1, sha256  # noqa: E402
from huggingface_hub import HfApi, get_hf_file_metadata, hf_hub_download, hf_hub_url, login  # noqa: E402


def main() -> None:
    cfg = json.loads(Path(sys.argv[1]).read_text())
    owner, suffix, work = cfg["owner"], cfg["suffix"], Path(cfg["work"])
    rec = Recorder()
    out = rec.out
    out["client_version"] = huggingface_hub.__version__
    api = HfApi()
    with rec.step("login"):
        login(token=cfg["token"], add_to_git_credential=False)
        out["token_file"] = (Path(os.environ["HF_HOME"]) / "token").read_text().strip() == cfg["token"]
        me = api.whoami()
        out["whoami"] = {"name": me["name"], "role": me["auth"]["accessToken"]["role"],
                         "has_display_name": bool(me["auth"]["accessToken"]["displayName"])}

    older, newer = f"{owner}/older-{suffix}", f"{owner}/newer-{suffix}"
    big = random.Random(suffix).randbytes(2 * 1024 * 1024 + 5)
    with rec.step("repos"):
        api.create_repo(older)
        api.upload_file(path_or_fileobj=b'{"a": 1}\n', path_in_repo="config.json", repo_id=older)
        time.sleep(1.1)  # distinct lastModified seconds
        api.create_repo(newer)
        api.upload_file(path_or_fileobj=big, path_in_repo="weights.bin", repo_id=newer)
    with rec.step("list_models"):
        out["sorted_desc"] = [m.id for m in api.list_models(search=suffix, sort="lastModified", direction=-1)]
        # `full=True` arrives as `full=True` (requests): the hub must still read it as true.
        # (The hub's list items carry no `siblings`, which the protocol allows.)
        out["full_sha"] = {m.id: m.sha == api.model_info(m.id).sha for m in api.list_models(search=suffix, full=True)}
    with rec.step("visibility"):
        out["visibility_response"] = api.update_repo_visibility(older, private=True)
        out["bob_sees_private"] = HfApi(token=cfg["bob_token"]).repo_exists(older)
        out["visibility_back"] = api.update_repo_visibility(older, private=False)
    with rec.step("metadata_head"):
        regular = get_hf_file_metadata(hf_hub_url(older, "config.json"))
        lfs = get_hf_file_metadata(hf_hub_url(newer, "weights.bin"))
        head = api.model_info(newer).sha
        out["metadata"] = {
            "regular": [regular.etag == git_blob_sha1(b'{"a": 1}\n'), regular.size, regular.commit_hash
                        == api.model_info(older).sha],
            "lfs": [lfs.etag == sha256(big), lfs.size == len(big), lfs.commit_hash == head],
        }
    with rec.step("local_dir"):
        target = work / "local"
        first = Path(hf_hub_download(newer, "weights.bin", local_dir=target))
        mtime = first.stat().st_mtime_ns
        second = Path(hf_hub_download(newer, "weights.bin", local_dir=target))
        out["local_dir"] = {"content_ok": sha256(first.read_bytes()) == sha256(big),
                            "same_path": first == second, "not_rewritten": second.stat().st_mtime_ns == mtime}
    rec.finish()


if __name__ == "__main__":
    main()
