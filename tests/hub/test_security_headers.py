"""Security headers on every response (SECURITY.md T57), by a crawl over the URL resolver.

Every route of `django.urls.get_resolver()` is requested with GET at its sample URL (the
permission matrix's, tests/repos/gate/route_rules.py: a route without one fails there),
anonymously, with a browser session and with a token; the Django admin's pages as a site
administrator; plus static files, error pages and refusals. Each answer must carry the
baseline headers and a Content-Security-Policy: the strict page policy on HTML, `default-src
'none'` on everything else, a sandbox on user files. Every HTML page met on the way must also
work under that policy: no inline script, style or event handler.
"""
from __future__ import annotations

import uuid
from html.parser import HTMLParser
from typing import Any

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import reverse

from hub.http.headers import BASELINE, PAGE_CSP, RESOURCE_CSP
from tests.repos.gate.route_rules import ADMIN_PREFIX
from tests.repos.gate.test_permission_matrix import iter_routes, rule_for
from tests.repos.gate.world import ORG, build_world, make_repo

pytestmark = pytest.mark.django_db

USER_FILE_CSP = "default-src 'none'; style-src 'unsafe-inline'; sandbox"


class InlineCodeFinder(HTMLParser):
    """What a strict CSP (script-src/style-src 'self') would block in a page."""

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name.lower(): value or "" for name, value in attrs}
        if tag == "script" and "src" not in names and names.get("type") != "application/json":
            self.problems.append("inline <script>")
        if tag == "style":
            self.problems.append("<style> element")
        for name, value in names.items():
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=...> handler")
            if name == "style":
                self.problems.append(f"<{tag} style=...>")
            if name in ("href", "src", "action", "formaction") and value.strip().lower().startswith("javascript:"):
                self.problems.append(f"<{tag} {name}=javascript:...>")


def body_of(response: Any) -> bytes:
    if response.streaming:
        try:
            return b"".join(response.streaming_content)
        finally:
            response.close()
    return response.content


def header_problems(label: str, response: Any) -> list[str]:
    problems = [f"{label}: {key} is {response.get(key)!r}, expected {value!r}"
                for key, value in BASELINE.items() if response.get(key) != value]
    csp = response.get("Content-Security-Policy")
    ctype = response.get("Content-Type", "").split(";")[0].strip()
    if ctype == "text/html":
        if csp != PAGE_CSP:
            problems.append(f"{label}: HTML page with CSP {csp!r}")
        finder = InlineCodeFinder()
        finder.feed(body_of(response).decode("utf-8", "replace"))
        problems += [f"{label}: {p}" for p in sorted(set(finder.problems))]
    elif csp not in (RESOURCE_CSP, USER_FILE_CSP):
        problems.append(f"{label}: {ctype or 'no content type'} with CSP {csp!r}")
    else:
        body_of(response)
    return problems


@pytest.fixture
def crawl_world() -> dict[str, Any]:
    world = build_world()
    repo, sha = make_repo(world, "public", name="crawled")
    # The signed-in crawler is also a site administrator, so the Django admin's pages render.
    staff = world.users["admin"]
    staff.is_staff = staff.is_superuser = True
    staff.save(update_fields=["is_staff", "is_superuser"])
    return {"world": world, "repo": repo, "sha": sha, "staff": staff}


def sample_paths(repo: Any, sha: str) -> list[tuple[str, str]]:
    """(route, path) for every non-admin route of the resolver."""
    extra = {"org": ORG, "sha": sha, "fresh_name": lambda: f"new-{uuid.uuid4().hex[:8]}"}
    paths = []
    for route in iter_routes():
        if route.startswith(ADMIN_PREFIX):
            continue
        rule = rule_for(route)
        assert rule is not None, f"{route} has no sample in tests/repos/gate/route_rules.py"
        paths.append((route, rule.build(repo.url_path, repo.repo_id, repo.api_plural, extra)["path"]))
    return paths


def admin_paths() -> list[str]:
    paths = [reverse("admin:index"), reverse("admin:password_change"), reverse("admin:jsi18n")]
    for model in admin.site._registry:
        meta = model._meta
        paths.append(reverse("admin:app_list", kwargs={"app_label": meta.app_label}))
        paths.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"))
        paths.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_add"))
        first = model._default_manager.order_by("pk").first()
        if first is not None:
            paths.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[first.pk]))
    return paths


def test_every_route_answers_with_the_security_headers(crawl_world: dict[str, Any]) -> None:
    world, repo = crawl_world["world"], crawl_world["repo"]
    anonymous = Client()
    session = Client()
    session.force_login(crawl_world["staff"])
    bearer = world.headers("admin")
    problems: list[str] = []
    statuses: set[int] = set()
    for route, path in sample_paths(repo, crawl_world["sha"]):
        for who, client, headers in (("anonymous", anonymous, {}), ("session", session, {}),
                                     ("token", anonymous, bearer)):
            response = client.get(path, **headers)
            statuses.add(response.status_code)
            problems += header_problems(f"{who} GET {path} ({route})", response)
    for path in admin_paths():
        response = session.get(path)
        assert response.status_code == 200, path
        problems += header_problems(f"admin GET {path}", response)
    assert not problems, "\n".join(problems)
    # The crawl met pages, refusals and errors, not only one kind of answer.
    assert {200, 302, 401, 404, 405} <= statuses, statuses


def test_static_files_errors_and_refusals_carry_the_headers(crawl_world: dict[str, Any]) -> None:
    repo = crawl_world["repo"]
    anonymous = Client()
    csrf_checked = Client(enforce_csrf_checks=True)
    csrf_checked.force_login(crawl_world["staff"])
    cases = {
        "static css": anonymous.get("/static/css/hub.css"),
        "static js": anonymous.get("/static/js/hub.js"),
        "static svg": anonymous.get("/static/img/logo.svg"),
        "admin static": anonymous.get("/static/admin/css/base.css"),
        "missing static": anonymous.get("/static/no-such-file.css"),
        "html 404": anonymous.get("/no/such/page/here"),
        "api 404": anonymous.get("/api/no-such-route"),
        "api 405": anonymous.delete("/api/models"),
        "bad token": anonymous.get("/api/whoami-v2", HTTP_AUTHORIZATION="Bearer hf_not_a_token"),
        "csrf refusal": csrf_checked.post(f"/{repo.url_path}/settings/visibility", {"private": "on"}),
        "head resolve": anonymous.head(f"/{repo.url_path}/resolve/main/config.json"),
        "range 416": anonymous.get(f"/{repo.url_path}/resolve/main/config.json", HTTP_RANGE="bytes=9999-"),
        "git info/refs": anonymous.get(f"/{repo.url_path}.git/info/refs", {"service": "git-upload-pack"}),
        "lfs batch": anonymous.post(f"/{repo.url_path}.git/info/lfs/objects/batch", "{}",
                                    content_type="application/vnd.git-lfs+json"),
        "disallowed host": anonymous.get("/", HTTP_HOST="evil.example"),
    }
    problems: list[str] = []
    for label, response in cases.items():
        problems += header_problems(label, response)
    assert cases["static css"].status_code == 200 and cases["csrf refusal"].status_code == 403
    assert cases["disallowed host"].status_code == 400
    assert not problems, "\n".join(problems)


def test_user_files_keep_their_sandbox(crawl_world: dict[str, Any]) -> None:
    response = Client().get(f"/{crawl_world['repo'].url_path}/resolve/main/README.md")
    assert response.status_code == 200
    assert response["Content-Security-Policy"] == USER_FILE_CSP
    body_of(response)
