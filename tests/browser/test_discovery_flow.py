"""A newcomer's day one in a real browser (headless Chromium) against a live hub: sign up,
create a model, upload its card and weights with a progress bar per file, propose an edit of
the card as a pull request (a writer's choice), then find the model again by filtering the
listing by task and by license, with the counts the filters show."""
from __future__ import annotations

import base64
import json
import os
import re
import urllib.parse
import uuid
from pathlib import Path

import pytest

from tests.browser.chromium import CHROMIUM
from tests.browser.test_pages_flow import (  # noqa: F401 (new_page: a fixture)
    PASSWORD,
    WATCH_UPLOAD,
    _http,
    _main_file,
    new_page,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.live,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is missing (apt-get install chromium)"),
]

TASK = "zero-shot-image-classification"


def _card(license_: str) -> bytes:
    return f"---\nlicense: {license_}\npipeline_tag: {TASK}\nlibrary_name: transformers\n---\n# Card\n".encode()


def _card_ids(page) -> list[str]:
    return page.locator("a.repo-card").evaluate_all("(els) => els.map((e) => e.getAttribute('href').slice(1))")


def _facet_count(page, facet: str, value: str) -> int:
    text = page.inner_text(f"[data-facet='{facet}'] a[data-facet-value='{value}'] [data-count]")
    return int(text)


def test_newcomer_uploads_proposes_an_edit_and_filters_the_listing(live_hub, new_page, tmp_path: Path):  # noqa: F811
    base = live_hub.url
    user = f"day1{uuid.uuid4().hex[:6]}"
    # Licenses of this test only, so the counts below are exact on a shared hub.
    ours, theirs = f"license-{user}", f"other-{user}"
    page = new_page()

    page.goto(f"{base}/join")
    page.fill("#id_username", user)
    page.fill("#id_email", f"{user}@example.com")
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{base}/")
    page.goto(f"{base}/new")
    page.fill("#id_name", "finder")
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{base}/{user}/finder")

    # Upload the card and weights, each file with its own progress bar.
    (tmp_path / "README.md").write_bytes(_card(ours))
    (tmp_path / "model.safetensors").write_bytes(os.urandom(1_500_000))
    page.goto(f"{base}/{user}/finder/upload/main")
    page.set_input_files("input[type=file]", [str(tmp_path / "README.md"), str(tmp_path / "model.safetensors")])
    assert page.locator("li[data-file] progress[data-file-progress]").count() == 2
    page.evaluate(WATCH_UPLOAD)
    page.click("button[data-commit-submit]")
    page.wait_for_url(f"{base}/{user}/finder/tree/main")
    log = json.loads(page.evaluate("() => sessionStorage.getItem('upload-log')"))
    for name in ("README.md", "model.safetensors"):
        assert log[name]["progress"][-1] == 100 and log[name]["statuses"][-1] == "committed", log[name]

    # The owner could commit, but chooses to open the edit as a pull request.
    page.goto(f"{base}/{user}/finder/blob/main/README.md")
    page.click("a:has-text('Edit')")
    page.wait_for_url(f"{base}/{user}/finder/edit/main/README.md")
    assert page.inner_text("button[data-commit-submit]") == "Commit changes to main"
    page.check("[data-commit-choice] input[type=checkbox]")
    assert page.inner_text("button[data-commit-submit]") == "Open a pull request"
    page.fill("#id_content", _card(ours).decode() + "\nMore details.\n")
    page.fill("#id_summary", "Describe the model")
    page.click("button[data-commit-submit]")
    page.wait_for_url(f"{base}/{user}/finder/discussions/1")
    assert "Opened pull request #1" in page.inner_text("main [role=status]")
    token = live_hub.create_user(f"{user}-reader")
    assert _main_file(base, token, f"{user}/finder", "README.md") == _card(ours)

    # A second model with the same task and another license (made through the API).
    owner_token = live_hub.create_user(f"{user}-other")
    status, body = _http(f"{base}/api/repos/create", owner_token, json.dumps({"name": "rival"}).encode())
    assert status == 200, body
    line = {"key": "file", "value": {"path": "README.md", "encoding": "base64",
                                     "content": base64.b64encode(_card(theirs)).decode()}}
    ndjson = "\n".join(json.dumps(x) for x in ({"key": "header", "value": {"summary": "card"}}, line)).encode()
    assert _http(f"{base}/api/models/{user}-other/rival/commit/main", owner_token, ndjson,
                 "application/x-ndjson")[0] == 200

    # Filter the listing by task: both models, and both licenses counted once each.
    page.click("header a:has-text('Models')")
    page.wait_for_url(f"{base}/models")
    page.click(f"[data-facet='task'] a[data-facet-value='{TASK}']")
    page.wait_for_url(re.compile(r"/models\?task="))
    ids = _card_ids(page)
    assert f"{user}/finder" in ids and f"{user}-other/rival" in ids
    assert _facet_count(page, "license", ours) == 1 and _facet_count(page, "license", theirs) == 1
    assert _facet_count(page, "task", TASK) == len(ids) or page.locator("a[rel=next]").count() == 1
    # ...then by license: only ours, and the task's count follows.
    page.click(f"[data-facet='license'] a[data-facet-value='{ours}']")
    page.wait_for_url(re.compile(r"license="))
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(page.url).query)
    assert query == {"task": [TASK], "license": [ours]}
    assert _card_ids(page) == [f"{user}/finder"]
    assert _facet_count(page, "task", TASK) == 1
    assert page.get_attribute(f"[data-facet='license'] a[data-facet-value='{ours}']", "aria-current") == "true"
    # Removing the task filter keeps the license one.
    page.click(f"a[aria-label='Remove filter task {TASK}']")
    page.wait_for_url(re.compile(r"/models\?license="))
    assert _card_ids(page) == [f"{user}/finder"]
    assert page.errors == []
