"""People and access control in a real browser (headless Chromium) against a live hub:
sign-up, log-in (and a failed one), creating an organization and inviting a member, making a
repository private, creating and revoking a token, approving an access request."""
from __future__ import annotations

import base64
import json
import os
import re
import urllib.error
import urllib.request
import uuid

import pytest

from tests.browser.chromium import CHROMIUM

pytestmark = [
    pytest.mark.browser,
    pytest.mark.live,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is missing (apt-get install chromium)"),
]


@pytest.fixture
def new_page(browser):
    """A page in a fresh browser context (its own cookies: one person each)."""
    contexts = []

    def make():
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.errors = []  # type: ignore[attr-defined]
        page.on("pageerror", lambda exc: page.errors.append(str(exc)))
        page.on("console", lambda msg: msg.type == "error" and page.errors.append(msg.text))
        return page

    yield make
    for context in contexts:
        context.close()


def _name(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:6]}"


@pytest.fixture(scope="module")
def people(live_hub) -> dict[str, tuple[str, str]]:
    """Two people for the whole module, {role: (name, write token)}: each operator command
    costs a Django start-up, so they are created once."""
    names = {"owner": _name("owner"), "member": _name("member")}
    return {role: (name, live_hub.create_user(name)) for role, name in names.items()}


def _log_in(page, base: str, user: str, password: str | None = None) -> None:
    page.goto(f"{base}/login")
    page.fill("#id_username", user)
    page.fill("#id_password", password or f"{user}-Pa55word!")
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{base}/")


def _http(url: str, token: str | None = None, data: bytes | None = None,
          content_type: str = "application/json") -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=data)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _create_repo(base: str, token: str, name: str) -> None:
    body = {"name": name, "type": "model"}
    status, text = _http(f"{base}/api/repos/create", token, json.dumps(body).encode())
    assert status == 200, text


def _commit_file(base: str, token: str, repo_id: str, path: str, data: bytes) -> None:
    lines = [{"key": "header", "value": {"summary": f"Add {path}"}},
             {"key": "file", "value": {"path": path, "encoding": "base64", "content": base64.b64encode(data).decode()}}]
    body = "\n".join(json.dumps(line) for line in lines).encode()
    status, text = _http(f"{base}/api/models/{repo_id}/commit/main", token, body, "application/x-ndjson")
    assert status == 200, text


def test_sign_up_log_in_and_a_failed_log_in(live_hub, new_page):
    base = live_hub.url
    user = _name("signup")
    page = new_page()
    page.goto(base)
    page.click("header >> text=Sign up")
    page.wait_for_url(f"{base}/join")
    page.fill("#id_username", user)
    page.fill("#id_email", f"{user}@example.com")
    page.fill("#id_password1", "Brand-new-Passw0rd!")
    page.fill("#id_password2", "Brand-new-Passw0rd!")
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{base}/")
    assert f"Welcome to ModelHub, {user}" in page.inner_text("main")
    page.click("summary[aria-label^='Account menu']")
    page.click("text=Log out")
    page.wait_for_url(f"{base}/")

    # A wrong password: the form again, with an error and nothing else.
    page.goto(f"{base}/login")
    page.fill("#id_username", user)
    page.fill("#id_password", "not-the-password")
    page.click("main form button[type=submit]")
    assert "correct username and password" in page.inner_text("main [role=alert]")
    assert page.locator("summary[aria-label^='Account menu']").count() == 0

    _log_in(page, base, user, "Brand-new-Passw0rd!")
    assert page.locator(f"summary[aria-label='Account menu for {user}']").count() == 1
    page.goto(f"{base}/{user}")
    assert user in page.inner_text("main .profile-head")
    assert page.errors == []


def test_org_invite_member_sees_private_repo(live_hub, new_page, people):
    base = live_hub.url
    (owner, _), (member, member_token), org = people["owner"], people["member"], _name("org")
    page = new_page()
    _log_in(page, base, owner)

    page.click("summary[aria-label^='Account menu']")
    page.click("text=New organization")
    page.wait_for_url(f"{base}/organizations/new")
    page.fill("#id_name", org)
    page.fill("#id_fullname", "Acme Research")
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{base}/{org}")
    assert "Acme Research" in page.inner_text("main h1")

    # A private repository of the organization, created through the new-repo form.
    page.goto(f"{base}/new")
    page.select_option("#id_owner", org)
    page.fill("#id_name", "internal")
    page.check("#id_private")
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{base}/{org}/internal")
    assert _http(f"{base}/api/models/{org}/internal", member_token)[0] == 404

    page.goto(f"{base}/{org}")
    page.click("text=Manage members")
    page.wait_for_url(f"{base}/{org}/settings/members")
    page.fill("#id_username", member)
    page.select_option("#id_role", "read")
    page.click("text=Add member")
    page.wait_for_url(f"{base}/{org}/settings/members")
    assert f"{member} joined {org} as read" in page.inner_text("main [role=status]")
    assert page.locator(f"tr[data-member='{member}'] select").input_value() == "read"
    page.screenshot(path="/tmp/access-org-members.png", full_page=True)

    # The member now sees the private repo, in the browser and with their token.
    other = new_page()
    _log_in(other, base, member)
    other.goto(f"{base}/{org}")
    assert "internal" in other.inner_text("main")
    other.screenshot(path="/tmp/access-org-page.png", full_page=True)
    response = other.goto(f"{base}/{org}/internal")
    assert response is not None and response.status == 200
    assert _http(f"{base}/api/models/{org}/internal", member_token)[0] == 200
    assert page.errors == [] and other.errors == []


