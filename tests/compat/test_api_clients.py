"""The real huggingface_hub clients (newest in .venv, 0.36.2 in .venv-hf0) against a live hub.

One client process per version runs `scripts/api_roundtrip.py` (repos, uploads through LFS,
commits with deletes and copies, branches/tags, listings and their pagination, downloads,
safetensors metadata, HfFileSystem ranges, private repos seen by others, authentication
errors, pull-request commits, renames, deletion); the tests below assert on the concrete
values it reports.
"""
from __future__ import annotations

import importlib.metadata
from typing import Any

import pytest

from tests.compat.conftest import CLIENTS, SCRIPTS, client_python, no_errors, run_client, unique_suffix

pytestmark = pytest.mark.live

NOT_FOUND_REPO = {"class": "RepositoryNotFoundError", "is": ["RepositoryNotFoundError"]}


@pytest.fixture(scope="module", params=CLIENTS)
def roundtrip(request: pytest.FixtureRequest, live_hub, compat_users, tmp_path_factory) -> dict[str, Any]:
    client = request.param
    python = client_python(request, client)
    work = tmp_path_factory.mktemp(f"roundtrip-{client}")
    suffix = unique_suffix()
    result = run_client(
        python, SCRIPTS / "api_roundtrip.py",
        env=live_hub.client_env(work / "home", compat_users.alice_token),
        config={"owner": compat_users.alice, "bob_token": compat_users.bob_token, "suffix": suffix,
                "work": str(work), "read_token": live_hub.read_token(compat_users.alice)},
        work=work, timeout=240,
    )
    result["client"] = client
    result["suffix"] = suffix
    result["owner"] = compat_users.alice
    result["url"] = live_hub.url
    return result


def _raised(result: dict[str, Any], name: str) -> dict[str, Any]:
    got = result["out"]["raised"][name]
    return {"class": got["class"], "is": got["is"]}


def _repo(result: dict[str, Any], kind: str) -> str:
    return f"{result['owner']}/{kind}-{result['suffix']}"


def test_client_version(roundtrip):
    version = roundtrip["out"]["client_version"]
    if roundtrip["client"] == "hf0":
        assert version.startswith("0.36.")
    else:  # the project's own pin (requirements.txt), an httpx-based 1.x/2.x line
        assert version == importlib.metadata.version("huggingface-hub")
        assert int(version.split(".")[0]) >= 1


def test_create_repo(roundtrip):
    no_errors(roundtrip, "create_repo")
    out, url = roundtrip["out"], roundtrip["url"]
    assert out["create_urls"] == {
        "model": f"{url}/{_repo(roundtrip, 'model')}",
        "private_model": f"{url}/{_repo(roundtrip, 'private')}",
        "dataset": f"{url}/datasets/{_repo(roundtrip, 'data')}",
        "private_dataset": f"{url}/datasets/{_repo(roundtrip, 'private-data')}",
    }
    assert out["exist_ok_url"] == out["create_urls"]["model"]
    assert out["exist_ok_repo_id"] == _repo(roundtrip, "model")
    conflict = out["raised"]["create_repo_conflict"]
    assert conflict["class"] == "HfHubHTTPError" and conflict["status"] == 409


def test_commits_and_refs(roundtrip):
    no_errors(roundtrip, "initial_commit", "upload_file", "upload_folder", "create_commit", "create_branch_tag",
              "refs", "list_repo_commits")
    out = roundtrip["out"]
    shas = out["shas"]
    assert all(len(s) == 40 and s == s.lower() for s in shas.values())
    assert len(set(shas.values())) == 4
    assert out["upload_file_commit_url"] == f"{roundtrip['url']}/{_repo(roundtrip, 'model')}/commit/{shas['c1']}"
    assert out["refs"] == {"branches": {"main": shas["c3"], "dev": shas["c1"]}, "tags": {"v1.0": shas["c2"]}}
    commits = out["commits"]
    assert [c["id"] for c in commits] == [shas["c3"], shas["c2"], shas["c1"], shas["c0"]]
    assert [c["title"] for c in commits] == ["Delete, copy and add", "Upload folder", "Add config v1",
                                             "initial commit"]
    assert all(roundtrip["owner"] in c["authors"] for c in commits)
    assert out["commits_dev"] == [shas["c1"], shas["c0"]]
    assert out["raised"]["create_branch_conflict"]["status"] == 409
    missing = out["raised"]["delete_missing_file"]
    assert "EntryNotFoundError" in missing["is"] and missing["status"] == 404


