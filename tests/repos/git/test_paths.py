"""Validation of names, storage keys, file paths and ref names."""
from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from accounts.names import InvalidName, validate_namespace
from repos.git.errors import InvalidPath, InvalidRefName, InvalidRepoName
from repos.git.paths import (
    normalize_folder_path,
    normalize_repo_path,
    storage_path,
    validate_branch_name,
    validate_ref_name,
    validate_repo_name,
    validate_tag_name,
)


@pytest.mark.parametrize(
    "path",
    [
        "",
        "/",
        "..",
        "../x",
        "a/../b",
        "a/./b",
        "a/..",
        "//abs",
        "a\x00b",
        "a\nb",
        "a\x7fb",
        "a\\b",
        "..\\x",
        ".git/config",
        "A/.GIT/x",
        "x/.Git",
        ".git. /hooks",  # NTFS drops trailing dots and spaces
        "git~1/config",  # NTFS 8.3 short name of .git
        ".g\u200cit/config",  # HFS+ ignores U+200C
        ".git::$INDEX_ALLOCATION/x",
        "a//b",
        "a/",
        "x" * 256,
        "a/" * 2100 + "b",
        "bad\udcffsurrogate",
    ],
)
def test_invalid_repo_paths_are_rejected(path: str) -> None:
    with pytest.raises(InvalidPath):
        normalize_repo_path(path)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("README.md", "README.md"),
        ("/abs", "abs"),  # huggingface_hub strips one leading "/" too
        ("./a/b.txt", "a/b.txt"),
        ("/./a", "a"),
        ("dir/.gitattributes", "dir/.gitattributes"),
        (".gitignore", ".gitignore"),
        ("a/.github/x", "a/.github/x"),
        ("dots.../x..y", "dots.../x..y"),
        ("spaces in name.txt", "spaces in name.txt"),
        ("ünïcödé/文件.bin", "ünïcödé/文件.bin"),
    ],
)
def test_valid_repo_paths_are_normalized(path: str, expected: str) -> None:
    assert normalize_repo_path(path) == expected


def test_folder_paths_accept_one_trailing_slash() -> None:
    assert normalize_folder_path("a/b/") == "a/b"
    assert normalize_folder_path("a/b") == "a/b"
    with pytest.raises(InvalidPath):
        normalize_folder_path("a//")
    with pytest.raises(InvalidPath):
        normalize_folder_path("/")
    with pytest.raises(InvalidPath):
        normalize_folder_path(".git/")


@pytest.mark.parametrize("name", ["bert-base", "gpt2", "my_model.v2", "A", "x" * 96, "_x"])
def test_valid_names(name: str) -> None:
    assert validate_repo_name(name) == name
    assert validate_namespace(name) == name  # one rule for every name on the site


@pytest.mark.parametrize(
    "name",
    ["", "-x", ".x", "x-", "x.", "a--b", "a..b", "model.git", "MODEL.GIT", "a/b", "a b",
     "x" * 97, "наме", "a\x00", "a:b"],
)
def test_invalid_names(name: str) -> None:
    with pytest.raises(InvalidRepoName):
        validate_repo_name(name)
    with pytest.raises(InvalidName):
        validate_namespace(name)


def test_storage_path_fans_out_by_key(tmp_path: Path) -> None:
    key = uuid.uuid4()
    expected = tmp_path / key.hex[:2] / f"{key.hex}.git"
    assert storage_path(tmp_path, key.hex) == expected
    assert storage_path(tmp_path, str(key)) == expected  # dashed form, same directory


@pytest.mark.parametrize(
    "key",
    ["", "../../etc", "a" * 31, "g" * 32, "A" * 32 + "/", "0" * 32 + ".git", "x/../" + "0" * 28],
)
def test_storage_path_rejects_non_uuid_keys(tmp_path: Path, key: str) -> None:
    with pytest.raises(InvalidPath):
        storage_path(tmp_path, key)


@pytest.mark.parametrize(
    "ref", ["refs/heads/main", "refs/heads/feature/x", "refs/tags/v1.0", "refs/pr/12",
            "refs/convert/parquet", "refs/heads/ünï"]
)
def test_valid_ref_names(ref: str) -> None:
    assert validate_ref_name(ref) == ref


@pytest.mark.parametrize(
    "ref",
    [
        "", "main", "HEAD", "refs/main", "-refs/heads/x", "hooks/pre-receive", "config",
        "refs/heads/a..b", "refs/heads/a@{1}", "refs/heads/a b", "refs/heads/a~1",
        "refs/heads/a^", "refs/heads/a:b", "refs/heads/a?", "refs/heads/a*", "refs/heads/a[",
        "refs/heads/a\\b", "refs/heads/a\x00", "refs/heads/a\x7f", "refs/heads/.hidden",
        "refs/heads/x.lock", "refs/heads/x/", "refs/heads/x.", "refs/heads//x",
        "refs/heads/a/.b",
    ],
)
def test_invalid_ref_names(ref: str) -> None:
    with pytest.raises(InvalidRefName):
        validate_ref_name(ref)


def test_branch_and_tag_short_names() -> None:
    assert validate_branch_name("feature/x") == "feature/x"
    assert validate_tag_name("v1.0.0") == "v1.0.0"
    for bad in ["refs/heads/main", "-x", "HEAD", "@", "a..b", "a b", "x.lock", ""]:
        with pytest.raises(InvalidRefName):
            validate_branch_name(bad)
        with pytest.raises(InvalidRefName):
            validate_tag_name(bad)
