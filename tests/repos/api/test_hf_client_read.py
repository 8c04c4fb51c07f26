"""The real huggingface_hub client (2.4) against a live hub: downloads, listings, errors.

Content is seeded server-side (`manage.py shell`), independent of the write API.
"""
from __future__ import annotations

import json
import re
import time
import uuid
from pathlib import Path

import numpy as np
import pytest
from huggingface_hub import HfApi, HfFileSystem, hf_hub_download, snapshot_download
from huggingface_hub.errors import EntryNotFoundError, RepositoryNotFoundError, RevisionNotFoundError
from huggingface_hub.utils._pagination import paginate
from safetensors.numpy import save_file

pytestmark = pytest.mark.live

CONFIG = b'{"model_type": "bert"}\n'
BLOB = bytes(range(256)) * 40  # 10 KiB, stored through LFS


@pytest.fixture(scope="module")
def seeded(live_hub, tmp_path_factory):
    """One user, a public model (regular + LFS + safetensors + nested files, two commits, a
    tag), a private model and a few small repos for list pagination."""
    user = f"reader{uuid.uuid4().hex[:6]}"
    token = live_hub.create_user(user)
    tmp = tmp_path_factory.mktemp("seed")
    weights = tmp / "model.safetensors"
    save_file({"embed": np.zeros((4, 8), dtype=np.float32), "head": np.ones(3, dtype=np.float16)}, str(weights),
              metadata={"format": "pt"})
    code = f"""
from pathlib import Path
from accounts.models import User
from repos.git.commit import update_ref
from repos.services.repos import repo_create
from repos.handles import git_repo
from tests.factories import commit
u = User.objects.get(username={user!r})
repo = repo_create(user=u, namespace=u.username, name="tiny")
commit(repo, files={{"config.json": {CONFIG!r}, "tokenizer/vocab.txt": b"a\\nb\\n",
                    "README.md": b"---\\nlicense: mit\\npipeline_tag: fill-mask\\n---\\n# tiny\\n"}},
       lfs={{"blob.bin": {BLOB!r}, "model.safetensors": Path({str(weights)!r}).read_bytes()}},
       message="Upload files")
sha = commit(repo, files={{"notes.txt": b"second"}}, message="Add notes")
update_ref(git_repo(repo), "refs/tags/v1", sha, expected_old=None)
secret = repo_create(user=u, namespace=u.username, name="secret", private=True)
commit(secret, files={{"config.json": b"{{}}"}})
for i in range(3):
    repo_create(user=u, namespace=u.username, name=f"pageme-{{i}}")
print("SHA", sha)
"""
    out = live_hub.manage("shell", "-c", code).stdout
    sha = re.search(r"SHA ([0-9a-f]{40})", out).group(1)
    return {"user": user, "token": token, "repo": f"{user}/tiny", "sha": sha, "weights": weights.read_bytes()}


def _log_count(live_hub, pattern: str, *, at_least: int = 0, timeout: float = 10.0) -> int:
    """Occurrences of `pattern` in the access log, waiting (bounded) for `at_least` of them:
    gunicorn writes the line only after the response went out, so the client may be faster."""
    deadline = time.monotonic() + timeout
    while True:
        count = len(re.findall(pattern, live_hub.log_path.read_text(errors="replace")))
        if count >= at_least or time.monotonic() > deadline:
            return count
        time.sleep(0.05)


def test_hf_hub_download_cold_then_warm(live_hub, seeded, tmp_path):
    repo = seeded["repo"]
    kwargs = {"repo_id": repo, "endpoint": live_hub.url, "token": seeded["token"], "cache_dir": tmp_path}
    path = hf_hub_download(filename="config.json", **kwargs)
    assert Path(path).read_bytes() == CONFIG
    assert f"snapshots/{seeded['sha']}/config.json" in path
    lfs_path = hf_hub_download(filename="blob.bin", **kwargs)
    assert Path(lfs_path).read_bytes() == BLOB
    # The blob is cached under its content id: sha256 for LFS files.
    assert Path(lfs_path).resolve().name == __import__("hashlib").sha256(BLOB).hexdigest()

    get_pattern = rf'"GET /{repo}/resolve/main/config.json HTTP'
    head_pattern = rf'"HEAD /{repo}/resolve/main/config.json HTTP'
    gets = _log_count(live_hub, get_pattern, at_least=1)
    heads = _log_count(live_hub, head_pattern, at_least=1)
    assert gets == 1
    assert Path(hf_hub_download(filename="config.json", **kwargs)).read_bytes() == CONFIG
    # Wait for the warm call's HEAD line, so a GET it made would be logged by now too.
    assert _log_count(live_hub, head_pattern, at_least=heads + 1) == heads + 1
    assert _log_count(live_hub, get_pattern) == gets  # warm cache: metadata HEAD only


def test_snapshot_download_with_patterns(live_hub, seeded, tmp_path):
    folder = Path(snapshot_download(seeded["repo"], endpoint=live_hub.url, token=seeded["token"], cache_dir=tmp_path,
                                    allow_patterns=["*.json", "tokenizer/*"]))
    files = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    assert files == ["config.json", "tokenizer/vocab.txt"]
    assert folder.name == seeded["sha"]


