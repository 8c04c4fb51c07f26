"""Hidden repositories look missing; user text is escaped, Markdown sanitized."""
from __future__ import annotations

import pytest
from django.test import Client

from repos.git.commit import Signature
from tests.factories import commit

pytestmark = pytest.mark.django_db

PAGES = ["", "/tree/main", "/tree/main/a.txt", "/blob/main/a.txt", "/commits/main", "/commit/main", "/discussions"]


def _body(r) -> str:
    # The 404 page differs only by the path of the request in the "Log in" link.
    return r.content.decode().split("<main", 1)[1]


@pytest.mark.parametrize("page", PAGES)
def test_private_repo_is_a_404_identical_to_a_missing_one(make_repo, bob, page):
    repo = make_repo("secret", private=True)
    commit(repo, files={"a.txt": b"TOPSECRET-CONTENT"}, message="TOPSECRET-MESSAGE")
    for client in (Client(), _logged_in(bob)):
        hidden = client.get(f"/alice/secret{page}")
        missing = client.get(f"/alice/nothing-here{page}")
        assert hidden.status_code == missing.status_code == 404
        assert _body(hidden) == _body(missing)
        assert "TOPSECRET" not in hidden.content.decode() and "secret" not in _body(hidden)


def test_private_repo_is_visible_to_its_owner(make_repo, alice_client):
    repo = make_repo("secret", private=True)
    commit(repo, files={"a.txt": b"mine"})
    for page in PAGES:
        assert alice_client.get(f"/alice/secret{page}").status_code in (200, 302), page
    assert "private" in alice_client.get("/alice/secret").content.decode()


def _logged_in(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


XSS_README = b"""---
tags: ["<script>alert('tag')</script>", "ok"]
license: "<img src=x onerror=alert(1)>"
---
# Title

[click](javascript:alert('link')) and [click2](JaVaScRiPt:alert('link2'))

<script>alert('readme')</script>
<img src="x" onerror="alert('img')">
<a href="data:text/html,<script>alert(1)</script>">data</a> <a href="jav&#x61;script:alert(3)">raw</a>
<div style="position:fixed" class="btn-primary" id="csrf-token">clobber</div>
"""


def test_readme_html_is_sanitized_and_metadata_escaped(make_repo, client):
    repo = make_repo("xss")
    commit(repo, files={"README.md": XSS_README})
    html = client.get("/alice/xss").content.decode()
    main = html.split('class="markdown"', 1)[1]
    assert "<script" not in main
    assert "onerror" not in main
    assert 'href="javascript' not in main.lower() and "alert(3)" not in main
    assert ">raw</a>" in main  # the element stays, its dangerous target does not
    assert "data:text/html" not in main
    assert "style=" not in main.split("</article>")[0]
    assert 'id="csrf-token"' not in main
    # tags from YAML are shown as text, escaped
    assert "<script>alert('tag')" not in html
    assert "&lt;script&gt;alert(&#x27;tag&#x27;)&lt;/script&gt;" in html
    assert "<img src=x onerror" not in html
    # and in the blob view too
    blob = client.get("/alice/xss/blob/main/README.md").content.decode()
    assert "<script>alert(" not in blob and "onerror=\"alert" not in blob


def test_file_names_and_commit_messages_are_escaped(make_repo, client):
    repo = make_repo("names")
    evil = "<img src=x onerror=alert(1)>.txt"
    sha = commit(repo, files={evil: b"<script>alert('content')</script>\n"},
                 author=Signature("<b>mallory</b>", "m@example.com"),
                 message="<script>alert('msg')</script>\n\n<img src=x onerror=alert(2)> body")
    pages = [
        client.get("/alice/names/tree/main"),
        client.get("/alice/names/commits/main"),
        client.get(f"/alice/names/commit/{sha}"),
        client.get("/alice/names/blob/main/%3Cimg%20src=x%20onerror=alert(1)%3E.txt"),
    ]
    for r in pages:
        assert r.status_code == 200
        html = r.content.decode()
        assert "<img src=x onerror" not in html
        assert "<script>alert(" not in html
        assert "&lt;img src=x onerror=alert(1)&gt;" in html or "&lt;script&gt;" in html
    tree = pages[0].content.decode()
    assert "/alice/names/blob/main/%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E.txt" in tree \
        or "/alice/names/blob/main/%3Cimg%20src=x%20onerror=alert(1)%3E.txt" in tree


def test_pages_have_no_inline_script(make_repo, client):
    repo = make_repo("csp")
    commit(repo, files={"README.md": b"# hi\n", "a.py": b"x = 1\n"})
    for url in ["/", "/models", "/alice/csp", "/alice/csp/tree/main", "/alice/csp/blob/main/a.py",
                "/alice/csp/commits/main", "/login"]:
        html = client.get(url).content.decode()
        # Only external scripts: a strict Content-Security-Policy (script-src 'self') works.
        for tag in html.split("<script")[1:]:
            assert tag.lstrip().startswith("src="), url
        assert " onclick=" not in html and " onload=" not in html


def test_gated_repo_shows_card_and_tree_but_not_file_contents(make_repo, client, bob_client, alice_client):
    repo = make_repo("gated")
    sha = commit(repo, files={"README.md": b"# Public card\n", "secret.py": b"GATED_CONTENT = 1\n"})
    repo.gated = "manual"
    repo.save(update_fields=["gated"])
    for c in (client, bob_client):
        assert "Public card" in c.get("/alice/gated").content.decode()
        assert "secret.py" in c.get("/alice/gated/tree/main").content.decode()
        blob = c.get("/alice/gated/blob/main/secret.py").content.decode()
        assert "GATED_CONTENT" not in blob and "restricted" in blob and "/resolve/" not in blob
        assert "GATED_CONTENT" not in c.get(f"/alice/gated/commit/{sha}").content.decode()
    assert "GATED_CONTENT" in alice_client.get("/alice/gated/blob/main/secret.py").content.decode()
    assert "GATED_CONTENT" in alice_client.get(f"/alice/gated/commit/{sha}").content.decode()


def test_html_pages_send_a_strict_content_security_policy(make_repo, client):
    make_repo("csp2")
    for url in ["/", "/models", "/login", "/alice/csp2", "/alice/csp2/tree/main"]:
        r = client.get(url)
        csp = r["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "object-src 'none'" in csp and "unsafe-inline" not in csp, url
        assert r["X-Content-Type-Options"] == "nosniff"


def test_gated_repo_page_offers_an_access_request(make_repo, bob, client):
    repo = make_repo("gated2")
    repo.gated = "manual"
    repo.save(update_fields=["gated"])
    assert "Log in to request access" in client.get("/alice/gated2").content.decode()
    c = Client(enforce_csrf_checks=True)
    c.force_login(bob)
    page = c.get("/alice/gated2").content.decode()
    assert 'action="/api/models/alice/gated2/ask-access"' in page and "Request access" in page
    token = c.cookies["csrftoken"].value
    r = c.post("/api/models/alice/gated2/ask-access", f"csrfmiddlewaretoken={token}",
               content_type="application/x-www-form-urlencoded")
    assert r.status_code == 200, r.content
    assert "<strong>pending</strong>" in c.get("/alice/gated2").content.decode()