def test_file_listings(roundtrip):
    no_errors(roundtrip, "list_repo_files", "list_repo_tree")
    out = roundtrip["out"]
    assert out["files_main"] == [".gitattributes", "README.md", "config.json", "copies/a.txt",
                                 "copies/model-copy.safetensors", "model.safetensors", "new.txt", "sub/a.txt",
                                 "weights/big.bin"]
    assert out["files_dev"] == [".gitattributes", "config.json"]
    root = {e["path"]: e for e in out["tree_root"]}
    assert sorted(root) == [".gitattributes", "README.md", "config.json", "copies", "model.safetensors", "new.txt",
                            "sub", "weights"]
    assert {p for p, e in root.items() if e["type"] == "directory"} == {"copies", "sub", "weights"}
    assert root["config.json"]["oid"] == out["config_v2_sha1"]
    assert root["config.json"]["size"] == len(b'{"model_type": "bert", "v": 2}\n')
    assert root["config.json"]["lfs_sha256"] is None
    assert [(e["path"], e["type"]) for e in out["tree_sub_c2"]] == [("sub/a.txt", "file"),
                                                                    ("sub/deeper", "directory")]
    rec = {e["path"]: e for e in out["tree_recursive"]}
    assert {"weights", "weights/big.bin", "sub", "sub/a.txt", "copies", "copies/a.txt"} <= set(rec)
    big = rec["weights/big.bin"]
    assert (big["type"], big["size"], big["lfs_sha256"]) == ("file", out["big_size"], out["big_sha256"])
    assert rec["copies/model-copy.safetensors"]["lfs_sha256"] == rec["model.safetensors"]["lfs_sha256"] is not None
    assert "EntryNotFoundError" in _raised(roundtrip, "tree_missing_path")["is"]


def test_model_info_and_search(roundtrip):
    no_errors(roundtrip, "model_info", "list_models", "pagination")
    out = roundtrip["out"]
    info = out["model_info"]
    assert info["id"] == _repo(roundtrip, "model")
    assert info["sha"] == out["shas"]["c3"]
    assert info["private"] is False
    assert info["siblings"] == out["files_main"]
    assert info["card_license"] == "mit"
    assert info["has_last_modified"]
    assert out["model_info_dev_sha"] == out["shas"]["c1"]
    assert out["model_info_tag_sha"] == out["shas"]["c2"]
    mine = sorted([_repo(roundtrip, "model"), _repo(roundtrip, "private")])
    assert out["list_models_search"] == mine
    assert out["list_models_author"] == mine
    assert out["list_models_limit"] == 1
    assert out["paginated_ids"] == mine  # followed the hub's Link header page by page
    assert out["list_models_bob"] == out["list_models_anon"] == [_repo(roundtrip, "model")]
    assert out["list_datasets_search"] == sorted([_repo(roundtrip, "data"), _repo(roundtrip, "private-data")])


def test_existence_checks(roundtrip):
    no_errors(roundtrip, "exists")
    out = roundtrip["out"]
    assert out["file_exists"] == {"config": True, "missing": False, "notes_main": False, "notes_tag": True,
                                  "big_dev": False}
    assert out["repo_exists"] == {"model": True, "missing": False, "dataset": True, "dataset_as_model": False}


