"""The pages that help, in a real browser (headless Chromium) against a live hub.

A newcomer signs up, creates a model and uploads files with a progress bar per file (a refused
name is reported on its own row, nothing committed; then the upload goes through, a binary
file into Git LFS); a second person without write access edits a file and can only open a
pull request. The owner renames and deletes files from their pages, creates and deletes a
branch (the default one refuses, with the policy's message), and renames the repository.
One browser for the module; each person has a browser context of their own."""
from __future__ import annotations

import base64
import json
import os
import re
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from tests.browser.chromium import CHROMIUM

PASSWORD = "Brand-new-Passw0rd!"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.live,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is missing (apt-get install chromium)"),
]

# Installed before the upload is submitted: records every value the progress bars and status
# cells of the rows take into sessionStorage, which survives the page going to the new tree.
WATCH_UPLOAD = """() => {
  const log = {};
  const save = () => sessionStorage.setItem("upload-log", JSON.stringify(log));
  const record = () => {
    document.querySelectorAll("[data-file-list] li[data-file]").forEach((row) => {
      const name = row.getAttribute("data-file");
      const entry = log[name] || (log[name] = {progress: [], statuses: []});
      const bar = row.querySelector("[data-file-progress]");
      const status = row.querySelector("[data-file-status]");
      if (bar && entry.progress[entry.progress.length - 1] !== bar.value) entry.progress.push(bar.value);
      const state = status && status.getAttribute("data-file-status");
      if (state && entry.statuses[entry.statuses.length - 1] !== state) entry.statuses.push(state);
      entry.text = status ? status.textContent : "";
    });
    const total = document.querySelector("[data-total-progress]");
    log.__total = total ? total.value : null;
    save();
  };
  new MutationObserver(record).observe(document.querySelector("form[data-upload-form]"),
                                       {subtree: true, attributes: true, childList: true, characterData: true});
  record();
}"""


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


def _log_in(page, base: str, user: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#id_username", user)
    page.fill("#id_password", password)
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{base}/")


def _http(url: str, token: str, data: bytes | None = None,
          content_type: str = "application/json") -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=data, headers={"Authorization": f"Bearer {token}"})
    if data is not None:
        request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _main_file(base: str, token: str, repo_id: str, path: str) -> bytes | None:
    status, body = _http(f"{base}/{repo_id}/resolve/main/{path}", token)
    return body if status == 200 else None


def test_newcomer_uploads_with_progress_and_a_stranger_proposes_an_edit(live_hub, new_page, tmp_path: Path):
    base = live_hub.url
    user = _name("newcomer")
    page = new_page()

    # Sign up and create a model.
    page.goto(f"{base}/join")
    page.fill("#id_username", user)
    page.fill("#id_email", f"{user}@example.com")
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{base}/")
    page.goto(f"{base}/new")
    page.fill("#id_name", "first-model")
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{base}/{user}/first-model")
    page.goto(f"{base}/{user}/first-model/upload/main")

    # A name no repository may hold: refused on its own row; nothing is committed.
    page.set_input_files("input[type=file]", [
        {"name": "notes.txt", "mimeType": "text/plain", "buffer": b"notes\n"},
        {"name": "GIT~1", "mimeType": "text/plain", "buffer": b"x"},
    ])
    page.click("button[data-commit-submit]")
    error_row = page.locator("li[data-file='GIT~1'] [data-file-status='error']")
    error_row.wait_for()
    assert "reserved" in error_row.inner_text()
    assert page.get_attribute("li[data-file='notes.txt'] [data-file-status]", "data-file-status") == "not-committed"
    assert "GIT~1" in page.inner_text("[data-upload-error]")
    assert page.is_enabled("button[data-commit-submit]")
    assert page.url == f"{base}/{user}/first-model/upload/main"

    # The real upload: a script and a 3 MB binary (to Git LFS), each with its progress bar.
    script = tmp_path / "train.py"
    script.write_text("def train(epochs):\n    return epochs * 2\n")
    weights = tmp_path / "weights.bin"
    weights.write_bytes(os.urandom(3_000_000))
    page.set_input_files("input[type=file]", [str(script), str(weights)])
    assert page.locator("li[data-file] progress[data-file-progress]").count() == 2
    assert page.locator("[data-file-list] [data-file-status='ready']").count() == 2
    page.fill("#id_summary", "First files")
    page.evaluate(WATCH_UPLOAD)
    page.click("button[data-commit-submit]")
    page.wait_for_url(f"{base}/{user}/first-model/tree/main")
    assert "Committed 2 file(s)" in page.inner_text("main [role=status]")
    log = json.loads(page.evaluate("() => sessionStorage.getItem('upload-log')"))
    for name in ("train.py", "weights.bin"):
        entry = log[name]
        assert entry["progress"][-1] == 100, entry
        assert entry["statuses"][-1] == "committed" and entry["statuses"][0] in ("ready", "waiting"), entry
    assert "Git LFS" in log["weights.bin"]["text"] and "Git LFS" not in log["train.py"]["text"]
    assert log["__total"] == 100
    assert page.locator(".file-table >> text=weights.bin").count() == 1
    assert "LFS" in page.inner_text(".file-table tr:has-text('weights.bin')")
    # The refused upload's 400 is the only failed request the browser reported; no script error.
    assert [e for e in page.errors if "status of 400" not in e] == [] and len(page.errors) == 1

    # A second person, without write access, edits train.py: only a pull request is offered.
    stranger = _name("stranger")
    token = live_hub.create_user(stranger)
    other = new_page()
    _log_in(other, base, stranger, f"{stranger}-Pa55word!")
    other.goto(f"{base}/{user}/first-model/blob/main/train.py")
    other.click("a:has-text('Edit')")
    other.wait_for_url(f"{base}/{user}/first-model/edit/main/train.py")
    assert "your change will be opened as a pull request" in other.inner_text("[data-pr-only]")
    assert other.inner_text("button[data-commit-submit]") == "Open a pull request"
    other.fill("#id_content", "def train(epochs):\n    return epochs * 3\n")
    other.fill("#id_summary", "Train longer")
    other.click("button[data-commit-submit]")
    other.wait_for_url(f"{base}/{user}/first-model/discussions/1")
    assert "Opened pull request #1" in other.inner_text("main [role=status]")
    assert "Train longer" in other.inner_text("main")
    assert _main_file(base, token, f"{user}/first-model", "train.py") == b"def train(epochs):\n    return epochs * 2\n"
    assert other.errors == []


