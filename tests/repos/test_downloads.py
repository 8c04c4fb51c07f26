"""What counts as a download (repos/downloads.py)."""
from __future__ import annotations

import pytest

from repos.downloads import counts_as_download


@pytest.mark.parametrize(("repo_type", "path", "has_config", "counts"), [
    ("model", "config.json", True, True),
    ("model", "model.safetensors", True, False),  # the config counts, not every file of one load
    ("model", "model.safetensors", False, True),  # no config: the weights count
    ("model", "sub/model.gguf", False, True),
    ("model", "tokenizer.json", False, False),
    ("model", "sub/config.json", True, False),
    ("model", "README.md", False, False),
    ("dataset", "data/train.parquet", False, True),
    ("dataset", "train.csv", False, True),
    ("dataset", "README.md", False, False),
    ("dataset", ".gitattributes", False, False),
])
def test_counts_as_download(repo_type, path, has_config, counts):
    asked = []

    def config() -> bool:
        asked.append(path)
        return has_config

    assert counts_as_download(repo_type=repo_type, path=path, has_config=config) is counts
    assert not asked or path.endswith((".safetensors", ".gguf"))  # only weights need the lookup
