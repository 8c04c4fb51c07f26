"""Encryption at rest of Xet xorbs (in process, through the CAS routes): a xorb uploaded for a
private repository never reaches the disk in plaintext, temporaries included, and reads back
identically through fetch ranges, reconstruction and `/resolve/`; a repository made private
has its plain xorbs encrypted by the settle step; master-key rotation keeps them readable;
a missing key fails loudly."""
from __future__ import annotations

import json
import random
import uuid
from io import StringIO
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from django.test import Client

from repos.lfs.pointer import format_pointer
from repos.models import StoreKey
from repos.objects import storage_backend
from repos.objects.crypto.format import MAGIC
from repos.objects.encryption import forget_keys
from repos.services.encryption import repository_settle
from repos.services.repos import repo_create, repo_update_settings
from tests.factories import bearer, commit
from tests.master_keys import KEY_A, KEY_B
from tests.repos.transport.test_xet_cas import (
    Upload,
    cas_headers,
    fetch_terms,
    make_upload,
    post_shard,
    post_xorbs,
    read_token,
    write_token,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("env_master_key")]



@pytest.fixture(autouse=True)
def _xet_on(env_master_key, settings):
    settings.HUB_XET_ENABLED = True


def marked_data(marker: bytes, seed: int, n: int = 3000) -> bytes:
    """`marker` repeated between random bytes: the compressor cannot hide it, so a plain xorb
    holds it many times."""
    rng = random.Random(seed)
    return b"".join(marker + rng.randbytes(40) for _ in range(n))


def xorb_path(xorb_hex: str) -> Path:
    return storage_backend().root / "xet" / "xorbs" / xorb_hex[:2] / xorb_hex[2:4] / xorb_hex


def files_holding(needle: bytes) -> list[str]:
    root = storage_backend().root.parent  # the data dir: the store, its temporaries, the rest
    return [str(p) for p in root.rglob("*") if p.is_file() and needle in p.read_bytes()]


def upload(client: Client, repo, headers, up: Upload) -> None:
    token = write_token(client, repo, headers)
    post_xorbs(client, up, token)
    r = post_shard(client, up.shard(), token)
    assert r.status_code == 200, r.content


def fetched_records(client: Client, repo, headers, up: Upload) -> bytes:
    """The file's xorb records as hf_xet fetches them: the reconstruction plan, then each
    term's fetch URL with its byte range."""
    token = read_token(client, repo, headers)
    r = client.get(f"/xet/v1/reconstructions/{up.converted.file_hash.hex()}", **cas_headers(token))
    assert r.status_code == 200, r.content
    return fetch_terms(r.json())


def resolve(client: Client, repo, headers, path: str, **extra) -> tuple[int, bytes]:
    r = client.get(f"/{repo.repo_id}/resolve/main/{path}", **headers, **extra)
    content = b"".join(r.streaming_content) if getattr(r, "streaming", False) else r.content
    return r.status_code, content


def test_xorbs_of_a_private_repository_are_stored_encrypted_and_read_identically(alice):
    client, headers = Client(), bearer(alice)
    repo = repo_create(user=alice, namespace="alice", name="secret-xet", private=True)
    marker = f"XORB-MARKER-{uuid.uuid4().hex}|".encode()
    up = make_upload(marked_data(marker, 1))
    upload(client, repo, headers, up)

    for info, _ in up.xorbs:
        with xorb_path(info.hash.hex()).open("rb") as f:
            assert f.read(len(MAGIC)) == MAGIC
    assert files_holding(marker) == []  # xorbs, the materialized object, temporaries
    assert StoreKey.objects.filter(name="xorbs", active=True).count() == 1

    records = b"".join(body for _, body in up.xorbs)
    assert fetched_records(client, repo, headers, up) == records
    commit(repo, files={"w.bin": format_pointer(up.sha256, len(up.data))})
    assert resolve(client, repo, headers, "w.bin") == (200, up.data)
    assert resolve(client, repo, headers, "w.bin", HTTP_RANGE="bytes=70000-70999") == (206, up.data[70000:71000])


