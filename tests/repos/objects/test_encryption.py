"""Encryption at rest through the byte door (in process): private repositories' LFS objects are
stored encrypted in the repository's own enclave, read back identically (whole, ranges,
views), and a missing or wrong master key fails loudly, never with garbage."""
from __future__ import annotations

import hashlib
import os
from io import StringIO
from pathlib import Path

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from django.test import Client, override_settings
from safetensors.numpy import save

from hub.exceptions import EncryptionKeyUnavailable
from repos import objects
from repos.models import RepoKey
from repos.objects.crypto.format import read_header
from repos.objects.encryption import forget_keys
from repos.objects.moves import repo_objects_settle
from repos.services.repos import repo_delete, repo_update_settings
from tests.factories import bearer, commit
from tests.master_keys import KEY_A, KEY_B

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("env_master_key")]

MARKER = b"TOP-SECRET-MARKER-7f3a9c "



def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def files_under(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def test_private_objects_are_stored_encrypted_in_the_repositorys_enclave(make_repo, settings):
    repo = make_repo("vault", private=True)
    data = MARKER * 200
    commit(repo, lfs={"secret.bin": data})
    oid = hashlib.sha256(data).hexdigest()
    enclave = objects.encrypted_store(repo)
    stored = enclave.path_for(oid).read_bytes()
    assert len(stored) > len(data) and MARKER not in stored
    assert not objects.storage_backend().exists(oid)  # no plain copy in the shared store
    for path in files_under(Path(settings.LFS_ROOT)):  # temporaries included
        assert MARKER not in path.read_bytes(), path
    assert RepoKey.objects.filter(repository=repo, active=True).count() == 1
    with objects.open_object(repo=repo, oid=oid) as f:
        assert f.read() == data
        f.seek(4321)
        assert f.read(1000) == data[4321:5321]


def test_public_objects_stay_plain(make_repo):
    repo = make_repo("open")
    data = b"public weights " * 100
    commit(repo, lfs={"w.bin": data})
    oid = hashlib.sha256(data).hexdigest()
    assert objects.storage_backend().path_for(oid).read_bytes() == data
    assert not RepoKey.objects.filter(repository=repo).exists()


def test_same_content_in_two_private_repositories_is_stored_twice_under_two_keys(make_repo):
    a, b = make_repo("a", private=True), make_repo("b", private=True)
    data = MARKER * 50
    commit(a, lfs={"x.bin": data})
    oid = hashlib.sha256(data).hexdigest()
    # b never uploaded it: knowing the oid gives nothing (dedup stays inside one key).
    assert objects.find(repo=b, oid=oid) is None
    commit(b, lfs={"x.bin": data})
    path_a, path_b = objects.encrypted_store(a).path_for(oid), objects.encrypted_store(b).path_for(oid)
    assert path_a != path_b and path_a.read_bytes() != path_b.read_bytes()
    with objects.open_object(repo=b, oid=oid) as f:
        assert f.read() == data


def test_resolve_serves_identical_bytes_ranges_and_etag(make_repo, alice):
    repo = make_repo("served", private=True)
    data = os.urandom(200_000)
    commit(repo, lfs={"w.bin": data})
    oid = hashlib.sha256(data).hexdigest()
    client = Client()
    url = f"/{repo.repo_id}/resolve/main/w.bin"
    r = client.get(url, **bearer(alice))
    assert r.status_code == 200 and body(r) == data
    assert r["ETag"] == f'"{oid}"' and r["Content-Length"] == str(len(data))
    # Ranges across chunk boundaries (64 KiB chunks), and a resume from an offset.
    for start, end in ((0, 0), (65_530, 65_545), (131_000, 199_999), (100, 65_636)):
        r = client.get(url, HTTP_RANGE=f"bytes={start}-{end}", **bearer(alice))
        assert r.status_code == 206 and body(r) == data[start:end + 1]
        assert r["Content-Range"] == f"bytes {start}-{end}/{len(data)}"
    r = client.get(url, HTTP_RANGE="bytes=150000-", HTTP_IF_RANGE=f'"{oid}"', **bearer(alice))
    assert r.status_code == 206 and body(r) == data[150_000:]


def test_blob_and_safetensors_views_read_through_decryption(make_repo, alice):
    repo = make_repo("views", private=True)
    weights = save({"encrypted_tensor_name": np.arange(16, dtype=np.float32)})
    text = MARKER * 10
    commit(repo, lfs={"model.safetensors": weights, "notes.txt": text})
    browser = Client()
    browser.force_login(alice)
    page = browser.get(f"/{repo.repo_id}/blob/main/model.safetensors")
    assert page.status_code == 200 and b"encrypted_tensor_name" in page.content
    page = browser.get(f"/{repo.repo_id}/blob/main/notes.txt")
    assert page.status_code == 200 and MARKER.strip() in page.content


@pytest.mark.parametrize("change", [
    {"HUB_MASTER_KEY": KEY_B},  # another key: the data key does not unwrap
    {"HUB_MASTER_KEY": None},  # no key configured at all
    {"HUB_MASTER_KEY": "not a key"},  # malformed
])
def test_a_wrong_or_missing_master_key_fails_loudly(make_repo, alice, change, caplog):
    repo = make_repo("locked", private=True)
    data = MARKER * 100
    commit(repo, lfs={"w.bin": data})
    forget_keys()
    with override_settings(**change):
        r = Client().get(f"/{repo.repo_id}/resolve/main/w.bin", **bearer(alice))
        assert r.status_code == 503
        assert r["X-Error-Code"] == "EncryptionKeyUnavailable"
        assert r["X-Error-Message"].startswith("EncryptionKeyUnavailable")
        assert MARKER not in body(r)
        # Uploads are refused too, before anything is stored.
        with pytest.raises(Exception, match="EncryptionKeyUnavailable"):
            commit(repo, lfs={"other.bin": b"more secret bytes"})
    assert "encryption at rest" in caplog.text
    forget_keys()
    with objects.open_object(repo=repo, oid=hashlib.sha256(data).hexdigest()) as f:
        assert f.read() == data  # the right key again: everything reads


def test_a_tampered_object_is_refused_not_served(make_repo, alice):
    repo = make_repo("tampered", private=True)
    data = MARKER * 100
    commit(repo, lfs={"w.bin": data})
    path = objects.encrypted_store(repo).path_for(hashlib.sha256(data).hexdigest())
    raw = bytearray(path.read_bytes())
    raw[-20] ^= 1
    path.chmod(0o640)
    path.write_bytes(bytes(raw))
    r = Client().get(f"/{repo.repo_id}/resolve/main/w.bin", **bearer(alice))
    assert r.status_code == 503 and r["X-Error-Code"] == "EncryptedObjectUnreadable"


# ------------------------------------------------------------------ visibility changes, rotation


def _read(repo, oid) -> bytes:
    with objects.open_object(repo=repo, oid=oid) as f:
        return f.read()


def test_private_public_private_round_trip_keeps_every_object_readable(make_repo, alice, settings):
    repo = make_repo("flip", private=True)
    data = {"a.bin": MARKER * 300, "b.bin": os.urandom(70_000)}
    commit(repo, lfs=data)
    oids = {hashlib.sha256(v).hexdigest(): v for v in data.values()}
    enclave, shared = objects.encrypted_store(repo), objects.storage_backend()

    repo_update_settings(repo=repo, user=alice, private=False)
    reader = objects.open_object(repo=repo, oid=next(iter(oids)))  # open across the move
    assert repo_objects_settle(repo=repo) == {"decrypted": 2}
    for oid, content in oids.items():
        assert shared.path_for(oid).read_bytes() == content and not enclave.exists(oid)
        assert _read(repo, oid) == content
    with reader:
        assert reader.read() == next(iter(oids.values()))  # the old file, read to its end

    repo_update_settings(repo=repo, user=alice, private=True)
    assert repo_objects_settle(repo=repo) == {"encrypted": 2}
    for oid, content in oids.items():
        assert not shared.exists(oid) and _read(repo, oid) == content
    assert repo_objects_settle(repo=repo) == {"unchanged": 2}  # idempotent
    for path in files_under(Path(settings.LFS_ROOT)):
        assert MARKER not in path.read_bytes(), path


def test_making_private_keeps_the_plain_copy_another_public_repository_reads(make_repo, alice):
    shared_content = MARKER * 40
    public, flipping = make_repo("pub"), make_repo("flipping")
    commit(public, lfs={"x.bin": shared_content})
    commit(flipping, lfs={"x.bin": shared_content})
    oid = hashlib.sha256(shared_content).hexdigest()
    repo_update_settings(repo=flipping, user=alice, private=True)
    assert repo_objects_settle(repo=flipping) == {"encrypted": 1}
    assert objects.encrypted_store(flipping).exists(oid) and objects.storage_backend().exists(oid)
    assert _read(public, oid) == shared_content and _read(flipping, oid) == shared_content


def test_opting_a_public_repository_in_encrypts_it(make_repo, alice):
    repo = make_repo("optin")
    commit(repo, lfs={"w.bin": MARKER * 20})
    oid = hashlib.sha256(MARKER * 20).hexdigest()
    repo_update_settings(repo=repo, user=alice, encrypt_objects=True)
    assert repo_objects_settle(repo=repo) == {"encrypted": 1}
    assert not objects.storage_backend().exists(oid) and _read(repo, oid) == MARKER * 20


def test_rotating_a_key_file_master_key_keeps_everything_readable(make_repo, settings, tmp_path):
    settings.HUB_MASTER_KEY = None
    settings.HUB_MASTER_KEY_FILE = str(tmp_path / "keys" / "master.key")
    settings.HUB_MASTER_KEY_GENERATE = True
    forget_keys()
    repo = make_repo("rotated", private=True)
    commit(repo, lfs={"w.bin": MARKER * 30})
    oid = hashlib.sha256(MARKER * 30).hexdigest()
    key_file = Path(settings.HUB_MASTER_KEY_FILE)
    first = [line for line in key_file.read_text().splitlines() if not line.startswith("#")]
    assert len(first) == 1 and oct(key_file.stat().st_mode & 0o777) == "0o600"

    out = StringIO()
    call_command("rotate_master_key", stdout=out)
    assert "re-wrapped 1 of 1 data keys" in out.getvalue()
    keys = [line for line in key_file.read_text().splitlines() if not line.startswith("#")]
    assert len(keys) == 2 and keys[1] == first[0]
    forget_keys()
    assert _read(repo, oid) == MARKER * 30

    call_command("rotate_master_key", "--retire", stdout=StringIO())
    keys_after = [line for line in key_file.read_text().splitlines() if not line.startswith("#")]
    assert len(keys_after) == 1 and keys_after[0] not in keys
    forget_keys()
    assert _read(repo, oid) == MARKER * 30
    # The retired key alone no longer opens anything: the rotation really re-wrapped.
    key_file.write_text(first[0] + "\n")
    forget_keys()
    with pytest.raises(EncryptionKeyUnavailable):
        _read(repo, oid)


def test_rotating_an_environment_master_key(make_repo, settings):
    repo = make_repo("envrot", private=True)
    commit(repo, lfs={"w.bin": MARKER * 30})
    oid = hashlib.sha256(MARKER * 30).hexdigest()
    settings.HUB_MASTER_KEY, settings.HUB_MASTER_KEY_PREVIOUS = KEY_B, KEY_A
    forget_keys()
    call_command("rotate_master_key", stdout=StringIO())
    settings.HUB_MASTER_KEY_PREVIOUS = None  # the old key retired
    forget_keys()
    assert _read(repo, oid) == MARKER * 30


def test_reencrypt_objects_under_a_new_data_key(make_repo):
    repo = make_repo("rekey", private=True)
    commit(repo, lfs={"w.bin": MARKER * 30})
    oid = hashlib.sha256(MARKER * 30).hexdigest()
    old_key = RepoKey.objects.get(repository=repo, active=True).key_id
    out = StringIO()
    call_command("reencrypt_objects", repo.repo_id, "--new-data-key", stdout=out)
    assert "rekeyed=1" in out.getvalue()
    new_key = RepoKey.objects.get(repository=repo, active=True).key_id
    assert new_key != old_key
    with objects.encrypted_store(repo).path_for(oid).open("rb") as f:
        assert read_header(f).key_id == new_key
    assert _read(repo, oid) == MARKER * 30
    with pytest.raises(CommandError, match="no such model repository"):
        call_command("reencrypt_objects", "alice/nope", stdout=StringIO())


def test_deleting_a_repository_removes_its_encrypted_objects_and_keys(make_repo, alice,
                                                                     django_capture_on_commit_callbacks):
    repo = make_repo("gone", private=True)
    commit(repo, lfs={"w.bin": MARKER * 30})
    enclave = objects.encrypted_store(repo).root
    assert any(enclave.rglob("*"))
    with django_capture_on_commit_callbacks(execute=True):
        repo_delete(repo=repo, user=alice)
    assert not enclave.exists() and not RepoKey.objects.exists()


def test_dataset_previews_of_private_repositories_are_cached_sealed(make_repo, alice, bob):
    from django.core.cache import cache

    repo = make_repo("rows", private=True, repo_type="dataset")
    csv = b"email,label\n" + b"".join(b"person%d@secret.example,%d\n" % (i, i % 2) for i in range(50))
    commit(repo, lfs={"train.csv": csv})
    browser = Client()
    browser.force_login(alice)
    url = f"/datasets/{repo.repo_id}/blob/main/train.csv"
    for _ in range(2):  # computed, then served from the cache
        page = browser.get(url)
        assert page.status_code == 200 and b"person7@secret.example" in page.content
    # What the cache backend stores (LocMemCache keeps the pickled values; files and Redis the same).
    stored = [value for key, value in cache._cache.items() if "dataset-preview" in key and "pending" not in key]
    assert stored and all(b"person7@secret.example" not in value for value in stored)
    # A public repository naming the same sha256 without holding the object sees no rows.
    thief = make_repo("thief", user=bob, repo_type="dataset")
    commit(thief, lfs={"train.csv": csv}, link_lfs=False)
    thief_browser = Client()
    thief_browser.force_login(bob)
    assert b"person7@secret.example" not in thief_browser.get(f"/datasets/{thief.repo_id}/blob/main/train.csv").content
