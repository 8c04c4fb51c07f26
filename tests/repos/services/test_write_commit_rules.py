"""Commit payloads that are refused as a whole: a path named twice, or the wrong media type."""
from __future__ import annotations

from pathlib import Path

import pytest

from repos.handles import git_repo
from tests.factories import LfsObjectFactory, auth
from tests.live import HF0_PYTHON
from tests.repos.api.write.test_commits import commit, file_op, head, header, lfs_op, ndjson

pytestmark = pytest.mark.django_db



def _refs(repo):
    git = git_repo(repo)
    return sorted(git.branches()), sorted(git.tags())


def delete_file(path):
    return {"key": "deletedFile", "value": {"path": path}}


def delete_folder(path):
    return {"key": "deletedFolder", "value": {"path": path}}


@pytest.fixture
def seeded(client, repo, tokens):
    r = commit(client, repo, ndjson(header("seed"), file_op("a.txt", b"a"), file_op("dir/b.txt", b"b")),
               tokens["alice"])
    assert r.status_code == 200, r.content
    return repo


@pytest.mark.parametrize("ops", [
    [file_op("x.txt", b"1"), file_op("x.txt", b"2")],
    [file_op("x.txt", b"1"), delete_file("x.txt")],
    [delete_file("a.txt"), file_op("a.txt", b"again")],
    [delete_file("a.txt"), delete_file("a.txt")],
    [file_op("new.txt", b"1"), file_op("./new.txt", b"2")],  # the same path once normalized
    [file_op("dir/c.txt", b"c"), delete_folder("dir")],  # the folder deletion would undo the add
    [file_op("dir", b"c"), delete_folder("dir/")],
    [delete_folder("dir"), delete_folder("dir/")],
], ids=["add-add", "add-delete", "delete-add", "delete-delete", "normalized", "add-in-folder-then-delete-folder",
        "file-then-folder-of-same-name", "folder-twice"])
def test_a_path_named_twice_is_refused_and_nothing_changes(client, seeded, tokens, ops):
    before, refs = head(seeded), _refs(seeded)
    r = commit(client, seeded, ndjson(header(), *ops), tokens["alice"])
    assert r.status_code == 400, r.content
    assert r["X-Error-Message"]
    assert head(seeded) == before and _refs(seeded) == refs


def test_an_lfs_file_and_a_regular_file_on_one_path_are_refused(client, seeded, tokens):
    oid = LfsObjectFactory(repo=seeded, data=b"weights" * 10).oid
    before = head(seeded)
    r = commit(client, seeded, ndjson(header(), lfs_op("m.bin", oid, 70), file_op("m.bin", b"x")), tokens["alice"])
    assert r.status_code == 400 and head(seeded) == before


def test_deleting_a_folder_then_adding_to_it_replaces_its_content(client, seeded, tokens):
    r = commit(client, seeded, ndjson(header(), delete_folder("dir"), file_op("dir/new.txt", b"n")), tokens["alice"])
    assert r.status_code == 200, r.content
    git = git_repo(seeded)
    sha = git.resolve("main")
    assert git.get_entry(sha, "dir/new.txt") is not None and git.get_entry(sha, "dir/b.txt") is None


@pytest.mark.parametrize("content_type", ["text/plain", "application/json", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x", "application/octet-stream"])
def test_only_ndjson_is_a_commit_payload(client, seeded, tokens, content_type):
    before = head(seeded)
    url = f"/api/models/{seeded.repo_id}/commit/main"
    r = client.post(url, data=ndjson(header(), file_op("t.txt", b"t")), content_type=content_type,
                    **auth(tokens["alice"]))
    assert r.status_code == 415, r.content
    assert r["X-Error-Message"] == "Expected Content-Type application/x-ndjson"
    assert head(seeded) == before


def test_ndjson_with_parameters_is_accepted(client, seeded, tokens):
    url = f"/api/models/{seeded.repo_id}/commit/main"
    r = client.post(url, data=ndjson(header(), file_op("t.txt", b"t")),
                    content_type="application/x-ndjson; charset=utf-8", **auth(tokens["alice"]))
    assert r.status_code == 200, r.content


def test_both_huggingface_hub_generations_send_ndjson():
    """The 415 rule is safe for real clients: 1.x and 0.x (transformers 4.x) send x-ndjson."""
    import huggingface_hub

    sources = [Path(huggingface_hub.__file__).parent / "_commit_api.py"]
    hf0 = HF0_PYTHON.parent.parent / "lib/python3.11/site-packages/huggingface_hub/hf_api.py"
    if hf0.exists():  # the 0.x virtualenv is only there where `make venv-hf0` ran
        sources.append(hf0)
    for source in sources:
        text = source.read_text()
        assert '"Content-Type": "application/x-ndjson"' in text, source
