"""Write pages: login and write access required, forms commit through the services."""
from __future__ import annotations

import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from repos.handles import git_repo
from repos.lfs.pointer import parse_pointer
from repos.models import RepoLfsObject, Repository
from repos.objects import storage_backend
from repos.policy.upload import MAX_REGULAR_FILE_SIZE
from tests.factories import CollaboratorFactory, MembershipFactory, OrganizationFactory, commit

pytestmark = pytest.mark.django_db

WRITE_PAGES = ["/upload/main", "/edit/main/a.txt", "/new-file/main"]


@pytest.fixture
def demo(make_repo):
    repo = make_repo("demo")
    commit(repo, files={"a.txt": b"hello\n", "notes/b.md": b"# B\n"})
    return repo


def _file(git, sha, path) -> bytes | None:
    entry = git.get_entry(sha, path)
    return None if entry is None else git.read_blob(entry.oid)


@pytest.mark.parametrize("page", ["/new", "/new-dataset", *[f"/alice/demo{p}" for p in WRITE_PAGES]])
def test_anonymous_visitors_are_sent_to_login(demo, client, page):
    for method in (client.get, client.post):
        r = method(page)
        assert r.status_code == 302
        assert r["Location"].startswith("/login?next=")


@pytest.mark.parametrize("page", WRITE_PAGES)
def test_readers_get_403_and_strangers_to_private_repos_404(demo, make_repo, bob, bob_client, page):
    # Signed-in strangers may propose changes to a public repository (pull requests only:
    # tests/repos/views/test_contribute_pages.py); a read collaborator of a private one may not.
    secret = make_repo("secret", private=True)
    commit(secret, files={"a.txt": b"x"})
    assert bob_client.get(f"/alice/secret{page}").status_code == 404
    assert bob_client.get(f"/alice/nope{page}").status_code == 404
    CollaboratorFactory(repo=secret, user=bob, role="read")
    assert bob_client.get(f"/alice/secret{page}").status_code == 403
    assert bob_client.post(f"/alice/secret{page}", {"summary": "x"}).status_code == 403


def test_write_pages_only_accept_branches(demo, alice_client):
    head = demo.head_sha
    assert alice_client.get(f"/alice/demo/upload/{head}").status_code == 400
    assert alice_client.get("/alice/demo/upload/nope").status_code == 404


def test_login_and_logout(alice):
    c = Client()
    r = c.post("/login", {"username": "alice", "password": "wrong"})
    assert r.status_code == 200 and "correct username and password" in r.content.decode()
    r = c.post("/login", {"username": "alice", "password": "alice-password-1", "next": "/new"})
    assert r.status_code == 302 and r["Location"] == "/new"
    assert c.get("/new").status_code == 200
    assert c.get("/logout").status_code == 405  # GET must not log anyone out
    assert c.post("/logout").status_code == 302
    assert c.get("/new").status_code == 302


def test_new_repo_form_creates_a_repository(alice, alice_client):
    r = alice_client.get("/new")
    assert r.status_code == 200 and '<option value="alice" selected>alice</option>' in r.content.decode()
    r = alice_client.post("/new", {"owner": "alice", "name": "fresh", "private": "on"})
    assert r.status_code == 302 and r["Location"] == "/alice/fresh"
    repo = Repository.objects.get(namespace="alice", name="fresh")
    assert repo.private and repo.repo_type == "model"
    r = alice_client.post("/new-dataset", {"owner": "alice", "name": "fresh"})
    assert r.status_code == 302 and r["Location"] == "/datasets/alice/fresh"
    # the same name again, a bad name, somebody else's namespace
    r = alice_client.post("/new", {"owner": "alice", "name": "fresh"})
    assert r.status_code == 409 and "already" in r.content.decode()
    assert alice_client.post("/new", {"owner": "alice", "name": "bad..name"}).status_code == 400
    assert alice_client.post("/new", {"owner": "bob", "name": "x"}).status_code == 400
    assert not Repository.objects.filter(namespace="bob").exists()


def test_new_repo_in_an_organization_the_user_writes_to(alice, alice_client):
    org = OrganizationFactory(name="acme")  # its admin is another user
    MembershipFactory(org=org, user=alice, role="write")
    assert '<option value="acme">acme</option>' in alice_client.get("/new").content.decode()
    r = alice_client.post("/new", {"owner": "acme", "name": "shared"})
    assert r.status_code == 302 and Repository.objects.filter(namespace="acme", name="shared").exists()


def test_upload_commits_regular_and_lfs_files(demo, alice_client):
    big = b"\x00\x01binary" * 200_000  # ~1.6 MB of binary: must go to LFS
    files = [SimpleUploadedFile("small.txt", b"small text\n"), SimpleUploadedFile("weights.bin", big),
             SimpleUploadedFile("blob.dat", big[:1_500_000])]
    r = alice_client.post("/alice/demo/upload/main", {"files": files, "folder": "sub/dir", "summary": "Add files"})
    assert r.status_code == 302, r.content.decode()[:2000]
    assert r["Location"] == "/alice/demo/tree/main/sub/dir"
    git = git_repo(demo)
    head = git.resolve("main")
    info = git.commit_info(head)
    assert info.title == "Add files" and info.author_name == "alice"
    assert _file(git, head, "sub/dir/small.txt") == b"small text\n"
    for path, data in (("sub/dir/weights.bin", big), ("sub/dir/blob.dat", big[:1_500_000])):
        pointer = parse_pointer(_file(git, head, path))
        assert pointer is not None and pointer.size == len(data)
        assert pointer.oid == hashlib.sha256(data).hexdigest()
        with storage_backend().open(pointer.oid) as f:
            assert f.read() == data
        assert RepoLfsObject.objects.filter(repository=demo, lfs_object_id=pointer.oid).exists()
    # blob.dat matches no LFS pattern: the commit service adds a rule for it
    assert b"blob.dat" in _file(git, head, ".gitattributes")
    page = alice_client.get(r["Location"]).content.decode()
    assert "Committed 3 file(s)" in page and "weights.bin" in page


