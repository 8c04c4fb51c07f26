"""User files never become active content in the hub's origin (SECURITY.md T20): whatever a
repository holds, /resolve/ and the LFS object route send it with nosniff and a sandboxing
CSP, and as an attachment unless its type is a passive one a browser only displays."""
from __future__ import annotations

import hashlib

import pytest
from django.test import Client

from tests.factories import RepositoryFactory, commit

pytestmark = pytest.mark.django_db

SANDBOX = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
SCRIPT = b"<html><body><script>alert(document.domain)</script></body></html>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>'

# name -> (bytes, expected Content-Type, inline?)
FILES = {
    "page.html": (SCRIPT, "text/html; charset=utf-8", False),
    "page.htm": (SCRIPT, "text/html; charset=utf-8", False),
    "page.xhtml": (SCRIPT, None, False),
    "image.svg": (SVG, "image/svg+xml", False),
    "feed.xml": (b"<?xml version='1.0'?><x/>", None, False),
    "style.xsl": (b"<xsl:stylesheet/>", None, False),
    "app.js": (b"alert(1)", None, False),
    "mod.mjs": (b"alert(1)", None, False),
    "sheet.css": (b"body{}", "text/css; charset=utf-8", False),
    "paper.pdf": (b"%PDF-1.4 /JS (alert(1))", "application/pdf", False),
    "movie.swf": (b"FWS", None, False),
    "noext": (SCRIPT, "application/octet-stream", False),
    "archive.weird": (SCRIPT, "application/octet-stream", False),
    # Passive types stay viewable; nosniff and the sandbox keep a lying file inert.
    "notes.txt": (SCRIPT, "text/plain; charset=utf-8", True),
    "README.md": (SCRIPT, "text/markdown; charset=utf-8", True),
    "config.json": (b'{"a": "<script>alert(1)</script>"}', "application/json; charset=utf-8", True),
    "polyglot.png": (SCRIPT, "image/png", True),
}


@pytest.fixture
def repo(alice):
    repo = RepositoryFactory(owner=alice, name="active")
    commit(repo, files={name: data for name, (data, _, _) in FILES.items()},
           lfs={"big/page.html": SCRIPT + b"<!-- lfs -->", "big/image.svg": SVG + b"<!-- lfs -->"})
    return repo


def check_inert(response, *, inline: bool, label: str) -> None:
    assert response.status_code == 200, label
    assert response["X-Content-Type-Options"] == "nosniff", label
    assert response["Content-Security-Policy"] == SANDBOX, label
    disposition = response["Content-Disposition"]
    assert disposition.startswith("inline;" if inline else "attachment;"), (label, disposition)


@pytest.mark.parametrize("method", ["get", "head"])
def test_resolve_serves_active_files_as_inert_attachments(repo, method):
    client = Client()
    for name, (_data, content_type, inline) in FILES.items():
        r = getattr(client, method)(f"/alice/active/resolve/main/{name}")
        check_inert(r, inline=inline, label=name)
        if content_type is not None:
            assert r["Content-Type"] == content_type, name
    for name in ("big/page.html", "big/image.svg"):
        check_inert(getattr(client, method)(f"/alice/active/resolve/main/{name}"), inline=False, label=name)


def test_lfs_object_downloads_are_inert_attachments(repo):
    oid = hashlib.sha256(SCRIPT + b"<!-- lfs -->").hexdigest()
    r = Client().get(f"/alice/active.git/info/lfs/objects/{oid}")
    check_inert(r, inline=False, label="lfs object")
    assert r["Content-Type"] == "application/octet-stream"


def test_the_blob_page_never_embeds_active_files_as_documents(repo):
    for name in ("page.html", "image.svg", "big/page.html"):
        html = Client().get(f"/alice/active/blob/main/{name}").content.decode()
        assert "<iframe" not in html and "<object" not in html and "<embed" not in html, name
        assert "alert(document.domain)</script>" not in html, name  # shown as escaped text, if at all
