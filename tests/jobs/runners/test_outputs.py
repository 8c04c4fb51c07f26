"""Walking a run's output directory: regular files only, bounded, never following links."""

from __future__ import annotations

import os

import pytest

from jobs.runners.outputs import OutputError, OutputFile, scan_output_dir


def test_lists_files_sorted_with_sizes(tmp_path):
    (tmp_path / "b.txt").write_bytes(b"12")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.json").write_bytes(b"{}")
    assert scan_output_dir(tmp_path) == (OutputFile("b.txt", 2), OutputFile("sub/a.json", 2))


@pytest.mark.parametrize(
    ("make", "kwargs", "message"),
    [
        (lambda p: os.symlink("/etc/passwd", p / "link"), {}, "'link', which is not a regular file"),
        (lambda p: os.symlink("/", p / "root"), {}, "'root', which is not a regular file"),
        (lambda p: os.mkfifo(p / "fifo"), {}, "not a regular file"),
        (lambda p: (p / "evil.py").write_text("x"), {"allowed": {"model.safetensors"}.__contains__}, "unexpected file"),
        (lambda p: [(p / f"f{i}").write_text("") for i in range(5)], {"max_files": 4}, "more than 4 files"),
        (lambda p: (p / "big").write_bytes(b"x" * 101), {"max_total_bytes": 100}, "larger than 100 bytes"),
        (lambda p: (p / "a" / "b" / "c").mkdir(parents=True), {"max_depth": 2}, "deeper than 2"),
    ],
)
def test_refusals(tmp_path, make, kwargs, message):
    make(tmp_path)
    with pytest.raises(OutputError, match=message):
        scan_output_dir(tmp_path, **kwargs)


def test_missing_or_linked_directory(tmp_path):
    with pytest.raises(OutputError, match="missing"):
        scan_output_dir(tmp_path / "nope")
    os.symlink(tmp_path, tmp_path.parent / f"{tmp_path.name}-link")
    with pytest.raises(OutputError, match="missing"):
        scan_output_dir(tmp_path.parent / f"{tmp_path.name}-link")
