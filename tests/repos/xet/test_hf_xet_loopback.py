"""The stock hf_xet client against ``StubCas`` (built only from ``repos.xet``) on 127.0.0.1.

Each client run is a separate process with fresh caches (see ``hf_xet_driver``); every run
finishes in well under a second here. These tests prove the pure layer serves the real client
end to end: xorb upload parsing, shard verification (v1 and v2 NDJSON), global dedup answers,
reconstruction plans (v1 and v2, ranged), signed fetch URLs, and server-converted files.
"""

from __future__ import annotations

import hashlib
import io
import random
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pytest

from repos.xet.compression import CompressionPolicy
from repos.xet.conversion import convert_stream
from repos.xet.hashes import MerkleHash
from repos.xet.reconstruction import chunk_reader
from repos.xet.shard import read_shard, shard_bytes
from repos.xet.verify import verify_sha256, verify_shard
from repos.xet.xorb import XorbInfo, read_footer
from tests.repos.xet.cas_stub import StubCas, iter_blocks
from tests.repos.xet.hf_xet_driver import run_hf_xet

pytest.importorskip("hf_xet")


def _write(tmp_path: Path, files: dict[str, bytes]) -> list[str]:
    paths = []
    for name, data in files.items():
        p = tmp_path / name
        p.write_bytes(data)
        paths.append(str(p))
    return paths


def _download(cas: StubCas, tmp_path: Path, uploaded: list[dict[str, object]], **config: object) -> list[bytes]:
    dests = [tmp_path / f"dl-{i}" for i in range(len(uploaded))]
    files = [[u["hash"], u["size"], str(d)] for u, d in zip(uploaded, dests, strict=True)]
    run_hf_xet(cas, {"op": "download", "files": files, "config": config}, scope="read")
    return [d.read_bytes() for d in dests]


@pytest.mark.parametrize("v2", [False, True], ids=["v1-routes", "v2-routes"])
def test_upload_then_download(tmp_path: Path, v2: bool) -> None:
    rng = random.Random(21)
    files = {
        "noise.bin": rng.randbytes(600_000),
        "text.txt": b"".join(b"%d the lazy dog\n" % i for i in range(30_000)),
        "floats.f32": np.random.default_rng(3).normal(size=50_000).astype("<f4").tobytes(),
        "tiny.bin": b"!",
    }
    with StubCas(v2_shards=v2, v2_reconstructions=v2) as cas:
        uploaded = run_hf_xet(cas, {"op": "upload", "paths": _write(tmp_path, files)})
        assert [u["sha256"] for u in uploaded] == [hashlib.sha256(d).hexdigest() for d in files.values()]
        # The server registered exactly what the client named, with verified sha256.
        assert {h.hex(): s for h, s in cas.state.sha256.items()} == {u["hash"]: u["sha256"] for u in uploaded}
        shard_route = ("POST", "/v2/shards", 200) if v2 else ("POST", "/v1/shards", 200)
        assert shard_route in cas.state.log
        # Small fetch size: big files are downloaded through several ranged reconstructions.
        got = _download(cas, tmp_path, uploaded, **{"reconstruction.min_reconstruction_fetch_size": 200_000})
        assert got == list(files.values())
        recon = "/v2/reconstructions/" if v2 else "/v1/reconstructions/"
        assert any(path.startswith(recon) and status == 200 for _, path, status in cas.state.log)
        assert any(path.startswith("/v1/fetch/") and status == 206 for _, path, status in cas.state.log)


def test_global_dedup_uploads_only_the_new_bytes(tmp_path: Path) -> None:
    base = random.Random(22).randbytes(1_500_000)
    edited = base[:700_000] + b"an insertion in the middle" * 40 + base[700_000:]
    with StubCas() as cas:
        run_hf_xet(cas, {"op": "upload", "paths": _write(tmp_path, {"a.bin": base})})
        first_log = len(cas.state.log)
        (second,) = run_hf_xet(cas, {"op": "upload", "paths": _write(tmp_path, {"b.bin": edited})})
        log = cas.state.log[first_log:]
        assert ("GET", f"/v1/chunks/default/{_first_chunk_hash(cas, second['hash'])}", 200) in log
        assert len(cas.state.xorb_bodies) == 2 and len(cas.state.xorb_bodies[1]) < 300_000
        (shard_body,) = cas.state.shard_bodies[1:]
        (entry,) = read_shard(io.BytesIO(shard_body)).files
        assert len({s.xorb_hash for s in entry.segments}) == 2  # reuses the first upload's xorb
        assert _download(cas, tmp_path, [second]) == [edited]


def _first_chunk_hash(cas: StubCas, file_hash: str) -> str:
    vf = cas.state.files[MerkleHash.from_hex(file_hash)]
    info = cas.lookup(vf.segments[0].xorb_hash)
    assert info is not None
    return info.chunks[vf.segments[0].chunk_start].hash.hex()


def test_client_downloads_a_file_converted_by_the_server(tmp_path: Path) -> None:
    data = random.Random(23).randbytes(400_000) + b"\0" * 300_000 + b"tail" * 1000
    with StubCas() as cas:

        def close(stream: BinaryIO, info: XorbInfo) -> None:
            assert isinstance(stream, io.BytesIO)
            blob = stream.getvalue()
            cas.state.xorbs[info.hash] = (blob, read_footer(io.BytesIO(blob), size=len(blob)))

        conv = convert_stream(
            iter_blocks(data, 65_537), open_xorb=io.BytesIO, close_xorb=close, policy=CompressionPolicy.BEST
        )
        (vf,) = verify_shard(read_shard(io.BytesIO(shard_bytes(files=[conv.shard_file()]))), lookup=cas.lookup)
        reader = chunk_reader(lookup=cas.lookup, open_range=cas.open_range, verify_hashes=True)
        cas.register(vf, verify_sha256(vf, read_chunks=reader))
        assert _download(cas, tmp_path, [{"hash": conv.file_hash.hex(), "size": len(data)}]) == [data]


def test_read_token_cannot_upload(tmp_path: Path) -> None:
    with StubCas() as cas, pytest.raises(AssertionError, match="hf_xet client failed"):
        run_hf_xet(cas, {"op": "upload", "paths": _write(tmp_path, {"x.bin": b"x" * 10_000})}, scope="read")
    assert not cas.state.files