@pytest.fixture(scope="module")
def owner(live_hub) -> tuple[str, str]:
    name = _name("owner")
    return name, live_hub.create_user(name)


def _seeded_repo(base: str, token: str, name: str) -> None:
    status, body = _http(f"{base}/api/repos/create", token, json.dumps({"name": name, "type": "model"}).encode())
    assert status == 200, body
    lines = [{"key": "header", "value": {"summary": "Seed"}}]
    for path, data in (("a.txt", b"alpha\n"), ("docs/b.md", b"# B\n"), ("docs/c.md", b"# C\n")):
        lines.append({"key": "file", "value": {"path": path, "encoding": "base64",
                                               "content": base64.b64encode(data).decode()}})
    repo_id = json.loads(body)["url"].rstrip("/").split("/", 3)[-1]
    body = "\n".join(json.dumps(line) for line in lines).encode()
    status, text = _http(f"{base}/api/models/{repo_id}/commit/main", token, body, "application/x-ndjson")
    assert status == 200, text


def test_manage_files_branches_and_the_repository(live_hub, new_page, owner):
    base = live_hub.url
    user, token = owner
    _seeded_repo(base, token, "tidy")
    repo = f"{base}/{user}/tidy"
    page = new_page()
    _log_in(page, base, user, f"{user}-Pa55word!")

    # Rename a file from its page.
    page.goto(f"{repo}/blob/main/a.txt")
    page.click("a.btn:has-text('Rename')")
    page.wait_for_url(f"{repo}/rename/main/a.txt")
    page.fill("#id_destination", "docs/a.txt")
    page.click("button[data-commit-submit]")
    page.wait_for_url(f"{repo}/blob/main/docs/a.txt")
    assert "Renamed a.txt to docs/a.txt" in page.inner_text("main [role=status]")

    # Delete a file: the confirmation page, then the commit.
    page.click("a.btn:has-text('Delete')")
    page.wait_for_url(f"{repo}/delete/main/docs/a.txt")
    assert "Delete the file" in page.inner_text("main h1")
    page.click("button[data-commit-submit]")
    page.wait_for_url(f"{repo}/tree/main/docs")
    assert "Deleted docs/a.txt" in page.inner_text("main [role=status]")
    assert page.locator(".file-table >> text=a.txt").count() == 0
    assert _main_file(base, token, f"{user}/tidy", "docs/a.txt") is None

    # Branches: create one from the menu's page, delete it after confirming.
    page.click("summary[aria-label^='Switch branch or tag']")
    page.click("text=Manage branches and tags")
    page.wait_for_url(f"{repo}/refs")
    page.fill("#id_branch-name", "experiment")
    page.click("button:has-text('Create branch')")
    page.wait_for_url(f"{repo}/refs")
    assert "Created branch experiment" in page.inner_text("main [role=status]")
    page.click("a[aria-label='Delete branch experiment']")
    page.wait_for_url(re.compile(rf"{re.escape(repo)}/refs/delete\?kind=branch&name=experiment$"))
    page.click("button:has-text('Delete branch experiment')")
    page.wait_for_url(f"{repo}/refs")
    assert "Deleted branch experiment" in page.inner_text("main [role=status]")
    assert page.locator("tr[data-ref='experiment']").count() == 0
    # The default branch offers no delete button, and a forced request is refused with the reason.
    assert page.locator("tr[data-ref='main'] a[aria-label^='Delete']").count() == 0
    page.goto(f"{repo}/refs/delete?kind=branch&name=main")
    page.click("button:has-text('Delete branch main')")
    assert "The default branch (main) cannot be deleted." in page.inner_text("main [role=alert]")

    # Rename the repository from its settings; the old address leads to the new one.
    page.goto(f"{repo}/settings")
    page.fill("#id_name", "tidier")
    page.fill("#confirm-move", f"{user}/tidy")
    page.click("button:has-text('Rename or transfer')")
    page.wait_for_url(f"{base}/{user}/tidier/settings")
    assert f"{user}/tidy is now {user}/tidier" in page.inner_text("main [role=status]")
    page.goto(f"{repo}/tree/main/docs")
    assert page.url == f"{base}/{user}/tidier/tree/main/docs"
    # The refused deletion of main (403) is the only failed request; no script error.
    assert [e for e in page.errors if "status of 403" not in e] == [] and len(page.errors) == 1
