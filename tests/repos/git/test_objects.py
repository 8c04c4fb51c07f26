"""repos.git.objects: loose blobs, tags (checked by git itself), squash and ref deletion."""
from __future__ import annotations

import pytest

from repos.git.commit import PutBlob, commit_to_ref
from repos.git.errors import InvalidRefName, RefExists, RefNotFound, RevisionNotFound
from repos.git.objects import create_tag, delete_ref, squash_ref, write_blob
from tests.repos.git.conftest import AUTHOR, run_git


def test_write_blob_then_commit_it(seeded):
    repo, base = seeded
    oid = write_blob(repo, b"hello\n")
    assert oid == "ce013625030ba8dba906f756967f9e9ca394464a"  # git hash-object of "hello\n"
    assert repo.resolve("main") == base  # writing a blob moves nothing
    sha = commit_to_ref(repo, ref="main", ops=[PutBlob("h.txt", oid)], author=AUTHOR, message="add")
    assert repo.read_blob(repo.get_entry(sha, "h.txt").oid) == b"hello\n"


def test_annotated_and_lightweight_tags_are_valid_git(seeded):
    repo, base = seeded
    light = create_tag(repo, name="v1", target=base, tagger=AUTHOR)
    annotated = create_tag(repo, name="v2", target=base, tagger=AUTHOR, message="Release <2>\n\nnotes")
    assert light == base and annotated != base
    assert repo.tags() == {"v1": base, "v2": base}
    assert run_git(repo.path, "cat-file", "-t", annotated).strip() == "tag"
    shown = run_git(repo.path, "cat-file", "-p", annotated)
    assert f"object {base}" in shown and "tag v2" in shown and "Release <2>" in shown
    assert run_git(repo.path, "rev-parse", "v2^{commit}").strip() == base
    run_git(repo.path, "fsck", "--strict")
    with pytest.raises(RefExists):
        create_tag(repo, name="v1", target=base, tagger=AUTHOR)
    with pytest.raises(InvalidRefName):
        create_tag(repo, name="bad name", target=base, tagger=AUTHOR)
    with pytest.raises(RevisionNotFound):
        create_tag(repo, name="v3", target="0" * 40, tagger=AUTHOR)


def test_squash_ref_keeps_tree_drops_history(seeded):
    repo, base = seeded
    second = commit_to_ref(repo, ref="main", ops=[PutBlob("x.txt", write_blob(repo, b"x"))], author=AUTHOR,
                           message="two")
    squashed = squash_ref(repo, ref="refs/heads/main", author=AUTHOR, message="squash")
    info = repo.commit_info(squashed)
    assert info.parents == [] and info.title == "squash"
    assert repo.get_commit(squashed).tree_id == repo.get_commit(second).tree_id
    assert repo.is_ancestor(base, second)  # old objects remain; only the ref moved
    with pytest.raises(RevisionNotFound):
        squash_ref(repo, ref="refs/heads/ghost", author=AUTHOR, message="x")


def test_delete_ref_of_annotated_tag_and_missing_ref(seeded):
    repo, base = seeded
    tag_object = create_tag(repo, name="v2", target=base, tagger=AUTHOR, message="m")
    assert delete_ref(repo, ref="refs/tags/v2", who=AUTHOR) == tag_object
    assert repo.tags() == {}
    with pytest.raises(RefNotFound):
        delete_ref(repo, ref="refs/tags/v2", who=AUTHOR)
