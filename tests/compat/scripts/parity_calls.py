"""The client calls of issue 14's first list, through the real huggingface_hub client (run by
both the newest and the 0.x client; a call a version lacks is recorded as missing).

Run as `python parity_calls.py CONFIG.json` with HF_ENDPOINT/HF_TOKEN (alice) in the
environment; CONFIG holds `owner`, `bob`, `bob_token`, `suffix` and `work`. Prints one
`COMPAT-RESULT: {...}` line (see _harness.py).
"""
from __future__ import annotations

import json
import os
import sys
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import huggingface_hub  # noqa: E402
from _harness import Recorder  # noqa: E402
from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi, hf_hub_download  # noqa: E402
from huggingface_hub.utils import get_session  # noqa: E402


def main() -> None:
    config = json.loads(open(sys.argv[1]).read())
    owner, suffix = config["owner"], config["suffix"]
    api = HfApi()
    rec = Recorder()
    out = rec.out
    out["client_version"] = huggingface_hub.__version__
    model = f"{owner}/parity-{suffix}"

    with rec.step("setup"):
        api.create_repo(model)
        api.upload_file(path_or_fileobj=b'{"model_type": "bert"}\n', path_in_repo="config.json", repo_id=model)

    with rec.step("exists"):
        out["exists"] = {
            "namespaceless_repo": api.repo_exists("no-such-repo"),
            "namespaceless_dataset": api.repo_exists("no-such-repo", repo_type="dataset"),
            "namespaceless_file": api.file_exists("no-such-repo", "config.json"),
            "missing_repo": api.repo_exists(f"{owner}/no-such-repo-{suffix}"),
            "repo": api.repo_exists(model),
            "file": api.file_exists(model, "config.json"),
            "missing_file": api.file_exists(model, "nope.json"),
        }

    with rec.step("request_id"):
        try:
            api.model_info(f"{owner}/no-such-repo-{suffix}")
        except Exception as exc:  # noqa: BLE001 - the message is what the test looks at
            response = getattr(exc, "response", None)
            out["request_id"] = {"message": str(exc),
                                 "header": response.headers.get("X-Request-Id") if response is not None else None}

    with rec.step("delete_folder"):
        folders = [CommitOperationAdd(f"{d}/f{i}.txt", b"x") for d in ("1", "2", "3") for i in range(2)]
        api.create_commit(model, folders, commit_message="Folders")
        api.delete_folder("1", repo_id=model)  # explicit: deletedFolder without a trailing slash
        api.create_commit(model, [CommitOperationDelete("2")], commit_message="rm 2")  # implicit: deletedFile
        api.create_commit(model, [CommitOperationDelete("3/")], commit_message="rm 3/")
        out["after_folder_deletes"] = sorted(f for f in api.list_repo_files(model) if f[0] in "123")

    rec.expect_error("tag_on_missing_revision", api.create_tag, model, tag="invalid tag", revision="foobar")
    rec.expect_error("tag_invalid_name", api.create_tag, model, tag="invalid tag")

    bad_cards = {"license": "---\nlicense: asdf\n---\n# Card\n", "model_index": "---\nmodel-index: foo\n---\n"}
    for name, card in bad_cards.items():
        with rec.step(f"card_{name}"):
            try:
                api.upload_file(path_or_fileobj=card.encode(), path_in_repo="README.md", repo_id=model)
                out[f"card_{name}"] = "accepted"
            except ValueError as exc:
                out[f"card_{name}"] = str(exc)
    with rec.step("card_empty"), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        api.upload_file(path_or_fileobj=b"# A card without metadata\n", path_in_repo="README.md", repo_id=model)
        out["card_empty_warnings"] = [str(w.message) for w in caught if "README.md" in str(w.message)]
        api.delete_file("README.md", repo_id=model)

    gated = f"{owner}/gated-{suffix}"
    with rec.step("access_setup"):
        api.create_repo(gated)
        api.update_repo_settings(gated, gated="manual")
        asked = get_session().post(f"{api.endpoint}/api/models/{gated}/ask-access",
                                   headers={"authorization": f"Bearer {config['bob_token']}"}, json={})
        out["ask_access_status"] = asked.status_code
        api.accept_access_request(gated, config["bob"])
    rec.expect_error("accept_accepted", api.accept_access_request, gated, config["bob"])
    with rec.step("accept_accepted_message"):
        try:
            api.accept_access_request(gated, config["bob"])
        except Exception as exc:  # noqa: BLE001
            out["accept_accepted_message"] = str(exc)

    other_case = model.upper()
    with rec.step("case_insensitive"):
        commit = api.upload_file(path_or_fileobj=b"case\n", path_in_repo="case.txt", repo_id=other_case)
        info = api.model_info(other_case)
        path = hf_hub_download(other_case, "case.txt", cache_dir=os.path.join(config["work"], "cache"))
        out["case_insensitive"] = {
            "commit_url_names_canonical_id": f"/{model}/commit/" in commit.commit_url,
            "info_id": info.id,
            "download": open(path).read(),
            "exists": api.repo_exists(other_case),
            "file_exists": api.file_exists(other_case, "case.txt"),
        }
    rec.expect_error("create_other_case", api.create_repo, f"{owner}/PARITY-{suffix}")

    liked = f"{owner}/liked-{suffix}"
    with rec.step("likes"):
        api.create_repo(liked)
        session = get_session()
        for token in (config["bob_token"], os.environ["HF_TOKEN"]):
            for _ in range(2):  # liking twice counts once
                answer = session.post(f"{api.endpoint}/api/models/{model}/like",
                                      headers={"authorization": f"Bearer {token}"})
                answer.raise_for_status()
        session.post(f"{api.endpoint}/api/models/{liked}/like",
                     headers={"authorization": f"Bearer {config['bob_token']}"}).raise_for_status()
        likers = sorted(u.username for u in api.list_repo_likers(model))
        count_before = api.model_info(model).likes
        api.unlike(model)
        api.unlike(model)  # unliking twice is harmless
        by_likes = [m.id for m in api.list_models(author=owner, sort="likes") if m.id in (model, liked)]
        out["likes"] = {
            "likers": likers, "count_before": count_before, "count_after": api.model_info(model).likes,
            "bob_likes": sorted(api.list_liked_repos(config["bob"]).models),
            "listed": {m.id: m.likes for m in api.list_models(author=owner) if m.id in (model, liked)},
            "sorted": by_likes,
        }

    with rec.step("downloads"):
        before = api.model_info(model).downloads
        cache = os.path.join(config["work"], "dl-cache")
        hf_hub_download(model, "config.json", cache_dir=cache)
        hf_hub_download(model, "config.json", cache_dir=cache)  # cached: a HEAD only
        url = f"{api.endpoint}/{model}/resolve/main/config.json"
        session = get_session()
        session.get(url, headers={"Range": "bytes=0-3", **api._build_hf_headers()}).raise_for_status()
        session.head(url, headers=api._build_hf_headers()).raise_for_status()
        hf_hub_download(model, "case.txt", cache_dir=cache)  # neither config nor weights
        out["downloads"] = {"before": before, "after": api.model_info(model).downloads,
                            "listed": {m.id: m.downloads for m in api.list_models(author=owner) if m.id == model}}

    lfs_repo = f"{owner}/lfs-{suffix}"
    with rec.step("lfs_files"):
        api.create_repo(lfs_repo)
        api.upload_file(path_or_fileobj=b"\0" * 2048, path_in_repo="weights.bin", repo_id=lfs_repo)
        api.upload_file(path_or_fileobj=b"\1" * 4096, path_in_repo="ckpt/old.bin", repo_id=lfs_repo)
        files = list(api.list_lfs_files(lfs_repo))
        out["lfs_files"] = sorted((f.filename, f.size) for f in files)
        api.permanently_delete_lfs_files(lfs_repo, [f for f in files if f.filename.startswith("ckpt/")])
        out["lfs_files_after"] = sorted(f.filename for f in api.list_lfs_files(lfs_repo))
    rec.expect_error("lfs_deleted_download", hf_hub_download, lfs_repo, "ckpt/old.bin",
                     cache_dir=os.path.join(config["work"], "lfs-cache"))
    rec.expect_error("lfs_files_by_reader", lambda: list(HfApi(token=config["bob_token"]).list_lfs_files(lfs_repo)))

    with rec.step("user_repos"):
        if hasattr(api, "list_user_repos"):
            out["user_repos"] = sorted(r.id for r in api.list_user_repos() if r.id.endswith(suffix))
    with rec.step("overviews"):
        user = api.get_user_overview(owner)
        out["user_overview"] = {"username": user.username, "models": user.num_models, "likes": user.num_likes,
                                "bob_likes": api.get_user_overview(config["bob"]).num_likes}
        org_name = f"org-{suffix}"
        get_session().post(f"{api.endpoint}/api/organizations", json={"name": org_name},
                           headers=api._build_hf_headers()).raise_for_status()
        api.create_repo(f"{org_name}/in-org")
        org = api.get_organization_overview(org_name)
        out["org_overview"] = {"name": org.name, "users": org.num_users, "models": org.num_models}

    with rec.step("list_full_siblings"):
        listed = {m.id: m for m in api.list_models(author=owner, full=True)}
        siblings = listed[model].siblings
        out["list_full_siblings"] = sorted(s.rfilename for s in siblings) if siblings is not None else None

    rec.finish()


if __name__ == "__main__":
    main()