def test_upload_default_message_and_errors(demo, alice_client):
    r = alice_client.post("/alice/demo/upload/main", {"files": [SimpleUploadedFile("x.txt", b"x")]})
    assert r.status_code == 302
    git = git_repo(demo)
    assert git.commit_info(git.resolve("main")).title == "Upload x.txt"
    r = alice_client.post("/alice/demo/upload/main", {})
    assert r.status_code == 400 and "Choose at least one file" in r.content.decode()
    r = alice_client.post("/alice/demo/upload/main", {"files": [SimpleUploadedFile("x.txt", b"x")],
                                                      "folder": "../../etc"})
    assert r.status_code == 400
    r = alice_client.post("/alice/demo/upload/main", {"files": [SimpleUploadedFile("y.txt", b"y")],
                                                      "folder": ".git"})
    assert r.status_code == 400
    assert git.commit_info(git.resolve("main")).title == "Upload x.txt"


def test_upload_requires_the_csrf_token(demo, alice):
    c = Client(enforce_csrf_checks=True)
    c.force_login(alice)
    r = c.post("/alice/demo/upload/main", {"files": [SimpleUploadedFile("x.txt", b"x")]})
    assert r.status_code == 403
    git = git_repo(demo)
    assert git.get_entry(git.resolve("main"), "x.txt") is None


def test_upload_spools_files_to_the_data_disk(rf, settings, alice):
    from repos.views.upload_handlers import DiskUploadHandler

    request = rf.post("/")
    handler = DiskUploadHandler(request)
    handler.new_file("files", "a.bin", "application/octet-stream", 10)
    path = handler.file.temporary_file_path()
    assert path.startswith(str(settings.TMP_ROOT))
    # Spooled encrypted: the plaintext of a (private) upload never touches the disk.
    secret = b"PLAINTEXT-OF-A-PRIVATE-UPLOAD " * 1000
    handler.receive_data_chunk(secret, 0)
    uploaded = handler.file_complete(len(secret))
    with open(path, "rb") as on_disk:
        assert len(on_disk.read()) == len(secret)
        on_disk.seek(0)
        assert b"PLAINTEXT-OF-A-PRIVATE-UPLOAD" not in on_disk.read()
    uploaded.seek(0)
    assert uploaded.read() == secret and uploaded.size == len(secret)
    uploaded.close()


def test_edit_file_commits_with_parent_check(demo, alice_client):
    git = git_repo(demo)
    head = git.resolve("main")
    page = alice_client.get("/alice/demo/edit/main/a.txt").content.decode()
    assert "hello" in page and f'value="{head}"' in page
    r = alice_client.post("/alice/demo/edit/main/a.txt", {"content": "hello\r\nworld\r\n", "parent": head,
                                                          "summary": "", "description": "why"})
    assert r.status_code == 302 and r["Location"] == "/alice/demo/blob/main/a.txt"
    new_head = git.resolve("main")
    assert _file(git, new_head, "a.txt") == b"hello\nworld\n"  # CRLF from the textarea normalized
    info = git.commit_info(new_head)
    assert info.title == "Update a.txt" and "why" in info.message
    # a second edit based on the old head is refused, nothing changes
    r = alice_client.post("/alice/demo/edit/main/a.txt", {"content": "stale", "parent": head})
    assert r.status_code == 412 and "updated since" in r.content.decode()
    assert git.resolve("main") == new_head


def test_edit_refuses_binary_and_lfs_files(demo, alice_client):
    commit(demo, files={"bin.dat": b"\0\0\0"})
    assert alice_client.get("/alice/demo/edit/main/bin.dat").status_code == 400
    assert alice_client.get("/alice/demo/edit/main/missing.txt").status_code == 404


def test_new_file_creates_and_refuses_existing(demo, alice_client):
    git = git_repo(demo)
    head = git.resolve("main")
    r = alice_client.get("/alice/demo/new-file/main/notes?filename=README.md")
    assert r.status_code == 200 and 'value="README.md"' in r.content.decode()
    r = alice_client.post("/alice/demo/new-file/main/notes", {"filename": "c.md", "content": "# C\n", "parent": head})
    assert r.status_code == 302 and r["Location"] == "/alice/demo/blob/main/notes/c.md"
    new_head = git.resolve("main")
    assert _file(git, new_head, "notes/c.md") == b"# C\n"
    assert git.commit_info(new_head).title == "Create notes/c.md"
    r = alice_client.post("/alice/demo/new-file/main/notes", {"filename": "b.md", "content": "x", "parent": new_head})
    assert r.status_code == 400 and "already exists" in r.content.decode()
    r = alice_client.post("/alice/demo/new-file/main", {"filename": "../x", "content": "x", "parent": new_head})
    assert r.status_code == 400
    assert git.resolve("main") == new_head


def test_regular_file_limit_is_the_upload_policy(demo, alice_client):
    # Text over the regular-file limit is routed to LFS, not refused.
    data = b"a" * (MAX_REGULAR_FILE_SIZE + 1)
    r = alice_client.post("/alice/demo/upload/main", {"files": [SimpleUploadedFile("big.txt", data)]})
    assert r.status_code == 302
    git = git_repo(demo)
    pointer = parse_pointer(_file(git, git.resolve("main"), "big.txt"))
    assert pointer is not None and pointer.size == len(data)
