"""The hub API round trip through the real huggingface_hub client, whichever version runs it.

Run as `python api_roundtrip.py CONFIG.json` with HF_ENDPOINT/HF_TOKEN (alice) in the
environment; CONFIG holds `owner` (alice's name), `bob_token`, `read_token` (a read-only token of
alice), `suffix` (unique per run) and
`work` (a scratch directory). Prints one `COMPAT-RESULT: {...}` line (see _harness.py).
Written against the API common to huggingface_hub 0.36 and 2.x.
"""
from __future__ import annotations

import json
import os
import random
import sys
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import huggingface_hub  # noqa: E402
from _harness import Recorder, git_blob_sha1, safetensors_bytes, sha256  # noqa: E402
from huggingface_hub import (  # noqa: E402
    CommitOperationAdd,
    CommitOperationCopy,
    CommitOperationDelete,
    HfApi,
    HfFileSystem,
    hf_hub_download,
    snapshot_download,
)
from huggingface_hub.utils._pagination import paginate  # noqa: E402 - the client's own Link follower
from roundtrip_extras import run_extras  # noqa: E402

BIG_SIZE = 10 * 1024 * 1024 + 123_457  # over the 10 MiB limit of plain git blobs: LFS whatever the rules


def tree_entry(e) -> dict:
    lfs = getattr(e, "lfs", None)
    return {
        "path": e.path,
        "type": "file" if type(e).__name__ == "RepoFile" else "directory",
        "size": getattr(e, "size", None),
        "oid": getattr(e, "blob_id", None) or getattr(e, "tree_id", None),
        "lfs_sha256": getattr(lfs, "sha256", None),
    }