def test_downloads(roundtrip):
    no_errors(roundtrip, "hf_hub_download", "download_revisions", "snapshot_download")
    out = roundtrip["out"]
    shas = out["shas"]
    dl = out["download"]
    assert dl["config"] == '{"model_type": "bert", "v": 2}\n'
    # The cache names blobs after the ETag: git blob id for regular files, sha256 for LFS ones.
    assert dl["config_blob_name"] == out["config_v2_sha1"]
    assert dl["big_sha256"] == dl["big_blob_name"] == out["big_sha256"]
    assert dl["snapshot_dir"] == shas["c3"]
    assert dl["copy_st_equal"] is True
    assert dl["copy_a"] == "alpha\n"
    assert dl["new"] == "fresh\n"
    assert out["download_rev"] == {"dev": '{"model_type": "bert", "v": 1}\n',
                                   "tag": '{"model_type": "bert", "v": 2}\n',
                                   "sha_c1": '{"model_type": "bert", "v": 1}\n',
                                   "notes_tag": "to be deleted\n"}
    assert out["snapshot_c2"] == ["config.json", "sub/a.txt", "sub/deeper/b.txt"]
    assert out["snapshot_c2_dir"] == shas["c2"]
    assert out["snapshot_dev"] == [".gitattributes", "config.json"]
    assert out["snapshot_dev_dir"] == shas["c1"]


def test_error_classes(roundtrip):
    expected = {
        "download_missing_repo": "RepositoryNotFoundError",
        "download_missing_revision": "RevisionNotFoundError",
        "download_missing_file": "EntryNotFoundError",
        "download_deleted_file": "EntryNotFoundError",
        "info_missing_repo": "RepositoryNotFoundError",
        "info_missing_revision": "RevisionNotFoundError",
        "commits_missing_revision": "RevisionNotFoundError",
        "dataset_as_model": "RepositoryNotFoundError",
    }
    got = {name: _raised(roundtrip, name) for name in expected}
    for name, base in expected.items():
        assert got[name]["is"] == [base], (name, got[name])
    # 0.x raises EntryNotFoundError itself; 1.x+ its RemoteEntryNotFoundError subclass.
    entry_class = "EntryNotFoundError" if roundtrip["client"] == "hf0" else "RemoteEntryNotFoundError"
    assert got["download_missing_file"]["class"] == entry_class


def test_safetensors_metadata(roundtrip):
    no_errors(roundtrip, "safetensors")
    st = roundtrip["out"]["safetensors"]
    assert st["sharded"] is False
    assert st["metadata"] == {"format": "pt"}
    assert st["tensors"] == roundtrip["out"]["safetensors_expected"] == {
        "w": {"dtype": "F32", "shape": [2, 3]}, "b": {"dtype": "F16", "shape": [4]}}
    assert st["parameter_count"] == {"F32": 6, "F16": 4}


def test_hf_file_system(roundtrip):
    no_errors(roundtrip, "hffs")
    fs, out = roundtrip["out"]["hffs"], roundtrip["out"]
    model = _repo(roundtrip, "model")
    assert fs["range_ok"] is True and fs["tail_ok"] is True
    assert fs["cat_range"] == '{"model_type": "bert", "v": 2}\n'[2:12]
    assert fs["info_size"] == out["big_size"]
    assert fs["ls_weights"] == [[f"{model}/weights/big.bin", "file", out["big_size"]]]
    assert fs["exists_missing"] is False
    assert fs["dev_config"] == '{"model_type": "bert", "v": 1}\n'
    assert fs["glob"] == [f"{model}/copies/a.txt", f"{model}/copies/model-copy.safetensors"]


def test_dataset_repo(roundtrip):
    no_errors(roundtrip, "dataset")
    ds = roundtrip["out"]["dataset"]
    odd = "odd dir/é q?x#y%z+1.txt"
    assert ds == {"id": _repo(roundtrip, "data"), "sha_matches_refs": True, "download": "a,b\n1,2\n",
                  "files": [".gitattributes", "data/train.csv", odd], "hffs": "a,b\n1,2\n",
                  "odd_download": True, "odd_tree": [odd], "odd_hffs": True}


def test_private_repos_hidden_from_others(roundtrip):
    no_errors(roundtrip, "private_owner", "private_exists_bob", "private_exists_anon")
    out = roundtrip["out"]
    assert out["private_owner"] == {"download": "secret\n", "private_flag": True, "exists": True,
                                    "dataset_exists": True}
    for who in ("bob", "anon"):
        for what in ("info", "download", "tree", "dataset_info"):
            assert _raised(roundtrip, f"private_{what}_{who}") == NOT_FOUND_REPO, (who, what)
        assert out[f"private_exists_{who}"] == {"model": False, "dataset": False, "file": False}
    # Bob can read alice's public repo but not write to it: 403, not a "not found".
    denied = out["raised"]["bob_upload_public"]
    assert denied["status"] == 403 and denied["is"] == []


