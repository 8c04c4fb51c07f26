import pytest
from hypothesis import given
from hypothesis import strategies as st

from repos.git.gitattributes import DEFAULT_MODEL_GITATTRIBUTES, lfs_patterns
from repos.policy.upload import (
    BINARY_LFS_THRESHOLD,
    BINARY_MESSAGE,
    BINARY_SAMPLE_SIZE,
    LFS_TOO_LARGE_MESSAGE,
    MAX_LFS_FILE_SIZE,
    MAX_REGULAR_FILE_SIZE,
    TOO_LARGE_MESSAGE,
    check_lfs_object_size,
    check_regular_blob,
    format_push_rejection,
    looks_binary,
    upload_mode,
)

MIB = 1024 * 1024
DEFAULT = lfs_patterns(DEFAULT_MODEL_GITATTRIBUTES)
TEXT = b'{"model_type": "bert"}\n'
BINARY = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"


def test_limits_match_the_hub() -> None:
    assert MAX_REGULAR_FILE_SIZE == 10 * MIB
    assert BINARY_LFS_THRESHOLD == MIB
    assert MAX_LFS_FILE_SIZE == 50_000_000_000


@pytest.mark.parametrize(
    "sample,expected",
    [
        (b"", False),
        (TEXT, False),
        ("héllo wörld ✓ 日本".encode(), False),
        ("日本".encode()[:-1], False),  # multi-byte char cut by the sample boundary
        ("x✓".encode()[:-2], False),
        (b"abc\x00def", True),
        (BINARY, True),
        ("café!".encode("latin-1"), True),  # not UTF-8
        ("café".encode("latin-1"), False),  # indistinguishable from a cut-off UTF-8 char
        (b"\xff\xfe", True),
        (b"\xe2\x28\xa1", True),  # invalid continuation, not a truncation
        (b"ok\xe2\x82" + b"more", True),  # incomplete sequence in the middle
    ],
)
def test_looks_binary(sample: bytes, expected: bool) -> None:
    assert looks_binary(sample) is expected


@pytest.mark.parametrize(
    "path,size,sample,expected",
    [
        ("config.json", 23, TEXT, "regular"),
        ("model.safetensors", 1024, bytes(512), "lfs"),  # .gitattributes rule, any size
        ("tiny.bin", 3, b"abc", "lfs"),
        ("empty.bin", 0, b"", "regular"),  # size 0 always regular, even if LFS-tracked
        ("huge.txt", 10 * MIB + 1, b"text", "lfs"),
        ("limit.txt", 10 * MIB, b"text", "regular"),
        ("blob.dat", MIB + 1, BINARY, "lfs"),
        ("blob.dat", MIB, BINARY, "regular"),  # binary but not above 1 MiB
        ("notes.txt", 5 * MIB, TEXT, "regular"),
        ("late-nul.dat", 2 * MIB, b"a" * BINARY_SAMPLE_SIZE + b"\x00", "regular"),  # beyond the sample
    ],
)
def test_upload_mode(path: str, size: int, sample: bytes, expected: str) -> None:
    assert upload_mode(path, size, sample, DEFAULT) == expected


def test_check_regular_blob_messages() -> None:
    assert check_regular_blob("a.txt", 23, TEXT) is None
    assert check_regular_blob("big.txt", 10 * MIB + 1, b"text") == TOO_LARGE_MESSAGE
    assert TOO_LARGE_MESSAGE == (
        "Your push was rejected because it contains files larger than 10 MiB. "
        "Please use https://git-lfs.github.com/ to store large files."
    )
    assert check_regular_blob("img.dat", MIB + 1, BINARY) == BINARY_MESSAGE
    assert "binary files" in BINARY_MESSAGE and "https://git-lfs.github.com/" in BINARY_MESSAGE
    assert check_regular_blob("img.dat", MIB, BINARY) is None
    # Whole content may be passed: only the sample prefix is examined, as at preupload.
    assert check_regular_blob("x.dat", 2 * MIB, b"a" * (2 * MIB - 1) + b"\x00") is None


def test_lfs_object_size_limit() -> None:
    assert check_lfs_object_size(MAX_LFS_FILE_SIZE) is None
    assert check_lfs_object_size(MAX_LFS_FILE_SIZE + 1) == LFS_TOO_LARGE_MESSAGE


@given(
    size=st.integers(min_value=0, max_value=20 * MIB),
    sample=st.binary(max_size=600),
    path=st.sampled_from(["a.txt", "b.bin", "c/d.safetensors", "e"]),
)
def test_preupload_regular_is_accepted_at_commit(size: int, sample: bytes, path: str) -> None:
    # The invariant that keeps preupload, the commit API and pre-receive consistent: a file
    # that preupload sends as "regular" is never refused later as a plain blob.
    if upload_mode(path, size, sample, DEFAULT) == "regular":
        assert check_regular_blob(path, size, sample) is None
    elif check_regular_blob(path, size, sample) is not None:
        assert upload_mode(path, size, sample, []) == "lfs"


def test_push_rejection_layout() -> None:
    text = format_push_rejection(TOO_LARGE_MESSAGE, [("tf_model.h5", "refs/heads/main")])
    assert text.splitlines() == [
        "-" * 73,
        "Your push was rejected because it contains files larger than 10 MiB.",
        "Please use https://git-lfs.github.com/ to store large files.",
        "",
        "Offending files:",
        "  - tf_model.h5 (ref: refs/heads/main)",
        "-" * 73,
    ]
