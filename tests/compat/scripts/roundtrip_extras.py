"""The second half of the round trip (api_roundtrip.py): pagination through the client's own
Link follower, whoami, stale parent commits, pull-request commits, branches with a slash,
files metadata, visibility switches and renames. Same client-version-neutral API."""
from __future__ import annotations

from pathlib import Path

from _harness import Recorder
from huggingface_hub import CommitOperationAdd, HfApi, constants, hf_hub_download
from huggingface_hub.utils._pagination import paginate  # the client's own Link-header follower


def run_extras(rec: Recorder, *, api: HfApi, bob: HfApi, owner: str, suffix: str, work: Path, model: str) -> None:
    out = rec.out
    with rec.step("tree_pagination"):
        # 60 entries: more than one page of an expanded tree listing (the Hub pages those by 50).
        many_repo = f"{owner}/many-{suffix}"
        api.create_repo(many_repo)
        many = [CommitOperationAdd(f"many/f{i:02d}.txt", f"{i}\n".encode()) for i in range(60)]
        many_sha = api.create_commit(many_repo, many, commit_message="Many files").oid
        entries = list(api.list_repo_tree(many_repo, "many", expand=True))
        out["tree_pagination"] = {
            "count": len(entries), "unique": len({e.path for e in entries}),
            "last_commit_ok": all(e.last_commit is not None and e.last_commit.oid == many_sha for e in entries),
        }
        commits_paged = paginate(f"{constants.ENDPOINT}/api/models/{model}/commits/main", params={"limit": 1},
                                 headers=api._build_hf_headers())
        out["commits_paginated"] = [c["id"] for c in commits_paged]

    extra, moved = f"{owner}/extra-{suffix}", f"{owner}/moved-{suffix}"
    with rec.step("whoami"):
        me = api.whoami()
        out["whoami"] = {"name": me["name"], "type": me.get("type"),
                         "role": me.get("auth", {}).get("accessToken", {}).get("role")}
    with rec.step("extra_setup"):
        api.create_repo(extra)
        first = api.upload_file(path_or_fileobj=b"one\n", path_in_repo="a.txt", repo_id=extra).oid
        api.upload_file(path_or_fileobj=b"two\n", path_in_repo="a.txt", repo_id=extra)
    rec.expect_error("stale_parent_commit", api.upload_file, path_or_fileobj=b"three\n", path_in_repo="a.txt",
                     repo_id=extra, parent_commit=first)
    with rec.step("pull_request"):
        pr = api.create_commit(extra, [CommitOperationAdd("pr.txt", b"from a PR\n")], commit_message="Propose",
                               create_pr=True)
        out["pr"] = {
            "url_tail": pr.pr_url.rsplit("/", 2)[-2:] if pr.pr_url else None,
            "revision": pr.pr_revision,
            "download": Path(hf_hub_download(extra, "pr.txt", revision=pr.pr_revision)).read_text(),
            "on_main": api.file_exists(extra, "pr.txt"),
            "refs": sorted(r.ref for r in api.list_repo_refs(extra, include_pull_requests=True).pull_requests),
            "tree": sorted(e.path for e in api.list_repo_tree(extra, revision=pr.pr_revision)),
        }
    with rec.step("slash_branch"):
        api.create_branch(extra, branch="feature/x")
        api.upload_file(path_or_fileobj=b"feature\n", path_in_repo="dir/f.txt", repo_id=extra, revision="feature/x")
        out["slash_branch"] = {
            "download": Path(hf_hub_download(extra, "dir/f.txt", revision="feature/x")).read_text(),
            "tree": sorted(e.path for e in api.list_repo_tree(extra, "dir", revision="feature/x")),
            "info_sha_is_head": api.model_info(extra, revision="feature/x").sha
            == {b.name: b.target_commit for b in api.list_repo_refs(extra).branches}["feature/x"],
        }
        api.create_tag(extra, tag="t1", revision="feature/x")
        api.delete_branch(extra, branch="feature/x")
        api.delete_tag(extra, tag="t1")
        refs = api.list_repo_refs(extra)
        out["refs_after_delete"] = {"branches": sorted(b.name for b in refs.branches),
                                    "tags": sorted(t.name for t in refs.tags)}
    rec.expect_error("delete_missing_tag", api.delete_tag, extra, tag="t1")
    with rec.step("files_metadata"):
        sib = {s.rfilename: s for s in api.model_info(model, files_metadata=True).siblings}
        big_sib = sib["weights/big.bin"]
        out["files_metadata"] = {
            "config_size": sib["config.json"].size, "config_blob": sib["config.json"].blob_id,
            "big_size": big_sib.size, "big_lfs_sha256": big_sib.lfs.sha256 if big_sib.lfs else None,
            "big_lfs_size": big_sib.lfs.size if big_sib.lfs else None,
        }
    with rec.step("visibility"):
        api.update_repo_settings(extra, private=True)
        out["visibility"] = {"private": api.model_info(extra).private, "bob_exists": bob.repo_exists(extra)}
        api.update_repo_settings(extra, private=False)
        out["visibility"]["bob_exists_after"] = bob.repo_exists(extra)
    with rec.step("move_repo"):
        api.move_repo(extra, moved)
        out["moved"] = {
            "new_id": api.model_info(moved).id,
            # The old name keeps working for downloads (a relative 307 to the new name).
            "old_name_download": Path(hf_hub_download(extra, "a.txt", cache_dir=work / "cache-moved")).read_text(),
        }