def main() -> None:
    cfg = json.loads(Path(sys.argv[1]).read_text())
    owner, suffix, work = cfg["owner"], cfg["suffix"], Path(cfg["work"])
    bob_token = cfg["bob_token"]
    endpoint = os.environ["HF_ENDPOINT"]
    api = HfApi()
    bob = HfApi(token=bob_token)
    anon = HfApi(token=False)
    rec = Recorder()
    out = rec.out
    out["client_version"] = huggingface_hub.__version__

    model = f"{owner}/model-{suffix}"
    private_model = f"{owner}/private-{suffix}"
    dataset = f"{owner}/data-{suffix}"
    private_dataset = f"{owner}/private-data-{suffix}"

    # ---------------------------------------------------------------- create_repo
    with rec.step("create_repo"):
        urls = {
            "model": str(api.create_repo(model)),
            "private_model": str(api.create_repo(private_model, private=True)),
            "dataset": str(api.create_repo(dataset, repo_type="dataset")),
            "private_dataset": str(api.create_repo(private_dataset, repo_type="dataset", private=True)),
        }
        out["create_urls"] = urls
        again = api.create_repo(model, exist_ok=True)
        out["exist_ok_url"] = str(again)
        out["exist_ok_repo_id"] = again.repo_id
    rec.expect_error("create_repo_conflict", api.create_repo, model)

    # ---------------------------------------------------------------- uploads
    config_v1 = b'{"model_type": "bert", "v": 1}\n'
    config_v2 = b'{"model_type": "bert", "v": 2}\n'
    st_bytes, st_header = safetensors_bytes()
    big = random.Random(suffix).randbytes(BIG_SIZE)
    folder = work / "folder"
    files = {
        "config.json": config_v2,
        "README.md": b"---\nlicense: mit\ntags:\n- compat-test\n---\n# Model\n\nA tiny test model.\n",
        "model.safetensors": st_bytes,
        "weights/big.bin": big,
        "sub/a.txt": b"alpha\n",
        "sub/deeper/b.txt": b"beta\n",
        "notes.txt": b"to be deleted\n",
    }
    for rel, data in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(data)
    out["big_sha256"] = sha256(big)
    out["big_size"] = len(big)
    out["config_v2_sha1"] = git_blob_sha1(config_v2)
    shas: dict[str, str] = {}
    with rec.step("initial_commit"):
        shas["c0"] = api.list_repo_commits(model)[-1].commit_id
    with rec.step("upload_file"):
        info = api.upload_file(path_or_fileobj=config_v1, path_in_repo="config.json", repo_id=model,
                               commit_message="Add config v1")
        shas["c1"] = info.oid
        out["upload_file_commit_url"] = info.commit_url
    with rec.step("upload_folder"):
        info = api.upload_folder(folder_path=str(folder), repo_id=model, commit_message="Upload folder")
        shas["c2"] = info.oid
    with rec.step("create_commit"):
        info = api.create_commit(
            repo_id=model,
            operations=[
                CommitOperationDelete(path_in_repo="notes.txt"),
                CommitOperationDelete(path_in_repo="sub/deeper/"),
                CommitOperationCopy(src_path_in_repo="model.safetensors", path_in_repo="copies/model-copy.safetensors"),
                CommitOperationCopy(src_path_in_repo="sub/a.txt", path_in_repo="copies/a.txt"),
                CommitOperationAdd(path_in_repo="new.txt", path_or_fileobj=b"fresh\n"),
            ],
            commit_message="Delete, copy and add",
        )
        shas["c3"] = info.oid
    rec.expect_error("delete_missing_file", api.delete_file, "does-not-exist.txt", repo_id=model)
    out["shas"] = shas

    # ---------------------------------------------------------------- branches and tags
    with rec.step("create_branch_tag"):
        api.create_branch(model, branch="dev", revision=shas["c1"])
        api.create_tag(model, tag="v1.0", revision=shas["c2"])
        api.create_branch(model, branch="dev", exist_ok=True)
    rec.expect_error("create_branch_conflict", api.create_branch, model, branch="dev")
    with rec.step("refs"):
        refs = api.list_repo_refs(model)
        out["refs"] = {
            "branches": {b.name: b.target_commit for b in refs.branches},
            "tags": {t.name: t.target_commit for t in refs.tags},
        }

    # ---------------------------------------------------------------- listings
    with rec.step("list_repo_files"):
        out["files_main"] = sorted(api.list_repo_files(model))
        out["files_dev"] = sorted(api.list_repo_files(model, revision="dev"))
    with rec.step("list_repo_tree"):
        out["tree_root"] = sorted((tree_entry(e) for e in api.list_repo_tree(model)), key=lambda e: e["path"])
        out["tree_sub_c2"] = sorted((tree_entry(e) for e in api.list_repo_tree(model, "sub", revision=shas["c2"])),
                                    key=lambda e: e["path"])
        out["tree_recursive"] = sorted(
            (tree_entry(e) for e in api.list_repo_tree(model, recursive=True)), key=lambda e: e["path"])
    rec.expect_error("tree_missing_path", lambda: list(api.list_repo_tree(model, "no-such-dir")))
    with rec.step("list_repo_commits"):
        commits = api.list_repo_commits(model)
        out["commits"] = [{"id": c.commit_id, "title": c.title, "authors": list(c.authors)} for c in commits]
        out["commits_dev"] = [c.commit_id for c in api.list_repo_commits(model, revision="dev")]
    with rec.step("model_info"):
        mi = api.model_info(model)
        out["model_info"] = {
            "id": mi.id, "sha": mi.sha, "private": mi.private,
            "siblings": sorted(s.rfilename for s in mi.siblings or []),
            "card_license": (mi.card_data or {}).get("license") if mi.card_data is not None else None,
            "tags": list(mi.tags or []),
            "has_last_modified": mi.last_modified is not None,
        }
        out["model_info_dev_sha"] = api.model_info(model, revision="dev").sha
        out["model_info_tag_sha"] = api.model_info(model, revision="v1.0").sha
    with rec.step("list_models"):
        out["list_models_search"] = sorted(m.id for m in api.list_models(search=suffix))
        out["list_models_limit"] = len(list(api.list_models(search=suffix, limit=1)))
        out["list_models_author"] = sorted(m.id for m in api.list_models(author=owner, search=suffix))
        out["list_models_bob"] = sorted(m.id for m in bob.list_models(search=suffix))
        out["list_models_anon"] = sorted(m.id for m in anon.list_models(search=suffix))
        out["list_datasets_search"] = sorted(d.id for d in api.list_datasets(search=suffix))
    with rec.step("pagination"):
        # The client's own Link-header follower; `limit=1` makes the hub page after each item.
        items = paginate(f"{endpoint}/api/models", params={"search": suffix, "limit": 1},
                         headers=api._build_hf_headers())
        out["paginated_ids"] = sorted(i["id"] for i in items)

    # ---------------------------------------------------------------- existence
    with rec.step("exists"):
        out["file_exists"] = {
            "config": api.file_exists(model, "config.json"),
            "missing": api.file_exists(model, "nope.txt"),
            "notes_main": api.file_exists(model, "notes.txt"),
            "notes_tag": api.file_exists(model, "notes.txt", revision="v1.0"),
            "big_dev": api.file_exists(model, "weights/big.bin", revision="dev"),
        }
        out["repo_exists"] = {
            "model": api.repo_exists(model),
            "missing": api.repo_exists(f"{owner}/missing-{suffix}"),
            "dataset": api.repo_exists(dataset, repo_type="dataset"),
            "dataset_as_model": api.repo_exists(dataset),
        }

    # ---------------------------------------------------------------- downloads
    with rec.step("hf_hub_download"):
        cfg_path = hf_hub_download(model, "config.json")
        big_path = hf_hub_download(model, "weights/big.bin")
        out["download"] = {
            "config": Path(cfg_path).read_bytes().decode(),
            "config_blob_name": os.path.basename(os.path.realpath(cfg_path)),
            "big_sha256": sha256(Path(big_path).read_bytes()),
            "big_blob_name": os.path.basename(os.path.realpath(big_path)),
            "snapshot_dir": Path(cfg_path).parent.name,
            "copy_st_equal": Path(hf_hub_download(model, "copies/model-copy.safetensors")).read_bytes() == st_bytes,
            "copy_a": Path(hf_hub_download(model, "copies/a.txt")).read_text(),
            "new": Path(hf_hub_download(model, "new.txt")).read_text(),
        }
    with rec.step("download_revisions"):
        out["download_rev"] = {
            "dev": Path(hf_hub_download(model, "config.json", revision="dev")).read_text(),
            "tag": Path(hf_hub_download(model, "config.json", revision="v1.0")).read_text(),
            "sha_c1": Path(hf_hub_download(model, "config.json", revision=shas["c1"])).read_text(),
            "notes_tag": Path(hf_hub_download(model, "notes.txt", revision="v1.0")).read_text(),
        }
    with rec.step("snapshot_download"):
        # A cache of its own: earlier hf_hub_download calls put other files in the same snapshot dirs.
        cache = work / "snapshot-cache"
        snap = Path(snapshot_download(model, revision=shas["c2"], allow_patterns=["*.json", "sub/*"], cache_dir=cache))
        out["snapshot_c2"] = sorted(str(p.relative_to(snap)) for p in snap.rglob("*") if p.is_file())
        out["snapshot_c2_dir"] = snap.name
        snap = Path(snapshot_download(model, revision="dev", cache_dir=cache))
        out["snapshot_dev"] = sorted(str(p.relative_to(snap)) for p in snap.rglob("*") if p.is_file())
        out["snapshot_dev_dir"] = snap.name
    rec.expect_error("download_missing_repo", hf_hub_download, f"{owner}/missing-{suffix}", "config.json")
    rec.expect_error("download_missing_revision", hf_hub_download, model, "config.json", revision="no-such-branch")
    rec.expect_error("download_missing_file", hf_hub_download, model, "nope.txt")
    rec.expect_error("download_deleted_file", hf_hub_download, model, "notes.txt")
    rec.expect_error("info_missing_repo", api.model_info, f"{owner}/missing-{suffix}")
    rec.expect_error("info_missing_revision", api.model_info, model, revision="no-such-branch")
    rec.expect_error("commits_missing_revision", api.list_repo_commits, model, revision="no-such-branch")

    # ---------------------------------------------------------------- safetensors
    with rec.step("safetensors"):
        meta = api.get_safetensors_metadata(model)
        fm = meta.files_metadata["model.safetensors"]
        out["safetensors"] = {
            "sharded": meta.sharded,
            "metadata": dict(fm.metadata),
            "tensors": {k: {"dtype": t.dtype, "shape": list(t.shape)} for k, t in fm.tensors.items()},
            "parameter_count": dict(meta.parameter_count),
        }
    out["safetensors_expected"] = {k: {"dtype": v["dtype"], "shape": v["shape"]}
                                   for k, v in st_header.items() if k != "__metadata__"}

    # ---------------------------------------------------------------- HfFileSystem
    with rec.step("hffs"):
        fs = HfFileSystem()
        with fs.open(f"{model}/weights/big.bin", "rb", block_size=64 * 1024) as f:
            f.seek(5_000_000)
            chunk = f.read(100_000)
            f.seek(BIG_SIZE - 10)
            tail = f.read(100)
        out["hffs"] = {
            "range_ok": chunk == big[5_000_000:5_100_000],
            "tail_ok": tail == big[-10:],
            "cat_range": fs.cat_file(f"{model}/config.json", start=2, end=12).decode(),
            "info_size": fs.info(f"{model}/weights/big.bin")["size"],
            "ls_weights": sorted((e["name"], e["type"], e["size"]) for e in fs.ls(f"{model}/weights", detail=True)),
            "exists_missing": fs.exists(f"{model}/nope.txt"),
            "dev_config": fs.read_text(f"{model}@dev/config.json"),
            "glob": sorted(fs.glob(f"{model}/copies/*")),
        }

    # ---------------------------------------------------------------- datasets
    with rec.step("dataset"):
        # A name that needs percent-encoding everywhere (space, non-ASCII, ?, #, %, +).
        odd = "odd dir/é q?x#y%z+1.txt"
        api.create_commit(dataset, [CommitOperationAdd("data/train.csv", b"a,b\n1,2\n"),
                                    CommitOperationAdd(odd, odd.encode())],
                          commit_message="Add data", repo_type="dataset")
        di = api.dataset_info(dataset)
        out["dataset"] = {
            "id": di.id,
            "sha_matches_refs": di.sha == {b.name: b.target_commit
                                           for b in api.list_repo_refs(dataset, repo_type="dataset").branches}["main"],
            "download": Path(hf_hub_download(dataset, "data/train.csv", repo_type="dataset")).read_text(),
            "files": sorted(api.list_repo_files(dataset, repo_type="dataset")),
            "hffs": HfFileSystem().read_text(f"datasets/{dataset}/data/train.csv"),
            "odd_download": Path(hf_hub_download(dataset, odd, repo_type="dataset")).read_text() == odd,
            "odd_tree": [e.path for e in api.list_repo_tree(dataset, "odd dir", repo_type="dataset")],
            "odd_hffs": HfFileSystem().read_text(f"datasets/{dataset}/{odd}") == odd,
        }
    rec.expect_error("dataset_as_model", hf_hub_download, dataset, "data/train.csv")

    # ---------------------------------------------------------------- private repos
    with rec.step("private_owner"):
        api.upload_file(path_or_fileobj=b"secret\n", path_in_repo="secret.txt", repo_id=private_model)
        api.upload_file(path_or_fileobj=b"x\n", path_in_repo="x.txt", repo_id=private_dataset, repo_type="dataset")
        out["private_owner"] = {
            "download": Path(hf_hub_download(private_model, "secret.txt")).read_text(),
            "private_flag": api.model_info(private_model).private,
            "exists": api.repo_exists(private_model),
            "dataset_exists": api.repo_exists(private_dataset, repo_type="dataset"),
        }
    for who, client, token in (("bob", bob, bob_token), ("anon", anon, False)):
        rec.expect_error(f"private_info_{who}", client.model_info, private_model)
        # Another cache: on RepositoryNotFoundError the client falls back to files it has cached
        # (alice's download above), by design, so a shared cache would hide the hub's answer.
        rec.expect_error(f"private_download_{who}", hf_hub_download, private_model, "secret.txt", token=token,
                         cache_dir=work / f"cache-{who}")
        rec.expect_error(f"private_tree_{who}", lambda c=client: list(c.list_repo_tree(private_model)))
        rec.expect_error(f"private_dataset_info_{who}", client.dataset_info, private_dataset)
        with rec.step(f"private_exists_{who}"):
            out[f"private_exists_{who}"] = {
                "model": client.repo_exists(private_model),
                "dataset": client.repo_exists(private_dataset, repo_type="dataset"),
                "file": client.file_exists(private_model, "secret.txt"),
            }
    bad = HfApi(token="hf_not-a-real-token")
    rec.expect_error("invalid_token_info", bad.model_info, model)
    rec.expect_error("invalid_token_download", hf_hub_download, model, "config.json", token="hf_not-a-real-token",
                     cache_dir=work / "cache-bad")
    rec.expect_error("create_in_other_namespace", bob.create_repo, f"{owner}/intruder-{suffix}")
    rec.expect_error("read_token_upload", HfApi(token=cfg["read_token"]).upload_file, path_or_fileobj=b"x",
                     path_in_repo="x.txt", repo_id=model)
    with rec.step("read_token_reads"):
        out["read_token_reads"] = HfApi(token=cfg["read_token"]).model_info(private_model).id == private_model
    rec.expect_error("bob_upload_public", bob.upload_file, path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=model)

    run_extras(rec, api=api, bob=bob, owner=owner, suffix=suffix, work=work, model=model)

    # ---------------------------------------------------------------- delete_repo
    with rec.step("delete_repo"):
        api.delete_repo(private_model)
        api.delete_repo(private_dataset, repo_type="dataset")
        api.delete_repo(private_model, missing_ok=True)
        out["after_delete"] = {
            "exists": api.repo_exists(private_model),
            "dataset_exists": api.repo_exists(private_dataset, repo_type="dataset"),
        }
    rec.expect_error("info_deleted", api.model_info, private_model)
    rec.expect_error("delete_missing", api.delete_repo, private_model)
    rec.finish()


if __name__ == "__main__":
    main()
