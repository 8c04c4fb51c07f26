"""In a real browser (headless Chromium) against a live hub: the "Use this model" panel's copy
buttons put the snippet on the clipboard, sit beside the code rather than over it, and the
copied huggingface_hub and git snippets run as they are against the hub; a dataset's CSV and
Parquet files show the viewer's table with column types and the row count."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.browser.chromium import CHROMIUM
from tests.browser.test_pages_flow import new_page  # noqa: F401 (a fixture)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.live,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is missing (apt-get install chromium)"),
]

CONFIG = {"architectures": ["BertForSequenceClassification"], "model_type": "bert"}
CARD = "---\nlicense: mit\npipeline_tag: text-classification\nlibrary_name: transformers\n---\n# Tiny\n\n" \
       "```python\nfrom transformers import pipeline\n```\n"

SEED = """
import io, sys
from huggingface_hub import HfApi
api = HfApi()
model, dataset, config, card, parquet = sys.argv[1:6]
api.create_repo(model)
api.upload_file(path_or_fileobj=config.encode(), path_in_repo="config.json", repo_id=model)
api.upload_file(path_or_fileobj=b"{}", path_in_repo="tokenizer.json", repo_id=model)
api.upload_file(path_or_fileobj=card.encode(), path_in_repo="README.md", repo_id=model)
api.create_repo(dataset, repo_type="dataset")
rows = "city,population,capital\\n" + "".join(f"town {i},{1000 + i},{'true' if i % 9 == 0 else 'false'}\\n"
                                             for i in range(321))
api.upload_file(path_or_fileobj=rows.encode(), path_in_repo="data/train.csv", repo_id=dataset, repo_type="dataset")
api.upload_file(path_or_fileobj=parquet, path_in_repo="data/test.parquet", repo_id=dataset, repo_type="dataset")
"""


def _parquet(path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"id": list(range(2024)), "score": [i / 4 for i in range(2024)]}), str(path))


def _boxes_overlap(a: dict, b: dict) -> bool:
    return not (a["x"] + a["width"] <= b["x"] or b["x"] + b["width"] <= a["x"]
                or a["y"] + a["height"] <= b["y"] or b["y"] + b["height"] <= a["y"])


def test_copy_the_snippets_and_run_them_and_preview_a_dataset(live_hub, new_page, tmp_path: Path):  # noqa: F811
    base = live_hub.url
    user = f"use{uuid.uuid4().hex[:6]}"
    token = live_hub.create_user(user)
    model, dataset = f"{user}/tiny-bert", f"{user}/cities"
    _parquet(tmp_path / "test.parquet")
    seeded = subprocess.run([sys.executable, "-c", SEED, model, dataset, json.dumps(CONFIG), CARD,
                             str(tmp_path / "test.parquet")],
                            env=live_hub.client_env(tmp_path / "seed-home", token), capture_output=True, text=True,
                            timeout=300)
    assert seeded.returncode == 0, seeded.stderr[-3000:]

    page = new_page()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    page.goto(f"{base}/{model}")
    keys = page.locator("[data-snippet]").evaluate_all("(els) => els.map((e) => e.dataset.snippet)")
    assert keys == ["transformers-pipeline", "transformers-auto", "hf-hub", "git"]
    # Card code is highlighted on the server.
    assert page.locator(".markdown pre.highlight span.kn").first.inner_text() == "from"

    copied = {}
    for key in keys:
        snippet = page.locator(f"[data-snippet='{key}']")
        button, code = snippet.locator("button[data-copy]"), snippet.locator("pre")
        # The button sits beside the code, never over it; the code wraps instead of being clipped.
        assert not _boxes_overlap(button.bounding_box(), code.bounding_box()), key
        assert code.evaluate("(e) => e.scrollWidth <= e.clientWidth"), key
        button.click()
        page.wait_for_function("(b) => b.getAttribute('aria-label') === 'Copied'", arg=button.element_handle())
        copied[key] = page.evaluate("() => navigator.clipboard.readText()")
        # What is copied is what is shown.
        assert copied[key] == code.inner_text(), key
    assert f'pipeline("text-classification", model="{model}")' in copied["transformers-pipeline"]
    assert "AutoTokenizer, AutoModelForSequenceClassification" in copied["transformers-auto"]
    assert page.errors == []  # type: ignore[attr-defined]

    # The copied huggingface_hub snippet runs as is in a fresh interpreter (public repo: no token).
    home = tmp_path / "client-home"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING"))}
    env.update({"HOME": str(home), "HF_HOME": str(home / "hf"), "HF_HUB_DISABLE_TELEMETRY": "1"})
    script = copied["hf-hub"] + "\nprint(open(path).read())\nimport os; print(sorted(os.listdir(folder)))\n"
    ran = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert json.loads(ran.stdout.splitlines()[0]) == CONFIG
    assert "['.gitattributes', 'README.md', 'config.json', 'tokenizer.json']" in ran.stdout

    # And the git snippet: git-lfs set up, the repository cloned, no credentials in the URL.
    home.mkdir(exist_ok=True)
    work = tmp_path / "work"
    work.mkdir()
    ran = subprocess.run(["bash", "-e", "-c", copied["git"]], env=env, cwd=work, capture_output=True, text=True,
                         timeout=120)
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert json.loads((work / "tiny-bert" / "config.json").read_text()) == CONFIG
    assert "@" not in (work / "tiny-bert" / ".git" / "config").read_text()

    # The dataset viewer: CSV and Parquet as tables, with types and row counts.
    page.goto(f"{base}/datasets/{dataset}/blob/main/data/train.csv")
    viewer = page.locator("[data-dataset-viewer]")
    assert viewer.get_attribute("data-state") == "ready"
    assert viewer.locator("[data-row-count]").inner_text() == "321"
    headers = viewer.locator("thead th").evaluate_all(
        "(ths) => ths.map((th) => [th.querySelector('.col-name').innerText, th.querySelector('.col-type').innerText])")
    assert headers == [["city", "string"], ["population", "int64"], ["capital", "bool"]]
    assert viewer.locator("tbody tr").count() == 100
    assert viewer.locator("tbody tr").nth(2).inner_text().split("\t") == ["town 2", "1002", "false"]
    page.goto(f"{base}/datasets/{dataset}/blob/main/data/test.parquet")
    viewer = page.locator("[data-dataset-viewer]")
    assert viewer.locator("[data-row-count]").inner_text() == "2024"
    assert viewer.locator("thead th .col-type").all_inner_texts() == ["int64", "double"]
    # The dataset's own page opens the viewer on its training split.
    page.goto(f"{base}/datasets/{dataset}")
    assert page.locator("section[aria-label='Dataset viewer'] [data-row-count]").inner_text() == "321"

    # At 390 px the model page with its snippets and both viewers fit the screen.
    page.set_viewport_size({"width": 390, "height": 800})
    for url in (f"{base}/{model}", f"{base}/datasets/{dataset}", f"{base}/datasets/{dataset}/blob/main/data/train.csv"):
        page.goto(url)
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 390, url
    assert page.errors == []  # type: ignore[attr-defined]