def test_public_xorbs_stay_plain_and_a_private_upload_of_the_same_xorb_encrypts_it(alice):
    client, headers = Client(), bearer(alice)
    public = repo_create(user=alice, namespace="alice", name="open-xet")
    private = repo_create(user=alice, namespace="alice", name="closed-xet", private=True)
    up = make_upload(marked_data(b"SHARED-CONTENT|", 2))
    upload(client, public, headers, up)
    xorb = up.xorbs[0][0].hash.hex()
    with xorb_path(xorb).open("rb") as f:
        assert f.read(len(MAGIC)) != MAGIC
    upload(client, private, headers, up)
    with xorb_path(xorb).open("rb") as f:
        assert f.read(len(MAGIC)) == MAGIC
    records = b"".join(body for _, body in up.xorbs)
    for repo in (public, private):
        assert fetched_records(client, repo, headers, up) == records


def test_making_a_repository_private_encrypts_its_xorbs_and_public_again_keeps_them_readable(alice):
    client, headers = Client(), bearer(alice)
    repo = repo_create(user=alice, namespace="alice", name="flip-xet")
    marker = f"FLIP-MARKER-{uuid.uuid4().hex}|".encode()
    up = make_upload(marked_data(marker, 3))
    upload(client, repo, headers, up)
    commit(repo, files={"w.bin": format_pointer(up.sha256, len(up.data))})
    assert files_holding(marker)  # public: stored plain (the xorbs and the object)

    repo_update_settings(repo=repo, user=alice, private=True)
    repo.refresh_from_db()
    counts = repository_settle(repo=repo)  # what the worker's task runs after the change
    assert counts == {"encrypted": 1, "xorbs_encrypted": len(up.xorbs)}
    assert repository_settle(repo=repo) == {"unchanged": 1, "xorbs_encrypted": 0}  # repeatable
    assert files_holding(marker) == []
    records = b"".join(body for _, body in up.xorbs)
    assert fetched_records(client, repo, headers, up) == records
    assert resolve(client, repo, headers, "w.bin") == (200, up.data)

    repo_update_settings(repo=repo, user=alice, private=False)
    repo.refresh_from_db()
    assert repository_settle(repo=repo) == {"decrypted": 1}  # xorbs stay encrypted (module doc)
    assert fetched_records(Client(), repo, {}, up) == records
    assert resolve(Client(), repo, {}, "w.bin") == (200, up.data)


def test_master_key_rotation_rewraps_the_xorb_store_key(alice, settings):
    client, headers = Client(), bearer(alice)
    repo = repo_create(user=alice, namespace="alice", name="rotate-xet", private=True)
    up = make_upload(marked_data(b"ROTATE|", 4))
    upload(client, repo, headers, up)
    before = StoreKey.objects.get(name="xorbs").wrapped

    settings.HUB_MASTER_KEY, settings.HUB_MASTER_KEY_PREVIOUS = KEY_B, KEY_A
    forget_keys()
    out = StringIO()
    call_command("rotate_master_key", stdout=out)
    assert "re-wrapped" in out.getvalue()
    assert StoreKey.objects.get(name="xorbs").wrapped != before
    settings.HUB_MASTER_KEY_PREVIOUS = None  # the old key retired
    forget_keys()
    assert fetched_records(client, repo, headers, up) == b"".join(body for _, body in up.xorbs)


