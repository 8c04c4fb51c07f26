"""The byte door: the only code that opens the object store; objects readable only through the
repositories they were uploaded to, on every read path; filter chains on ingest and open."""
from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import pytest
from django.test import Client, override_settings
from safetensors.numpy import save

from hub.exceptions import Unprocessable
from repos import objects
from repos.handles import git_repo
from repos.services.analysis import safetensors_summary
from tests.factories import LfsObjectFactory, bearer, commit

ROOT = Path(__file__).resolve().parents[3]
APP_PACKAGES = ("hub", "accounts", "repos", "jobs", "safety", "scripts", "bench")
# Ways to reach the store itself; only repos/objects/ may use them (settings name the backend).
_STORE_ACCESS = re.compile(r"storage_backend|LocalBackend|storages\[[\"']lfs[\"']\]|repos\.objects\.backends")


def test_the_store_is_opened_only_by_the_byte_door() -> None:
    offenders = []
    for package in APP_PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            rel = path.relative_to(ROOT).as_posix()
            if rel.startswith("repos/objects/") or rel.startswith("hub/settings/"):
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if _STORE_ACCESS.search(line):
                    offenders.append(f"{rel}:{number}: {line.strip()}")
    assert not offenders, "the object store is opened outside repos/objects/:\n" + "\n".join(offenders)


# ------------------------------------------------------------------ one rule on every read path

WEIGHTS = save({"secret": np.arange(64, dtype=np.float32)})


@pytest.fixture
def stolen(make_repo, alice, bob):
    """alice's private repo holds an object; bob's public repo commits a pointer to the same
    sha256 (bypassing the policy, as a crafted push might) without ever uploading it."""
    private = make_repo("vault", private=True)
    commit(private, lfs={"model.safetensors": WEIGHTS})
    thief = make_repo("thief", user=bob)
    commit(thief, lfs={"model.safetensors": WEIGHTS}, link_lfs=False)
    oid = hashlib.sha256(WEIGHTS).hexdigest()
    assert objects.find(repo=private, oid=oid) is not None  # readable where it was uploaded
    return thief, oid


def _resolve(client: Client, thief, oid, bob) -> bytes:
    r = client.get(f"/{thief.repo_id}/resolve/main/model.safetensors", **bearer(bob))
    assert r.status_code == 404 and r["X-Error-Code"] == "EntryNotFound"
    return b"".join(r.streaming_content) if r.streaming else r.content


def _blob_view(client: Client, thief, oid, bob) -> bytes:
    client.force_login(bob)
    r = client.get(f"/{thief.repo_id}/blob/main/model.safetensors")
    assert r.status_code == 200
    assert b"not available on this server" in r.content
    return r.content


def _lfs_download(client: Client, thief, oid, bob) -> bytes:
    body = {"operation": "download", "objects": [{"oid": oid, "size": len(WEIGHTS)}]}
    r = client.post(f"/{thief.repo_id}.git/info/lfs/objects/batch", body, content_type="application/vnd.git-lfs+json",
                    **bearer(bob))
    assert r.status_code == 200
    assert r.json()["objects"][0]["error"]["code"] == 404
    r = client.get(f"/{thief.repo_id}.git/info/lfs/objects/{oid}", **bearer(bob))
    assert r.status_code == 404
    return r.content


def _analysis(client: Client, thief, oid, bob) -> bytes:
    summary = safetensors_summary(repo=thief, git=git_repo(thief), sha=thief.head_sha)
    assert summary is None
    return b""


@pytest.mark.django_db
@pytest.mark.parametrize("read", [_resolve, _blob_view, _lfs_download, _analysis],
                         ids=["resolve", "blob-view", "git-lfs-download", "analysis"])
def test_an_object_linked_only_to_another_repo_is_never_readable(stolen, bob, read) -> None:
    thief, oid = stolen
    served = read(Client(), thief, oid, bob)
    assert WEIGHTS[8:40] not in served  # not a byte of the header or the tensors
    with pytest.raises(objects.ObjectNotFound):
        objects.open_object(repo=thief, oid=oid)