def test_delete_repo(roundtrip):
    no_errors(roundtrip, "delete_repo")
    assert roundtrip["out"]["after_delete"] == {"exists": False, "dataset_exists": False}
    assert _raised(roundtrip, "info_deleted") == NOT_FOUND_REPO
    assert _raised(roundtrip, "delete_missing") == NOT_FOUND_REPO


def test_no_unexpected_client_errors(roundtrip):
    """Every step of the script ran: a failure in a step not covered above still shows here."""
    no_errors(roundtrip)


def test_whoami(roundtrip):
    no_errors(roundtrip, "whoami")
    assert roundtrip["out"]["whoami"] == {"name": roundtrip["owner"], "type": "user", "role": "write"}


def test_parent_commit_conflict(roundtrip):
    no_errors(roundtrip, "extra_setup")
    stale = roundtrip["out"]["raised"]["stale_parent_commit"]
    assert stale["status"] == 412 and stale["is"] == []


def test_pull_request_commit(roundtrip):
    no_errors(roundtrip, "pull_request")
    pr = roundtrip["out"]["pr"]
    assert pr["url_tail"] == ["discussions", "1"]
    assert pr["revision"] == "refs/pr/1"
    assert pr["download"] == "from a PR\n"  # the revision travels percent-encoded: refs%2Fpr%2F1
    assert pr["on_main"] is False
    assert pr["refs"] == ["refs/pr/1"]
    assert pr["tree"] == [".gitattributes", "a.txt", "pr.txt"]


def test_branch_with_slash_and_ref_deletion(roundtrip):
    no_errors(roundtrip, "slash_branch")
    out = roundtrip["out"]
    assert out["slash_branch"] == {"download": "feature\n", "tree": ["dir/f.txt"], "info_sha_is_head": True}
    assert out["refs_after_delete"] == {"branches": ["main"], "tags": []}
    assert _raised(roundtrip, "delete_missing_tag")["is"] == ["RevisionNotFoundError"]


def test_files_metadata(roundtrip):
    no_errors(roundtrip, "files_metadata")
    out = roundtrip["out"]
    assert out["files_metadata"] == {
        "config_size": len(b'{"model_type": "bert", "v": 2}\n'), "config_blob": out["config_v2_sha1"],
        "big_size": out["big_size"], "big_lfs_sha256": out["big_sha256"], "big_lfs_size": out["big_size"]}


def test_visibility_switch(roundtrip):
    no_errors(roundtrip, "visibility")
    assert roundtrip["out"]["visibility"] == {"private": True, "bob_exists": False, "bob_exists_after": True}


def test_move_repo_keeps_old_name_working(roundtrip):
    no_errors(roundtrip, "move_repo")
    assert roundtrip["out"]["moved"] == {"new_id": _repo(roundtrip, "moved"), "old_name_download": "two\n"}


def test_paginated_tree_and_commits(roundtrip):
    no_errors(roundtrip, "tree_pagination")
    out = roundtrip["out"]
    assert out["tree_pagination"] == {"count": 60, "unique": 60, "last_commit_ok": True}
    shas = out["shas"]
    assert out["commits_paginated"] == [shas["c3"], shas["c2"], shas["c1"], shas["c0"]]


def test_authentication_errors(roundtrip):
    no_errors(roundtrip, "read_token_reads")
    raised = roundtrip["out"]["raised"]
    # An invalid token is a 401, never silently anonymous (and not a "not found").
    assert raised["invalid_token_info"]["status"] == raised["invalid_token_download"]["status"] == 401
    assert raised["invalid_token_info"]["is"] == raised["invalid_token_download"]["is"] == []
    assert raised["create_in_other_namespace"]["status"] == 403
    assert raised["read_token_upload"]["status"] == 403
    assert roundtrip["out"]["read_token_reads"] is True  # a read token still reads its owner's private repo