def test_without_the_master_key_encrypted_xorbs_fail_loudly_and_uploads_keep_nothing(alice, settings):
    client, headers = Client(), bearer(alice)
    repo = repo_create(user=alice, namespace="alice", name="nokey-xet", private=True)
    up = make_upload(marked_data(b"NOKEY|", 5))
    upload(client, repo, headers, up)
    token = read_token(client, repo, headers)
    plan = client.get(f"/xet/v1/reconstructions/{up.converted.file_hash.hex()}", **cas_headers(token)).json()

    settings.HUB_MASTER_KEY = KEY_B  # the wrong key
    forget_keys()
    entry = next(iter(plan["fetch_info"].values()))[0]
    url = urlsplit(entry["url"])
    r = Client().get(url.path + "?" + url.query, HTTP_RANGE=f"bytes={entry['url_range']['start']}-"
                                                           f"{entry['url_range']['end']}")
    assert r.status_code == 503 and "EncryptionKeyUnavailable" in r.headers["X-Error-Message"]

    settings.HUB_MASTER_KEY = None  # no key at all: a new private xorb is refused before its body is kept
    forget_keys()
    other = make_upload(marked_data(b"NOKEY-NEW|", 6))
    info, body = other.xorbs[0]
    r = client.post(f"/xet/v1/xorbs/default/{info.hash.hex()}", body, content_type="application/octet-stream",
                    **cas_headers(write_token(client, repo, headers)))
    assert r.status_code == 503 and "EncryptionKeyUnavailable" in r.headers["X-Error-Message"]
    assert not xorb_path(info.hash.hex()).exists()
    assert json.loads(r.content)["error"]


def test_encrypted_repositories_are_offered_the_xet_transfer(make_repo, alice):
    body = json.dumps({"operation": "upload", "transfers": ["basic", "xet"], "ref": {"name": "refs/heads/main"},
                       "objects": [{"oid": "a" * 64, "size": 10}], "hash_algo": "sha256"})
    for private in (False, True):
        repo = make_repo(f"xet-offer-{private}", private=private)
        r = Client().post(f"/{repo.repo_id}.git/info/lfs/objects/batch", body,
                          content_type="application/vnd.git-lfs+json", HTTP_ACCEPT="application/vnd.git-lfs+json",
                          **bearer(alice))
        assert r.status_code == 200 and json.loads(r.content)["transfer"] == "xet"



def test_when_memory_is_taken_the_plaintext_waits_in_an_encrypted_spool(alice, monkeypatch):
    from repos.objects import xet as xet_store
    from repos.objects.crypto.spool import EncryptedSpool

    marker = f"SPOOL-MARKER-{uuid.uuid4().hex}|".encode()
    seen: list[bytes] = []

    class WatchedSpool(EncryptedSpool):
        def close(self) -> None:
            if not self.closed:
                seen.append(Path(self.name).read_bytes())  # what the disk held, at its fullest
            super().close()

    no_memory = xet_store.threading.BoundedSemaphore(1)
    no_memory.acquire()
    monkeypatch.setattr(xet_store, "_memory_slots", no_memory)
    monkeypatch.setattr(xet_store, "EncryptedSpool", WatchedSpool)
    client, headers = Client(), bearer(alice)
    repo = repo_create(user=alice, namespace="alice", name="spooled-xet", private=True)
    up = make_upload(marked_data(marker, 7))
    upload(client, repo, headers, up)

    assert len(seen) == len(up.xorbs) and all(len(raw) > len(up.data) // 2 for raw in seen)
    assert not any(marker in raw for raw in seen)
    assert files_holding(marker) == []
    assert fetched_records(client, repo, headers, up) == b"".join(body for _, body in up.xorbs)


def test_a_range_reads_the_file_it_opened_even_if_a_settle_replaces_it(alice):
    """A fetch opened on the plain xorb keeps reading plain bytes after the settle published the
    encrypted form (never the new file's ciphertext as if it were plain), and stays sendfile-able."""
    from repos.objects import xet as xet_store

    client, headers = Client(), bearer(alice)
    repo = repo_create(user=alice, namespace="alice", name="race-xet")
    up = make_upload(marked_data(b"RACE|", 8))
    upload(client, repo, headers, up)
    info, body = up.xorbs[0]
    reader = xet_store.xorb_open_range(info.hash, 100, 5000)
    assert reader.fileno() >= 0  # plain: sendfile-able
    assert xet_store.xorb_encrypt(info.hash) is True
    with reader:
        assert reader.read() == body[100:5000]
    encrypted = xet_store.xorb_open_range(info.hash, 100, 5000)
    with encrypted:
        with pytest.raises(OSError):
            encrypted.fileno()
        assert encrypted.read() == body[100:5000]
