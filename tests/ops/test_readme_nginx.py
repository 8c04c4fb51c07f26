"""The README's recommended nginx configuration streams every request body that can carry a
repository's file bytes to the hub (request buffering off): nginx would otherwise write bodies
over its buffer to client_body_temp_path, a plaintext copy of private files on the proxy's
disk (and a temporary copy of gigabytes). Small API bodies stay buffered."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.urls import resolve

from repos.transport import git_http, lfs_http, xet_cas
from repos.views import write

README = Path(__file__).resolve().parents[2] / "README.md"
OID = "a" * 64

# Paths that carry file bytes in their body, and the view each must reach.
STREAMED = {
    "/alice/model.git/git-receive-pack": git_http.receive_pack,
    "/datasets/alice/data/git-receive-pack": git_http.receive_pack,
    f"/lfs-upload/{'b' * 32}/{OID}": lfs_http.upload,
    f"/xet/v1/xorbs/default/{OID}": xet_cas.xorb_upload,
    "/xet/v1/shards": xet_cas.shard_upload,
    "/alice/model/upload/main": write.upload,
    "/datasets/alice/data/upload/main/sub/dir": write.upload,
}
BUFFERED = ["/api/models/alice/model/commit/main", "/api/models/alice/model/preupload/main", "/api/repos/create",
            "/alice/model.git/info/lfs/objects/batch", "/login"]


def nginx_locations() -> tuple[str, list[re.Pattern[str]]]:
    text = README.read_text()
    block = text.split("```nginx", 1)[1].split("```", 1)[0]
    patterns = [re.compile(m) for m in re.findall(r"^\s*location ~ (\S+) \{", block, re.M)]
    return block, patterns


def test_every_body_that_carries_file_bytes_is_streamed_past_nginx():
    block, patterns = nginx_locations()
    assert len(patterns) == 1 and "proxy_request_buffering off;" in block.split("location ~", 1)[1]
    (streamed,) = patterns
    for path, view in STREAMED.items():
        assert resolve(path).func is view, path  # the example is the route it stands for
        assert streamed.search(path), f"nginx would buffer {path} to disk"


@pytest.mark.parametrize("path", BUFFERED)
def test_small_api_bodies_stay_buffered(path):
    _, (streamed,) = nginx_locations()
    assert not streamed.search(path)
