"""Every main page at 390 px (a phone) in a real browser: no sideways scrolling.

The pages hold what makes them overflow in practice: a card with a wide table and a long code
line, a deep path with a long file name, long commit titles, a discussion, settings and token
tables. A page passes when `document.documentElement.scrollWidth <= innerWidth`; on failure the
elements that stick out are named. Wide content (tables, code) may scroll inside its own box."""
from __future__ import annotations

import base64
import json
import os
import urllib.error
import urllib.request
import uuid

import pytest

from tests.browser.chromium import CHROMIUM

WIDTH = 390

pytestmark = [
    pytest.mark.browser,
    pytest.mark.live,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is missing (apt-get install chromium)"),
]

# The elements whose right edge passes the viewport, outermost first, skipping those inside a
# box that scrolls or clips them (they do not widen the page).
OVERFLOW = """() => {
  const width = window.innerWidth;
  const out = [];
  const clipped = (el) => {
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      const s = getComputedStyle(p);
      if (s.overflowX !== "visible") return true;
    }
    return false;
  };
  document.querySelectorAll("body *").forEach((el) => {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.right <= width + 0.5 || clipped(el)) return;
    if (out.some((o) => o.el.contains(el))) return;
    out.push({el, text: el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
      + (el.className && typeof el.className === "string" ? "." + el.className.trim().split(/\\s+/).join(".") : "")
      + " right=" + Math.round(r.right)});
  });
  return {scroll: document.documentElement.scrollWidth, width, offenders: out.slice(0, 8).map((o) => o.text)};
}"""

README = """---
license: apache-2.0
language: [en, fr, de, es, it, pt, nl, sv, pl, ru, zh, ja, ko, ar, hi]
datasets: [wikipedia, bookcorpus, c4, the-pile, oscar, common-crawl-very-long-dataset-name-for-testing]
pipeline_tag: text-classification
library_name: transformers
tags: [a-rather-long-tag-name-that-could-push-the-header, another-tag, classification]
---
# A model with a wide card

| column one | column two | column three | column four | column five | column six | column seven |
|---|---|---|---|---|---|---|
| averyveryverylongcellvaluewithoutspaces | 0.123456789 | 0.987654321 | x | y | z | w |

```python
{code}
```

A_very_long_word_without_any_break_opportunity_that_should_wrap_instead_of_overflowing_the_page_width.
""".replace("{code}", "from transformers import AutoModelForSequenceClassification; model = "
            "AutoModelForSequenceClassification.from_pretrained('a/very/long/path/that/does/not/wrap')")


def _http(url: str, token: str, data: bytes | None = None, content_type: str = "application/json") -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=data, headers={"Authorization": f"Bearer {token}"})
    if data is not None:
        request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _commit(base: str, token: str, repo_id: str, files: dict[str, bytes], summary: str, plural: str = "models") -> None:
    lines = [{"key": "header", "value": {"summary": summary}}]
    for path, data in files.items():
        lines.append({"key": "file", "value": {"path": path, "encoding": "base64",
                                               "content": base64.b64encode(data).decode()}})
    body = "\n".join(json.dumps(line) for line in lines).encode()
    status, text = _http(f"{base}/api/{plural}/{repo_id}/commit/main", token, body, "application/x-ndjson")
    assert status == 200, text


@pytest.fixture(scope="module")
def site(live_hub):
    """A signed-in person's model (wide card, deep path, long titles, a discussion) and dataset."""
    base = live_hub.url
    user = f"narrow{uuid.uuid4().hex[:6]}"
    token = live_hub.create_user(user)
    for kind, name in (("model", "wide-card-model"), ("dataset", "wide-data")):
        status, body = _http(f"{base}/api/repos/create", token, json.dumps({"name": name, "type": kind}).encode())
        assert status == 200, body
    repo_id = f"{user}/wide-card-model"
    deep = "src/" + "/".join(f"a-fairly-long-directory-name-{i}" for i in range(4)) + "/" + "x" * 80 + ".py"
    _commit(base, token, repo_id, {"README.md": README.encode(), deep: b"print('" + b"y" * 300 + b"')\n"},
            "Add a card with a very long commit title that goes on and on to check how the history squeezes it")
    csv = "id,text,label\n" + "".join(f"{i},{'word ' * 40},{i % 2}\n" for i in range(5))
    _commit(base, token, f"{user}/wide-data", {"data.csv": csv.encode()}, "Data", plural="datasets")
    status, body = _http(f"{base}/api/models/{repo_id}/discussions", token,
                         json.dumps({"title": "A question with a long title " * 4,
                                     "description": "Body " + "z" * 200}).encode())
    assert status == 200, body
    number = json.loads(body)["num"]
    return {"base": base, "user": user, "repo_id": repo_id, "deep": deep, "discussion": number}