def test_listing_apis(live_hub, seeded):
    api = HfApi(endpoint=live_hub.url, token=seeded["token"])
    repo = seeded["repo"]
    assert sorted(api.list_repo_files(repo)) == [
        ".gitattributes", "README.md", "blob.bin", "config.json", "model.safetensors", "notes.txt",
        "tokenizer/vocab.txt"]
    tree = {e.path: e for e in api.list_repo_tree(repo, recursive=True, expand=True)}
    assert tree["blob.bin"].size == len(BLOB) and tree["blob.bin"].lfs.sha256 == __import__(
        "hashlib").sha256(BLOB).hexdigest()
    assert tree["notes.txt"].last_commit.title == "Add notes"
    assert type(tree["tokenizer"]).__name__ == "RepoFolder"
    assert [e.path for e in api.list_repo_tree(repo, path_in_repo="tokenizer")] == ["tokenizer/vocab.txt"]
    commits = api.list_repo_commits(repo, formatted=True)
    assert [c.title for c in commits] == ["Add notes", "Upload files", "initial commit"]
    assert commits[0].commit_id == seeded["sha"] and commits[0].authors == [seeded["user"]]
    refs = api.list_repo_refs(repo, include_pull_requests=True)
    assert [b.name for b in refs.branches] == ["main"] and [t.name for t in refs.tags] == ["v1"]
    assert refs.converts == [] and refs.pull_requests == []

    info = api.model_info(repo, files_metadata=True)
    assert info.sha == seeded["sha"] and info.pipeline_tag == "fill-mask" and info.card_data.license == "mit"
    sizes = {s.rfilename: s.size for s in info.siblings}
    assert sizes["blob.bin"] == len(BLOB) and sizes["config.json"] == len(CONFIG)
    assert api.model_info(repo, revision="v1").sha == seeded["sha"]
    paths = api.get_paths_info(repo, ["config.json", "tokenizer", "nope"])
    assert [p.path for p in paths] == ["config.json", "tokenizer"]
    assert api.whoami()["name"] == seeded["user"]


def test_list_models_search_and_link_pagination(live_hub, seeded):
    api = HfApi(endpoint=live_hub.url, token=seeded["token"])
    user = seeded["user"]
    found = {m.id for m in api.list_models(search=f"{user}/pageme")}
    assert found == {f"{user}/pageme-{i}" for i in range(3)}
    assert {m.id for m in api.list_models(author=user, filter="license:mit")} == {seeded["repo"]}
    assert f"{user}/secret" in {m.id for m in api.list_models(author=user)}
    assert f"{user}/secret" not in {m.id for m in HfApi(endpoint=live_hub.url, token=False).list_models(author=user)}
    # The client's own paginator follows our absolute Link headers page by page.
    items = list(paginate(f"{live_hub.url}/api/models", params={"search": f"{user}/pageme", "limit": 1}, headers={}))
    assert sorted(i["id"] for i in items) == sorted(found)


def test_existence_checks_and_error_mapping(live_hub, seeded, tmp_path):
    api = HfApi(endpoint=live_hub.url, token=seeded["token"])
    anonymous = HfApi(endpoint=live_hub.url, token=False)
    repo = seeded["repo"]
    assert api.repo_exists(repo) and not api.repo_exists(f"{seeded['user']}/nope")
    assert api.file_exists(repo, "tokenizer/vocab.txt") and not api.file_exists(repo, "nope.txt")
    assert api.revision_exists(repo, "v1") and not api.revision_exists(repo, "nope")
    assert api.repo_exists(f"{seeded['user']}/secret") and not anonymous.repo_exists(f"{seeded['user']}/secret")
    kwargs = {"endpoint": live_hub.url, "token": seeded["token"], "cache_dir": tmp_path}
    with pytest.raises(EntryNotFoundError):
        hf_hub_download(repo, "generation_config.json", **kwargs)
    with pytest.raises(RevisionNotFoundError):
        hf_hub_download(repo, "config.json", revision="nope", **kwargs)
    with pytest.raises(RepositoryNotFoundError):
        hf_hub_download(f"{seeded['user']}/nope", "config.json", **kwargs)
    with pytest.raises(RepositoryNotFoundError):
        hf_hub_download(f"{seeded['user']}/secret", "config.json", endpoint=live_hub.url, token=False,
                        cache_dir=tmp_path / "anon")
    with pytest.raises(RepositoryNotFoundError):
        anonymous.model_info(f"{seeded['user']}/secret")
    with pytest.raises(EntryNotFoundError):
        list(api.list_repo_tree(repo, path_in_repo="additional_chat_templates"))


def test_safetensors_metadata(live_hub, seeded):
    meta = HfApi(endpoint=live_hub.url, token=seeded["token"]).get_safetensors_metadata(seeded["repo"])
    file_meta = meta.files_metadata["model.safetensors"]
    assert file_meta.metadata == {"format": "pt"}
    assert file_meta.tensors["embed"].shape == [4, 8] and file_meta.tensors["head"].dtype == "F16"
    assert meta.parameter_count == {"F32": 32, "F16": 3}


def test_hf_file_system_ranged_reads(live_hub, seeded):
    fs = HfFileSystem(endpoint=live_hub.url, token=seeded["token"])
    base = seeded["repo"]
    with fs.open(f"{base}/blob.bin", "rb", block_size=1000) as f:
        f.seek(2500)
        assert f.read(100) == BLOB[2500:2600]
        f.seek(len(BLOB) - 10)
        assert f.read() == BLOB[-10:]
    assert fs.cat_file(f"{base}/model.safetensors", start=0, end=8) == seeded["weights"][:8]
    assert fs.info(f"{base}/blob.bin")["size"] == len(BLOB)
    assert sorted(fs.ls(f"{base}/tokenizer", detail=False)) == [f"{base}/tokenizer/vocab.txt"]
    assert json.loads(fs.read_text(f"{base}/config.json")) == {"model_type": "bert"}
    assert not fs.exists(f"{base}/nope.txt")