def test_make_repo_private_then_visitors_get_404(live_hub, new_page, people):
    base = live_hub.url
    owner, token = people["owner"]
    _create_repo(base, token, "soon-private")
    visitor = new_page()
    assert visitor.goto(f"{base}/{owner}/soon-private").status == 200

    page = new_page()
    _log_in(page, base, owner)
    page.goto(f"{base}/{owner}/soon-private")
    page.click(".tabs >> text=Settings")
    page.wait_for_url(f"{base}/{owner}/soon-private/settings")
    page.check("input[name=visibility][value=private]")
    page.click("text=Update visibility")
    page.wait_for_url(f"{base}/{owner}/soon-private/settings")
    assert "now private" in page.inner_text("main [role=status]")
    assert "private" in page.inner_text(".repo-title")

    response = visitor.goto(f"{base}/{owner}/soon-private")
    assert response is not None and response.status == 404
    assert "Repository not found" in visitor.inner_text("main")
    visitor.goto(f"{base}/{owner}")
    assert "soon-private" not in visitor.inner_text("main")


def test_create_a_token_shown_once_use_it_and_revoke_it(live_hub, new_page, people):
    base = live_hub.url
    owner, _token = people["owner"]
    page = new_page()
    _log_in(page, base, owner)
    page.click("summary[aria-label^='Account menu']")
    page.click("text=Access tokens")
    page.wait_for_url(f"{base}/settings/tokens")
    # The scope chooser shows for fine-grained tokens only (CSS, no script).
    assert not page.is_visible(".scope-chooser")
    page.check("input[name=role][value=fineGrained]")
    assert page.is_visible(".scope-chooser")
    page.fill("#id_name", "browser-made")
    page.check("input[name=role][value=read]")
    page.select_option("#id_expires", "30")
    page.click("text=Create token")
    secret = page.inner_text("[data-token-secret]").strip()
    assert re.fullmatch(r"hf_[\w\-]{20,}", secret)
    assert "only once" in page.inner_text(".token-created")
    page.screenshot(path="/tmp/access-token-created.png", full_page=True)

    status, body = _http(f"{base}/api/whoami-v2", secret)
    assert status == 200 and json.loads(body)["name"] == owner

    page.goto(f"{base}/settings/tokens")
    assert secret not in page.content()
    row = page.locator("tr[data-token-row='browser-made']")
    assert row.count() == 1
    row.locator("button", has_text="Revoke").click()
    page.wait_for_url(f"{base}/settings/tokens")
    assert "revoked" in page.inner_text("main [role=status]")
    assert page.locator("tr[data-token-row='browser-made']").count() == 0
    assert _http(f"{base}/api/whoami-v2", secret)[0] == 401
    assert page.errors == []


def test_approve_an_access_request_on_a_gated_repo(live_hub, new_page, people):
    base = live_hub.url
    (owner, owner_token), (requester, requester_token) = people["owner"], people["member"]
    _create_repo(base, owner_token, "gated-model")
    _commit_file(base, owner_token, f"{owner}/gated-model", "weights.txt", b"the gated bytes\n")
    resolve = f"{base}/{owner}/gated-model/resolve/main/weights.txt"

    page = new_page()
    _log_in(page, base, owner)
    page.goto(f"{base}/{owner}/gated-model/settings")
    page.select_option("#gated", "manual")
    page.click("text=Update gating")
    page.wait_for_url(f"{base}/{owner}/gated-model/settings")
    assert "reviewed manually" in page.inner_text("main [role=status]")
    assert _http(resolve, requester_token)[0] == 403

    # The requester asks on the repository page (the form posts through static/js/hub.js).
    asker = new_page()
    _log_in(asker, base, requester)
    asker.goto(f"{base}/{owner}/gated-model")
    asker.click("text=Request access")
    asker.wait_for_selector("text=pending")
    assert _http(resolve, requester_token)[0] == 403

    # The owner approves it in the queue.
    page.goto(f"{base}/{owner}/gated-model/settings")
    row = page.locator(f"[data-requests=pending] tr[data-access-request='{requester}']")
    assert row.count() == 1
    page.screenshot(path="/tmp/access-request-queue.png", full_page=True)
    row.locator("button", has_text="Accept").click()
    page.wait_for_url(f"{base}/{owner}/gated-model/settings")
    assert page.locator(f"[data-requests=accepted] tr[data-access-request='{requester}']").count() == 1

    status, body = _http(resolve, requester_token)
    assert status == 200 and body == b"the gated bytes\n"
    download = asker.request.get(resolve)  # the browser session downloads too
    assert download.status == 200 and download.body() == b"the gated bytes\n"
    assert page.errors == [] and asker.errors == []