def _phone_page(browser):
    context = browser.new_context(viewport={"width": WIDTH, "height": 844}, device_scale_factor=1)
    context.set_default_timeout(15_000)
    return context.new_page()


@pytest.fixture(scope="module")
def phone(browser, site):
    """A signed-in phone-sized page."""
    page = _phone_page(browser)
    page.goto(f"{site['base']}/login")
    page.fill("#id_username", site["user"])
    page.fill("#id_password", f"{site['user']}-Pa55word!")
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{site['base']}/")
    yield page
    page.context.close()


def _pages(site: dict) -> list[str]:
    r = site["repo_id"]
    user = site["user"]
    return [
        "/", "/models", "/datasets", f"/search?search={user}", "/models?license=apache-2.0&task=text-classification",
        f"/{r}", f"/{r}/tree/main", f"/{r}/tree/main/src", f"/{r}/blob/main/{site['deep']}",
        f"/{r}/blob/main/README.md", f"/{r}/commits/main", f"/{r}/commit/main", f"/{r}/settings",
        f"/{r}/refs", f"/{r}/upload/main", f"/{r}/edit/main/README.md", f"/{r}/discussions",
        f"/{r}/discussions/{site['discussion']}", f"/{r}/discussions/new",
        f"/datasets/{user}/wide-data", f"/datasets/{user}/wide-data/blob/main/data.csv",
        "/settings/tokens", "/settings/profile", "/settings/password", f"/{user}", "/new", "/new-dataset",
        "/organizations/new", "/notifications", f"/{r}/delete/main/README.md", f"/{r}/rename/main/README.md",
    ]


def test_every_main_page_fits_a_390px_screen(phone, site):
    failures = {}
    for path in _pages(site):
        response = phone.goto(site["base"] + path)
        assert response is not None and response.status == 200, (path, response and response.status)
        result = phone.evaluate(OVERFLOW)
        assert result["width"] == WIDTH
        if result["scroll"] > result["width"]:
            failures[path] = result
    assert not failures, json.dumps(failures, indent=1)


def test_a_search_box_on_small_screens(phone, site):
    phone.goto(site["base"] + "/")
    search = phone.locator("header input[type=search]")
    assert search.is_visible()
    box = search.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= WIDTH
    search.fill(site["user"])
    search.press("Enter")
    phone.wait_for_url(f"{site['base']}/search?search={site['user']}")
    links = phone.locator("a.repo-card").evaluate_all("(els) => els.map((e) => e.getAttribute('href'))")
    assert sorted(links) == [f"/datasets/{site['user']}/wide-data", f"/{site['repo_id']}"]


def test_history_titles_take_the_whole_row(phone, site):
    phone.goto(f"{site['base']}/{site['repo_id']}/commits/main")
    title = phone.locator(".commit-list li .what").first.bounding_box()
    row = phone.locator(".commit-list li").first.bounding_box()
    assert title is not None and row is not None
    # The title is not squeezed beside the id and buttons: it spans the row's content box.
    assert title["width"] >= row["width"] - 40, (title, row)


ANONYMOUS_PAGES = ["/", "/login", "/join", "/password-reset", "/models", "/search?search=wide", "/no-such-page/at/all"]


def test_signed_out_pages_fit_too(browser, site):
    page = _phone_page(browser)
    failures = {}
    for path in [*ANONYMOUS_PAGES, f"/{site['repo_id']}", f"/{site['repo_id']}/tree/main"]:
        page.goto(site["base"] + path)
        result = page.evaluate(OVERFLOW)
        if result["scroll"] > result["width"]:
            failures[path] = result
        # Every page names its icon; browsers asking /favicon.ico get it too.
        assert page.locator("head link[rel=icon]").count() == 1, path
    assert not failures, json.dumps(failures, indent=1)
    # The sign-up form's email field looks like its other fields.
    page.goto(site["base"] + "/join")
    styles = page.evaluate("""() => (document.activeElement.blur(), ['#id_username', '#id_email']).map((s) => {
      const c = getComputedStyle(document.querySelector(s));
      return [c.borderTopWidth, c.borderTopColor, c.borderRadius, c.paddingLeft, c.width];
    })""")
    assert styles[0] == styles[1] and styles[0][0] == "1px", styles
    response = page.goto(site["base"] + "/favicon.ico")
    assert response is not None and response.ok and "svg" in response.headers["content-type"]
    page.context.close()


def test_search_filters_start_closed_so_results_come_first(phone, site):
    phone.goto(f"{site['base']}/models?license=apache-2.0")
    assert phone.get_attribute("details.facet-panel", "open") is None
    card = phone.locator("a.repo-card").first.bounding_box()
    assert card is not None and card["y"] + card["height"] <= 844
    phone.click("details.facet-panel > summary")
    assert phone.locator("[data-facet='license'] a[aria-current='true']").is_visible()
