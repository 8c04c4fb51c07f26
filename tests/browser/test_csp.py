"""The pages work under their strict Content-Security-Policy in a real browser (headless
Chromium against a live hub): the main pages, anonymous and signed in, raise no CSP
violation, and the policy is really enforced (an injected inline handler is blocked and
reported, so "no violation" is not a listener that never fires)."""
from __future__ import annotations

import base64
import json
import os
import urllib.request
import uuid

import pytest

from tests.browser.chromium import ARGS, CHROMIUM

pytestmark = [
    pytest.mark.browser,
    pytest.mark.live,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is missing (apt-get install chromium)"),
]

# Collected in every document before any of its scripts run.
RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""


def _api(url: str, token: str, path: str, body: bytes, content_type: str) -> None:
    request = urllib.request.Request(f"{url}{path}", data=body, method="POST",
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": content_type})
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _seed(url: str, token: str, user: str) -> str:
    """A model with a card (code block, table, image link) and a Python file; returns its id."""
    repo_id = f"{user}/csp-{uuid.uuid4().hex[:6]}"
    _api(url, token, "/api/repos/create", json.dumps({"name": repo_id.split("/")[1]}).encode(), "application/json")
    card = ("---\nlicense: mit\n---\n# Card\n\n```python\nprint('hi')\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n"
            "![badge](https://img.shields.io/badge/x-y-blue)\n")
    lines = [{"key": "header", "value": {"summary": "seed", "description": ""}},
             {"key": "file", "value": {"path": "README.md", "content": _b64(card), "encoding": "base64"}},
             {"key": "file", "value": {"path": "train.py", "content": _b64("def f():\n    return 1\n"),
                                       "encoding": "base64"}}]
    _api(url, token, f"/api/models/{repo_id}/commit/main", "\n".join(json.dumps(x) for x in lines).encode(),
         "application/x-ndjson")
    return repo_id


def test_main_pages_raise_no_csp_violation(live_hub):
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    user = f"csp{uuid.uuid4().hex[:6]}"
    token = live_hub.create_user(user)
    repo_id = _seed(live_hub.url, token, user)
    base = live_hub.url
    anonymous_pages = ["/", "/models", "/datasets", "/login", "/join", "/password-reset", f"/{repo_id}",
                       f"/{repo_id}/tree/main", f"/{repo_id}/blob/main/train.py", f"/{repo_id}/blob/main/README.md",
                       f"/{repo_id}/commits/main", f"/{repo_id}/discussions", f"/{user}", "/no/such/page"]
    signed_in_pages = ["/new", "/settings/profile", "/settings/tokens", "/notifications", f"/{repo_id}/settings",
                       f"/{repo_id}/upload/main", f"/{repo_id}/edit/main/train.py", f"/{repo_id}/new-file/main",
                       f"/{repo_id}/discussions/new", "/organizations/new"]
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS, timeout=30_000)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            context.set_default_timeout(15_000)
            context.add_init_script(RECORD_VIOLATIONS)
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            # What the browser says about our policies (a 404 page's own console error is not one).
            page.on("console", lambda msg: msg.type in ("error", "warning")
                    and ("Content Security Policy" in msg.text or "Permissions-Policy" in msg.text)
                    and errors.append(msg.text))
            violations: dict[str, list[str]] = {}

            def visit(path: str) -> None:
                page.goto(f"{base}{path}")
                page.wait_for_load_state("load")
                found = page.evaluate("window.__csp")
                if found:
                    violations[path] = found

            for path in anonymous_pages:
                visit(path)
            page.goto(f"{base}/login")
            page.fill("#id_username", user)
            page.fill("#id_password", f"{user}-Pa55word!")
            page.click("main form button[type=submit]")
            page.wait_for_url(f"{base}/")
            for path in signed_in_pages + anonymous_pages[:8]:
                visit(path)
            assert not violations, violations
            assert not errors, errors

            # The policy is enforced and the listener works: an injected inline handler is blocked.
            page.goto(f"{base}/{repo_id}")
            page.evaluate("document.body.insertAdjacentHTML('beforeend', "
                          "'<img src=\"/static/img/logo.svg\" onload=\"window.__ran = 1\">')")
            page.wait_for_function("window.__csp.length > 0")
            assert page.evaluate("window.__ran") is None
            assert any(v.startswith("script-src") for v in page.evaluate("window.__csp"))
        finally:
            browser.close()