# ------------------------------------------------------------------ ingest


@pytest.mark.django_db
def test_ingest_verifies_before_anything_is_visible(make_repo) -> None:
    repo = make_repo("up")
    data = b"x" * 5000
    oid = hashlib.sha256(data).hexdigest()
    with pytest.raises(objects.ObjectVerifyError):
        objects.ingest(repo=repo, oid=oid, size=len(data), source=[data[:-1] + b"y"])
    with pytest.raises(objects.ObjectVerifyError):
        objects.ingest(repo=repo, oid=oid, size=len(data) - 1, source=[data])
    assert objects.find(repo=repo, oid=oid) is None
    objects.ingest(repo=repo, oid=oid, size=len(data), source=[data[:100], memoryview(data)[100:]])
    found = objects.find(repo=repo, oid=oid)
    assert found is not None and found.size == len(data)
    with found.open() as f:
        assert f.read() == data
        assert f.fileno() >= 0  # no read filter: the real file, so the server can sendfile it


@pytest.mark.django_db
def test_ingest_file_links_known_content_without_copying(make_repo, alice, bob) -> None:
    data = b"weights" * 1000
    first, second = make_repo("a"), make_repo("b", user=bob)
    oid = objects.ingest_file(repo=first, file=io.BytesIO(data), size=len(data))
    assert oid == hashlib.sha256(data).hexdigest()
    assert objects.find(repo=second, oid=oid) is None
    assert objects.ingest_file(repo=second, file=io.BytesIO(data), size=len(data)) == oid
    assert objects.readable_objects(repo=second, oids=[oid, "0" * 64]) == {oid: len(data)}


class XorIngest:
    """A stand-in for encryption: stores every byte xor 0x5A."""

    def transform(self, ref, chunks: Iterator[bytes]) -> Iterable[bytes]:
        for chunk in chunks:
            yield bytes(b ^ 0x5A for b in bytes(chunk))

    def check(self, ref, open_stored) -> None:
        with open_stored() as f:  # the content, through the read filters
            if f.read(6) == b"REFUSE":
                raise Unprocessable(f"{ref.oid[:8]} refused by the scanner")


class XorRead:
    def wrap(self, ref, stored):
        data = stored.read()
        stored.close()
        return io.BytesIO(bytes(b ^ 0x5A for b in data))


@pytest.mark.django_db
@override_settings(HUB_OBJECT_INGEST_FILTERS=["tests.repos.objects.test_door.XorIngest"],
                   HUB_OBJECT_READ_FILTERS=["tests.repos.objects.test_door.XorRead"])
def test_filter_chains_transform_check_and_read_back(make_repo) -> None:
    repo = make_repo("filtered")
    data = b"PLAINTEXT-MARKER " * 100
    oid = hashlib.sha256(data).hexdigest()
    objects.ingest(repo=repo, oid=oid, size=len(data), source=[data])
    stored = Path(objects.storage_backend().path_for(oid)).read_bytes()
    assert b"PLAINTEXT-MARKER" not in stored
    assert objects.open_object(repo=repo, oid=oid).read() == data
    refused = b"REFUSE" + b"!" * 100
    refused_oid = hashlib.sha256(refused).hexdigest()
    with pytest.raises(Unprocessable, match="refused by the scanner"):
        objects.ingest(repo=repo, oid=refused_oid, size=len(refused), source=[refused])
    assert objects.storage_backend().size(refused_oid) is None  # nothing kept
    assert objects.find(repo=repo, oid=refused_oid) is None


@pytest.mark.django_db
def test_lfs_object_factory_uploads_through_the_door(make_repo) -> None:
    repo = make_repo("helper")
    oid = LfsObjectFactory(repo=repo, data=b"abc").oid
    assert objects.readable_objects(repo=repo, oids=[oid]) == {oid: 3}
