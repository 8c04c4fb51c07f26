"""The Xet CAS routes and token endpoints through Django's test client (XET.md §5, §7.4 item 8).

Xorbs and shards are built here with the pure format layer (`repos.xet.conversion`), byte-exact
with hf_xet, so every refusal below is the server's verification, not a parse error.
"""
from __future__ import annotations

import hashlib
import io
import random
import time
from dataclasses import dataclass, replace
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.test import Client, override_settings

from accounts.models import AccessToken
from accounts.services.tokens import ScopeGrant, token_create
from repos import objects
from repos.lfs.pointer import format_pointer
from repos.models import RepoXetFile, RepoXetXorb, XetFile, XetXorb
from repos.services import xet as cas
from repos.services.repos import repo_create
from repos.xet.conversion import ConvertedFile, convert_stream
from repos.xet.hashes import MerkleHash, chunk_hash
from repos.xet.shard import ShardFile, ShardXorb, read_shard, shard_bytes
from repos.xet.tokens import CasTokenClaims, issue_cas_token
from repos.xet.xorb import XorbInfo
from tests.factories import bearer, commit

pytestmark = pytest.mark.django_db


@dataclass
class Upload:
    """A file as a client would upload it: xorb bodies and the shard registering it."""

    data: bytes
    converted: ConvertedFile
    xorbs: list[tuple[XorbInfo, bytes]]

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    def shard(self, file: ShardFile | None = None) -> bytes:
        return shard_bytes(files=[file or self.converted.shard_file()],
                           xorbs=[ShardXorb.from_xorb_info(info) for info, _ in self.xorbs])


def make_upload(data: bytes) -> Upload:
    xorbs: list[tuple[XorbInfo, bytes]] = []

    def close(out: io.BytesIO, info: XorbInfo) -> None:  # type: ignore[override]
        xorbs.append((info, out.getvalue()))

    converted = convert_stream([data], open_xorb=io.BytesIO, close_xorb=close, with_footer=False)  # type: ignore[arg-type]
    return Upload(data, converted, xorbs)


def data_of(seed: int, size: int = 200_000) -> bytes:
    return random.Random(seed).randbytes(size)


def write_token(client: Client, repo, headers, *, rev: str = "main", query: str = "") -> str:
    r = client.get(f"/api/models/{repo.repo_id}/xet-write-token/{rev}{query}", **headers)
    assert r.status_code == 200, r.content
    return r.json()["accessToken"]


def read_token(client: Client, repo, headers) -> str:
    r = client.get(f"/api/models/{repo.repo_id}/xet-read-token/main", **headers)
    assert r.status_code == 200, r.content
    return r.json()["accessToken"]


