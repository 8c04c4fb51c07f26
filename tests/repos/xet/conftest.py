"""Fixtures for the Xet format tests: the real hf_xet as an oracle, and the golden capture."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from tests.repos.xet.golden import Golden, load_golden


@pytest.fixture
def xet_file_hashes(tmp_path: Path) -> Callable[[Sequence[bytes]], list[str]]:
    """``hf_xet.hash_files`` over in-memory buffers: the client's own file hashes (no network)."""
    hf_xet = pytest.importorskip("hf_xet")

    def run(datas: Sequence[bytes]) -> list[str]:
        paths = []
        for i, data in enumerate(datas):
            p = tmp_path / f"oracle-{len(list(tmp_path.iterdir()))}-{i}"
            p.write_bytes(data)
            paths.append(str(p))
        return [r.hash for r in hf_xet.hash_files(paths)]

    return run


@pytest.fixture(scope="session")
def golden() -> Golden:
    return load_golden()
