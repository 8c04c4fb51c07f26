"""The personal-data tab in a real browser (headless Chromium, a live hub and its real worker):
the owner of a private dataset with planted personal data sees the report per column, turns on
"require a clean report", is refused going public on the settings page with the reason, and
opens a redaction pull request with the button; the page then links the pull request. No CSP
violation on the way."""
from __future__ import annotations

import base64
import json
import os
import time
import urllib.request
import uuid

import pytest

from tests.browser.chromium import ARGS, CHROMIUM
from tests.safety.planted import DATA, planted_values

pytestmark = [
    pytest.mark.browser,
    pytest.mark.live,
    pytest.mark.worker,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is missing (apt-get install chromium)"),
]

RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => window.__csp.push(e.violatedDirective));
"""


def _post(url: str, token: str, path: str, body: bytes, content_type: str) -> None:
    request = urllib.request.Request(f"{url}{path}", data=body, method="POST",
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": content_type})
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200


def _seed(url: str, token: str, user: str) -> str:
    """A private dataset holding the planted CSV; returns its id."""
    repo_id = f"{user}/people-{uuid.uuid4().hex[:6]}"
    _post(url, token, "/api/repos/create", json.dumps({"name": repo_id.split("/")[1], "type": "dataset",
                                                       "private": True}).encode(), "application/json")
    lines = [{"key": "header", "value": {"summary": "people", "description": ""}},
             {"key": "file", "value": {"path": "people.csv", "encoding": "base64",
                                       "content": base64.b64encode(DATA.csv_bytes()).decode()}}]
    _post(url, token, f"/api/datasets/{repo_id}/commit/main", "\n".join(json.dumps(x) for x in lines).encode(),
          "application/x-ndjson")
    return repo_id


def test_owner_reviews_the_report_and_opens_a_redaction_pull_request(live_hub, live_worker):
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    user = f"pii{uuid.uuid4().hex[:6]}"
    token = live_hub.create_user(user)
    repo_id = _seed(live_hub.url, token, user)
    tab = f"{live_hub.url}/datasets/{repo_id}/personal-data"
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS, timeout=30_000)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            context.set_default_timeout(15_000)
            context.add_init_script(RECORD_VIOLATIONS)
            page = context.new_page()
            page.goto(f"{live_hub.url}/login")
            page.fill("#id_username", user)
            page.fill("#id_password", f"{user}-Pa55word!")
            page.click("main form button[type=submit]")
            page.wait_for_url(f"{live_hub.url}/")

            def reload_until(selector: str, timeout: float = 120.0) -> None:
                deadline = time.monotonic() + timeout
                while True:
                    page.goto(tab)
                    if page.locator(selector).count():
                        return
                    assert time.monotonic() < deadline, f"{selector} never appeared"
                    page.wait_for_timeout(500)

            reload_until('[data-pii-file="people.csv"] [data-pii-status]:has-text("findings")')
            email_row = page.locator('[data-pii-column="email"]')
            assert f"{len(DATA.rows)} / {len(DATA.rows)}" in email_row.inner_text()
            assert "EMAIL_ADDRESS" in email_row.inner_text()
            text = page.locator("main").inner_text()
            assert not [v for v in planted_values() if v in text]

            page.check("[data-require-clean-form] input[name=require_clean_report]")
            page.click("[data-require-clean-form] button[type=submit]")
            page.wait_for_selector("[data-require-clean]")

            page.goto(f"{live_hub.url}/datasets/{repo_id}/settings")
            page.check("input[name=visibility][value=public]")
            page.click("#visibility button[type=submit]")
            page.wait_for_load_state("load")
            assert "has findings in 1 file" in page.locator("body").inner_text()
            assert page.locator("[data-visibility]").inner_text() == "private"

            page.goto(tab)
            page.click("[data-redact-form] button[type=submit]")
            page.wait_for_selector("[data-redactions]")
            reload_until("[data-redactions] a[href*='/discussions/']")
            page.click("[data-redactions] a[href*='/discussions/']")
            page.wait_for_load_state("load")
            assert "De-identify personal data" in page.locator("main").inner_text()
            assert not page.evaluate("window.__csp")
        finally:
            browser.close()