def cas_headers(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def post_xorbs(client: Client, up: Upload, token: str) -> None:
    for info, body in up.xorbs:
        r = client.post(f"/xet/v1/xorbs/default/{info.hash.hex()}", body, content_type="application/octet-stream",
                        **cas_headers(token))
        assert r.status_code == 200, r.content


def post_shard(client: Client, shard: bytes, token: str):
    return client.post("/xet/v1/shards", shard, content_type="application/octet-stream", **cas_headers(token))


@pytest.fixture
def world(alice, bob):
    client = Client()
    return {
        "client": client,
        "alice_h": bearer(alice),
        "bob_h": bearer(bob),
        "pub": repo_create(user=alice, namespace="alice", name="pub"),
        "priv": repo_create(user=alice, namespace="alice", name="priv", private=True),
        "bobs": repo_create(user=bob, namespace="bob", name="bobs", private=True),
    }


def uploaded(world, repo, seed: int, headers_key: str = "alice_h") -> tuple[Upload, str]:
    up = make_upload(data_of(seed))
    token = write_token(world["client"], repo, world[headers_key])
    post_xorbs(world["client"], up, token)
    r = post_shard(world["client"], up.shard(), token)
    assert r.status_code == 200 and r.json() == {"result": 1}, r.content
    return up, token


# --------------------------------------------------------------------------- token endpoints


def test_token_answer_has_body_and_headers(world) -> None:
    r = world["client"].get("/api/models/alice/pub/xet-write-token/main", **world["alice_h"])
    body = r.json()
    assert set(body) == {"casUrl", "accessToken", "exp"}
    assert r["X-Xet-Cas-Url"] == body["casUrl"] and not body["casUrl"].endswith("/")
    assert r["X-Xet-Access-Token"] == body["accessToken"]
    assert int(r["X-Xet-Token-Expiration"]) == body["exp"]
    assert time.time() + 90 < body["exp"] <= time.time() + 3600 + 5  # honest, and refreshable


def test_token_expiry_never_outlives_the_hub_token(world, alice) -> None:
    _token, key = token_create(user=alice, name="short", role=AccessToken.Role.WRITE,
                               expires_at=cas.timezone.now() + timedelta(minutes=5))
    r = world["client"].get("/api/models/alice/pub/xet-write-token/main", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert r.json()["exp"] <= time.time() + 5 * 60 + 1


def test_write_token_needs_write_but_pull_requests_need_only_contribute(world) -> None:
    c = world["client"]
    assert c.get("/api/models/alice/pub/xet-write-token/main", **world["bob_h"]).status_code == 403
    assert c.get("/api/models/alice/pub/xet-write-token/None?create_pr=1", **world["bob_h"]).status_code == 200
    assert c.get("/api/models/alice/pub/xet-write-token/main?create_pr=1", **world["bob_h"]).status_code == 200
    assert c.get("/api/models/alice/pub/xet-write-token/refs%2Fpr%2F1", **world["bob_h"]).status_code == 200
    assert c.get("/api/models/alice/pub/xet-write-token/main", **world["alice_h"]).status_code == 200
    assert c.get("/api/models/alice/pub/xet-write-token/main").status_code == 401
    assert c.get("/api/models/alice/pub/xet-read-token/main").status_code == 200  # public: anonymous reads


def test_read_hub_token_never_gets_a_write_cas_token(world, alice) -> None:
    r = world["client"].get("/api/models/alice/pub/xet-write-token/main", **bearer(alice, role="read"))
    assert r.status_code == 403


def test_fine_grained_scopes_are_honoured(world, alice) -> None:
    _t, key = token_create(user=alice, name="fg", role=AccessToken.Role.FINE_GRAINED,
                           scopes=[ScopeGrant(access="write", repository=world["pub"])])
    h = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    assert world["client"].get("/api/models/alice/pub/xet-write-token/main", **h).status_code == 200
    r = world["client"].get("/api/models/alice/priv/xet-read-token/main", **h)
    missing = world["client"].get("/api/models/alice/nope/xet-read-token/main", **h)
    assert (r.status_code, r["X-Error-Code"], r.content) == (404, "RepoNotFound", missing.content)


@pytest.mark.parametrize("kind", ["read", "write"])
def test_hidden_repo_token_endpoints_answer_like_a_missing_repo(world, kind) -> None:
    c = world["client"]
    hidden = c.get(f"/api/models/alice/priv/xet-{kind}-token/main", **world["bob_h"])
    missing = c.get(f"/api/models/alice/no-such/xet-{kind}-token/main", **world["bob_h"])
    assert hidden.status_code == missing.status_code == 404
    assert (hidden.content, hidden["X-Error-Code"]) == (missing.content, missing["X-Error-Code"])


def test_read_token_for_a_missing_revision(world) -> None:
    r = world["client"].get("/api/models/alice/pub/xet-read-token/no-such-branch", **world["alice_h"])
    assert (r.status_code, r["X-Error-Code"]) == (404, "RevisionNotFound")


# --------------------------------------------------------------------------- CAS tokens


def test_read_cas_token_cannot_upload(world) -> None:
    up = make_upload(data_of(1))
    token = read_token(world["client"], world["pub"], world["alice_h"])
    info, body = up.xorbs[0]
    r = world["client"].post(f"/xet/v1/xorbs/default/{info.hash.hex()}", body,
                             content_type="application/octet-stream", **cas_headers(token))
    assert r.status_code == 403
    assert post_shard(world["client"], up.shard(), token).status_code == 403
    assert not XetXorb.objects.exists()


def test_expired_and_forged_cas_tokens_are_401(world) -> None:
    claims = CasTokenClaims(repo_key=world["pub"].storage_key.hex, revision="main", scope="write", user_key=None,
                            create_pr=False, expires_at=int(time.time()) - 1)
    expired = issue_cas_token(cas.token_secret(), claims)
    forged = issue_cas_token(b"another secret", replace(claims, expires_at=int(time.time()) + 600))
    for token in (expired, forged, "garbage", ""):
        r = world["client"].get(f"/xet/v1/reconstructions/{'0' * 64}", **cas_headers(token))
        assert r.status_code == 401, token


def test_cas_token_dies_with_the_hub_token(world, alice) -> None:
    hub_token, key = token_create(user=alice, name="t", role=AccessToken.Role.WRITE)
    cas_token = write_token(world["client"], world["pub"], {"HTTP_AUTHORIZATION": f"Bearer {key}"})
    hub_token.revoked_at = cas.timezone.now()
    hub_token.save()
    r = world["client"].get(f"/xet/v1/chunks/default/{'0' * 64}", **cas_headers(cas_token))
    assert r.status_code == 401


# --------------------------------------------------------------------------- uploads


def test_upload_registers_and_materializes_an_lfs_object(world) -> None:
    up, _ = uploaded(world, world["pub"], 2)
    row = XetFile.objects.get(pk=up.converted.file_hash.hex())
    assert (row.sha256, row.size) == (up.sha256, len(up.data))
    found = objects.find(repo=world["pub"], oid=up.sha256)
    assert found is not None and found.open().read() == up.data
    assert RepoXetFile.objects.filter(repository=world["pub"], file=row).exists()


def test_xorb_whose_content_is_not_its_name_is_refused(world) -> None:
    up = make_upload(data_of(3))
    token = write_token(world["client"], world["pub"], world["alice_h"])
    info, body = up.xorbs[0]
    wrong = MerkleHash(bytes(31) + b"\x01").hex()
    r = world["client"].post(f"/xet/v1/xorbs/default/{wrong}", body, content_type="application/octet-stream",
                             **cas_headers(token))
    assert r.status_code == 400
    corrupt = bytearray(body)
    corrupt[-1] ^= 0xFF
    r = world["client"].post(f"/xet/v1/xorbs/default/{info.hash.hex()}", bytes(corrupt),
                             content_type="application/octet-stream", **cas_headers(token))
    assert r.status_code == 400 and not XetXorb.objects.exists()


def _forged(up: Upload, **changes) -> bytes:
    return up.shard(replace(up.converted.shard_file(), **changes))


@pytest.mark.parametrize("forge", ["verification", "file_hash", "sha256"])
def test_forged_shard_claims_are_refused(world, forge) -> None:
    up = make_upload(data_of(4))
    token = write_token(world["client"], world["pub"], world["alice_h"])
    post_xorbs(world["client"], up, token)
    f = up.converted.shard_file()
    bogus = chunk_hash(b"not these bytes")
    shard = {
        "verification": lambda: _forged(up, verification=(bogus,) * len(f.segments)),
        "file_hash": lambda: _forged(up, file_hash=bogus),
        "sha256": lambda: _forged(up, sha256=MerkleHash.from_hex(hashlib.sha256(b"other").hexdigest())),
    }[forge]()
    assert post_shard(world["client"], shard, token).status_code == 400
    assert not XetFile.objects.exists()
    assert objects.find(repo=world["pub"], oid=up.sha256) is None


def test_a_shard_cannot_reference_another_private_repos_xorbs(world) -> None:
    up, _ = uploaded(world, world["priv"], 5)  # alice's private repo
    bob_token = write_token(world["client"], world["bobs"], world["bob_h"])
    r = post_shard(world["client"], up.shard(), bob_token)  # bob claims alice's chunks
    assert r.status_code == 400
    assert not RepoXetFile.objects.filter(repository=world["bobs"]).exists()
    assert objects.find(repo=world["bobs"], oid=up.sha256) is None


def test_grants_and_v2_shards_answer_404_after_reading_the_body(world) -> None:
    token = write_token(world["client"], world["pub"], world["alice_h"])
    h = cas_headers(token)
    assert world["client"].post(f"/xet/v1/xorb-grants/default/{'0' * 64}", b"{}", content_type="application/json",
                                **h).status_code == 404
    assert world["client"].post("/xet/v2/shards", b"x" * 1000, content_type="application/octet-stream",
                                **h).status_code == 404


# --------------------------------------------------------------------------- dedup and reads


def test_dedup_answers_only_name_xorbs_the_repo_may_see(world) -> None:
    up, _ = uploaded(world, world["priv"], 6)
    first = up.xorbs[0][0].chunks[0].hash.hex()
    own = world["client"].get(f"/xet/v1/chunks/default/{first}",
                              **cas_headers(read_token(world["client"], world["priv"], world["alice_h"])))
    assert own.status_code == 200
    answer = read_shard(io.BytesIO(own.content))
    assert answer.footer is not None and answer.footer.chunk_hash_hmac_key != bytes(32)
    assert answer.xorbs[0].hash == up.xorbs[0][0].hash
    assert all(c.hash != up.xorbs[0][0].chunks[0].hash for c in answer.xorbs[0].chunks)  # keyed, never raw
    # Alice's other (public) repo and bob's repo never learn that the private chunk exists.
    for repo, h in ((world["pub"], world["alice_h"]), (world["bobs"], world["bob_h"])):
        r = world["client"].get(f"/xet/v1/chunks/default/{first}",
                                **cas_headers(read_token(world["client"], repo, h)))
        assert r.status_code == 404


def fetch_terms(plan: dict) -> bytes:
    """The xorb records a reconstruction `plan` names, fetched as hf_xet does: each term's
    signed fetch URL with its byte range (no credentials)."""
    out = bytearray()
    for term in plan["terms"]:
        entry = plan["fetch_info"][term["hash"]][0]
        s, e = entry["url_range"]["start"], entry["url_range"]["end"]
        url = urlsplit(entry["url"])
        got = Client().get(url.path + "?" + url.query, HTTP_RANGE=f"bytes={s}-{e}")
        assert got.status_code == 206, got.content
        out += b"".join(got.streaming_content)
    return bytes(out)


def _reconstruct(world, repo, headers, file_hash: str, rng: str | None = None):
    extra = {"HTTP_RANGE": rng} if rng else {}
    token = read_token(world["client"], repo, headers)
    return world["client"].get(f"/xet/v1/reconstructions/{file_hash}", **cas_headers(token), **extra)


def test_reconstruction_and_fetch_roundtrip(world) -> None:
    up, _ = uploaded(world, world["pub"], 7)
    r = _reconstruct(world, world["pub"], world["bob_h"], up.converted.file_hash.hex())
    assert r.status_code == 200
    data = fetch_terms(r.json())
    info, body = up.xorbs[0]
    assert bytes(data) == body[: len(data)]
    assert _reconstruct(world, world["pub"], world["bob_h"], up.converted.file_hash.hex(),
                        f"bytes={len(up.data)}-").status_code == 416
    v2 = world["client"].get(f"/xet/v2/reconstructions/{up.converted.file_hash.hex()}",
                             **cas_headers(read_token(world["client"], world["pub"], world["bob_h"])))
    assert v2.status_code == 200 and "xorbs" in v2.json()


def test_reconstruction_never_reaches_another_repos_file(world) -> None:
    up, _ = uploaded(world, world["priv"], 8)
    r = _reconstruct(world, world["bobs"], world["bob_h"], up.converted.file_hash.hex())
    unknown = _reconstruct(world, world["bobs"], world["bob_h"], "1" * 64)
    assert r.status_code == unknown.status_code == 404 and r.content == unknown.content


def test_widened_tampered_or_expired_fetch_urls_are_refused(world) -> None:
    up, _ = uploaded(world, world["pub"], 9)
    plan = _reconstruct(world, world["pub"], world["alice_h"], up.converted.file_hash.hex()).json()
    entry = next(iter(plan["fetch_info"].values()))[0]
    url = urlsplit(entry["url"])
    s, e = entry["url_range"]["start"], entry["url_range"]["end"]
    path = url.path + "?" + url.query
    c = Client()
    assert c.get(path, HTTP_RANGE=f"bytes={s}-{e + 1}").status_code == 403  # widened
    assert c.get(path.replace("r=", "r=0") if s else path.replace(f"r={s}-{e}", f"r={s}-{e + 8}"),
                 HTTP_RANGE=f"bytes={s}-{e}").status_code == 403  # tampered signed range
    with override_settings(HUB_XET_FETCH_TTL=-1):
        expired = _reconstruct(world, world["pub"], world["alice_h"], up.converted.file_hash.hex()).json()
    entry = next(iter(expired["fetch_info"].values()))[0]
    url = urlsplit(entry["url"])
    assert c.get(url.path + "?" + url.query, HTTP_RANGE=f"bytes={s}-{e}").status_code == 403


def test_resolve_and_tree_advertise_xet_only_for_registered_files(world) -> None:
    up, _ = uploaded(world, world["pub"], 10)
    commit(world["pub"], files={"w.bin": format_pointer(up.sha256, len(up.data))},
           lfs={"plain.bin": b"plain lfs object"})
    head = world["client"].head("/alice/pub/resolve/main/w.bin")
    assert head["X-Xet-Hash"] == up.converted.file_hash.hex()
    assert 'rel="xet-auth"' in head["Link"] and "/xet-read-token/" in head["Link"]
    assert "X-Xet-Hash" not in world["client"].head("/alice/pub/resolve/main/plain.bin")
    tree = {e["path"]: e for e in world["client"].get("/api/models/alice/pub/tree/main").json()}
    assert tree["w.bin"]["xetHash"] == up.converted.file_hash.hex()
    assert "xetHash" not in tree["plain.bin"]


def test_garbage_collection_spares_used_xorbs_and_collects_orphans(world) -> None:
    up, _ = uploaded(world, world["pub"], 11)
    orphan = make_upload(data_of(12))
    post_xorbs(world["client"], orphan, write_token(world["client"], world["pub"], world["alice_h"]))
    assert cas.xet_collect_garbage(grace=timedelta(hours=1)).xorbs == 0  # within the grace period
    XetXorb.objects.update(touched_at=cas.timezone.now() - timedelta(days=30))
    stats = cas.xet_collect_garbage(grace=timedelta(hours=1))
    assert stats.xorbs == len(orphan.xorbs)
    assert set(XetXorb.objects.values_list("pk", flat=True)) == {i.hash.hex() for i, _ in up.xorbs}
    assert RepoXetXorb.objects.count() == len(up.xorbs)
    # The repository is deleted: its file and then its xorbs go.
    world["pub"].delete()
    XetFile.objects.update(created_at=cas.timezone.now() - timedelta(days=30))
    stats = cas.xet_collect_garbage(grace=timedelta(hours=1))
    assert (stats.files, stats.xorbs) == (1, len(up.xorbs))
    assert not XetXorb.objects.exists()


def test_gc_command_reports_what_it_collected(world) -> None:
    from django.core.management import call_command

    orphan = make_upload(data_of(13))
    post_xorbs(world["client"], orphan, write_token(world["client"], world["pub"], world["alice_h"]))
    XetXorb.objects.update(touched_at=cas.timezone.now() - timedelta(days=30))
    out = io.StringIO()
    call_command("xet_gc", "--grace-hours", "1", stdout=out)
    assert f"xorbs={len(orphan.xorbs)}" in out.getvalue() and not XetXorb.objects.exists()


def test_an_lfs_object_is_readable_through_xet_once_its_content_is_registered(world) -> None:
    """Uploaded the old way to one repository, registered through Xet in another: the first
    advertises the Xet hash too, and reconstruction works through it (same verified bytes)."""
    up, _ = uploaded(world, world["pub"], 14)
    commit(world["bobs"], lfs={"same.bin": up.data})  # bob's private repo, plain LFS
    tree = {e["path"]: e for e in world["client"].get("/api/models/bob/bobs/tree/main", **world["bob_h"]).json()}
    assert tree["same.bin"]["xetHash"] == up.converted.file_hash.hex()
    assert _reconstruct(world, world["bobs"], world["bob_h"], up.converted.file_hash.hex()).status_code == 200


def test_storage_is_counted_once(world) -> None:
    """Xorbs and the materialized object hold the same bytes; the repository's storage counts
    the file once, as for any LFS file."""
    up, _ = uploaded(world, world["pub"], 15)
    world["pub"].refresh_from_db()
    before = world["pub"].used_storage
    commit(world["pub"], files={"w.bin": format_pointer(up.sha256, len(up.data))})
    world["pub"].refresh_from_db()
    assert world["pub"].used_storage - before == len(up.data)
