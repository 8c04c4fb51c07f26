"""Read pages of a repository: card, tree, file view, with real git content."""
from __future__ import annotations

import re

import pytest

from repos.git.commit import Signature, update_ref
from repos.handles import git_repo
from tests.factories import commit
from tests.repos.views.helpers import copy_snippets, safetensors_bytes

pytestmark = pytest.mark.django_db

README = b"""---
license: mit
tags: [tiny, demo]
pipeline_tag: text-classification
library_name: transformers
---
# Tiny classifier

Some **bold** words.
"""


@pytest.fixture
def demo(make_repo):
    repo = make_repo("demo")
    commit(repo, files={"README.md": README, "config.json": b'{"a": 1}\n', "src/train.py": b"def f():\n    return 1\n"},
           message="Add card and code")
    commit(repo, lfs={"model.safetensors": safetensors_bytes(
        {"encoder.weight": ("F32", [4, 8]), "encoder.bias": ("F16", [8])}, {"format": "pt"})},
        message="Add weights")
    repo.refresh_from_db()
    return repo


def _ids_on(html: str) -> list[str]:
    return re.findall(r'class="repo-card" href="/([^"]+)"', html)


def test_repo_page_renders_card_chips_and_sidebar(client, demo):
    r = client.get("/alice/demo")
    assert r.status_code == 200
    html = r.content.decode()
    assert "<h1>Tiny classifier</h1>" in html
    assert "<strong>bold</strong>" in html
    assert "license:" not in html.split('class="markdown"')[1]  # front matter is not shown as text
    # metadata chips link to the list filtered by that search facet (other tags: by the tag)
    assert 'href="/models?license=mit"' in html
    assert 'href="/models?task=text-classification"' in html and 'href="/models?library=transformers"' in html
    assert _ids_on(client.get("/models?license=mit").content.decode()) == ["alice/demo"]
    assert re.search(r"Task:</span>\s*text-classification<", html)
    assert re.search(r"Library:</span>\s*transformers<", html)
    snippets = copy_snippets(html)
    assert "git clone http://testserver" not in html  # always the configured public URL
    assert "git clone http://127.0.0.1" in snippets["git"]
    assert 'repo_id="alice/demo"' in snippets["hf-hub"] and "hf_hub_download" in snippets["hf-hub"]
    assert "Add weights" in html  # last commit
    assert 'aria-current="page">Model card<' in html


def test_repo_page_without_readme_offers_to_create_one_to_writers(make_repo, client, alice_client):
    make_repo("bare")
    assert "Create the model card" not in client.get("/alice/bare").content.decode()
    html = alice_client.get("/alice/bare").content.decode()
    assert "Create the model card" in html
    assert "/alice/bare/new-file/main?filename=README.md" in html


def test_dataset_pages_use_the_datasets_prefix(make_repo, client):
    repo = make_repo("corpus", repo_type="dataset")
    commit(repo, files={"data.csv": b"a,b\n1,2\n"})
    html = client.get("/datasets/alice/corpus").content.decode()
    snippets = copy_snippets(html)
    assert "Dataset card" in html and 'repo_type="dataset"' in snippets["hf-hub"]
    assert 'load_dataset("alice/corpus")' in snippets["datasets"]
    assert client.get("/datasets/alice/corpus/tree/main").status_code == 200
    assert client.get("/datasets/alice/corpus/blob/main/data.csv").status_code == 200
    assert client.get("/alice/corpus").status_code == 404  # not a model


def test_use_this_model_snippets_come_from_the_repository_files(make_repo, client, settings):
    repo = make_repo("bert")
    commit(repo, files={"README.md": README, "tokenizer.json": b"{}\n",
                        "config.json": b'{"architectures": ["BertForSequenceClassification"]}\n'})
    repo.refresh_from_db()
    html = client.get("/alice/bert").content.decode()
    snippets = copy_snippets(html)
    assert list(snippets) == ["transformers-pipeline", "transformers-auto", "hf-hub", "git"]
    assert 'pipeline("text-classification", model="alice/bert")' in snippets["transformers-pipeline"]
    assert "AutoTokenizer, AutoModelForSequenceClassification" in snippets["transformers-auto"]
    assert f'os.environ["HF_ENDPOINT"] = "{settings.PUBLIC_URL}"' in snippets["hf-hub"]
    # shown highlighted, copied as plain text
    block = html.split('data-snippet="transformers-pipeline"', 1)[1].split("</pre>", 1)[0]
    assert '<pre class="highlight"><code><span class="kn">import</span>' in block

    # A repository without config.json: no snippet names it (the Hub once did).
    plain = make_repo("weights-only")
    commit(plain, files={"README.md": README}, lfs={"model.safetensors": b"\0" * 64})
    plain.refresh_from_db()
    html = client.get("/alice/weights-only").content.decode()
    snippets = copy_snippets(html)
    assert "config.json" not in html
    assert list(snippets) == ["hf-hub", "git"]
    assert 'filename="model.safetensors"' in snippets["hf-hub"]


def test_tree_lists_folders_first_with_sizes_lfs_badges_and_last_commits(client, demo):
    r = client.get("/alice/demo/tree/main")
    assert r.status_code == 200
    html = r.content.decode()
    names = re.findall(r'<td class="name">\s*<a href="[^"]+">.*?<span>([^<]+)</span>', html, re.S)
    assert names[0] == "src"  # folders first
    assert set(names) == {"src", ".gitattributes", "README.md", "config.json", "model.safetensors"}
    row = html[html.index("<span>model.safetensors</span>"):]
    row = row[: row.index("</tr>")]
    assert 'badge-lfs' in row and "Add weights" in row
    assert "bytes" in row or "KB" in row  # the object's size, not the pointer's
    assert 'href="/alice/demo/blob/main/config.json"' in html
    assert 'href="/alice/demo/tree/main/src"' in html


def test_tree_of_a_subfolder_has_breadcrumb_and_parent_link(client, demo):
    html = client.get("/alice/demo/tree/main/src").content.decode()
    assert 'aria-label="Path"' in html and '<span aria-current="page">src</span>' in html
    assert 'aria-label="Parent folder"' in html
    assert "train.py" in html


def test_tree_ref_switcher_lists_branches_and_tags(client, demo):
    git = git_repo(demo)
    head = git.resolve("main")
    update_ref(git, "refs/heads/feature/x", head, expected_old=None, who=Signature("a", "a@x"))
    update_ref(git, "refs/tags/v1.0", head, expected_old=None, who=Signature("a", "a@x"))
    html = client.get("/alice/demo/tree/main/src").content.decode()
    assert 'href="/alice/demo/tree/feature%2Fx/src"' in html
    assert 'href="/alice/demo/tree/v1.0/src"' in html
    # a revision containing "/" arrives decoded and is split against the existing refs
    r = client.get("/alice/demo/tree/feature%2Fx/src")
    assert r.status_code == 200 and "train.py" in r.content.decode()
    assert client.get("/alice/demo/tree/v1.0").status_code == 200
    assert client.get(f"/alice/demo/tree/{head}").status_code == 200


def test_tree_errors_are_404_pages(client, demo):
    assert client.get("/alice/demo/tree/nope").status_code == 404
    assert client.get("/alice/demo/tree/main/missing").status_code == 404
    r = client.get("/alice/demo/tree/main/config.json")
    assert r.status_code == 302 and r["Location"] == "/alice/demo/blob/main/config.json"
    r = client.get("/alice/demo/blob/main/src")
    assert r.status_code == 302 and r["Location"] == "/alice/demo/tree/main/src"
    assert "text/html" in client.get("/alice/demo/blob/main/missing.txt")["Content-Type"]


def test_blob_highlights_code_with_css_classes(client, demo):
    html = client.get("/alice/demo/blob/main/src/train.py").content.decode()
    assert 'class="highlight"' in html
    assert '<span class="k">def</span>' in html
    assert 'id="L-1"' in html or 'href="#L-1"' in html
    assert "style=" not in html.split('class="highlight"')[1].split("</table>")[0]
    assert 'href="/alice/demo/resolve/main/src/train.py"' in html


def test_blob_renders_markdown_and_can_show_its_code(client, demo):
    html = client.get("/alice/demo/blob/main/README.md").content.decode()
    assert "<h1>Tiny classifier</h1>" in html
    assert 'href="/alice/demo/blob/main/README.md?code=true"' in html
    code = client.get("/alice/demo/blob/main/README.md?code=true").content.decode()
    assert "<h1>Tiny classifier</h1>" not in code and 'class="highlight"' in code


def test_blob_safetensors_shows_the_tensor_table(client, demo):
    html = client.get("/alice/demo/blob/main/model.safetensors").content.decode()
    assert 'data-tensor="encoder.weight"' in html and 'data-tensor="encoder.bias"' in html
    assert "[4, 8]" in html and "F16" in html
    assert "<b>40</b>parameters" in html  # 32 + 8
    assert "format" in html and "pt" in html


def test_safetensors_viewer_groups_tensors_by_module_with_consistent_numbers(make_repo, client):
    repo = make_repo("grouped")
    spec = {"model.embed.weight": ("F32", [10, 4])}
    for i in range(12):
        spec[f"model.layers.{i}.attn.weight"] = ("F16", [4, 4])
        spec[f"model.layers.{i}.norm.weight"] = ("F32", [4])
    commit(repo, lfs={"model.safetensors": safetensors_bytes(spec)})
    html = client.get("/alice/grouped/blob/main/model.safetensors").content.decode()
    totals = html.split("data-tensor-totals", 1)[1].split("data-tensor-tree", 1)[0]
    # 40 + 12 * (16 + 4) = 280 parameters: 192 in F16, 88 in F32
    assert "<b>280</b>parameters" in totals and "<b>25</b>tensors" in totals
    assert "<b>192</b>F16" in totals and "<b>88</b>F32" in totals
    assert "<b>736\xa0bytes</b>tensor data" in totals  # 160 + 12 * (32 + 16)
    # groups nest by prefix, each with the sum of what it holds, layers in natural order
    tree = html.split("data-tensor-tree", 1)[1]
    assert re.search(r'data-group="model.layers">\s*<summary[^>]*>.*?24 tensors.*?title="240 parameters"', tree, re.S)
    order = [int(m) for m in re.findall(r'data-group="model\.layers\.(\d+)"', tree)]
    assert order == list(range(12))
    assert tree.count("<details") == tree.count("</details>")
    assert 'data-tensor="model.layers.10.attn.weight"' in tree


def test_blob_of_missing_lfs_object_says_so(make_repo, client):
    repo = make_repo("ghost")
    pointer = b"version https://git-lfs.github.com/spec/v1\noid sha256:" + b"a" * 64 + b"\nsize 5\n"
    commit(repo, files={"w.bin": pointer})
    r = client.get("/alice/ghost/blob/main/w.bin")
    assert r.status_code == 200
    assert "not available on this server" in r.content.decode()


def test_blob_large_and_binary_files_are_not_displayed(make_repo, client):
    repo = make_repo("big")
    commit(repo, files={"big.txt": b"x" * (1024 * 1024 + 1), "bin.dat": b"\0\1\2" * 10, "empty.txt": b""})
    big = client.get("/alice/big/blob/main/big.txt").content.decode()
    assert "too large to display" in big.lower() and "xxxxxxxx" not in big
    binary = client.get("/alice/big/blob/main/bin.dat").content.decode()
    assert "Binary file" in binary and 'href="/alice/big/resolve/main/bin.dat?download=true"' in binary
    assert "Empty file" in client.get("/alice/big/blob/main/empty.txt").content.decode()


def test_edit_button_only_for_writers_on_branches(client, alice_client, demo):
    edit = 'href="/alice/demo/edit/main/config.json"'
    assert edit not in client.get("/alice/demo/blob/main/config.json").content.decode()
    assert edit in alice_client.get("/alice/demo/blob/main/config.json").content.decode()
    head = demo.head_sha
    html = alice_client.get(f"/alice/demo/blob/{head}/config.json").content.decode()
    assert "/edit/" not in html  # a commit is not a branch


def test_moved_repository_redirects(demo, client):
    from repos.models import RepoRedirect

    RepoRedirect.objects.create(repo_type="model", namespace="alice", name="old-name", repository=demo)
    r = client.get("/alice/old-name/tree/main/src?x=1")
    assert r.status_code == 302 and r["Location"] == "/alice/demo/tree/main/src?x=1"


def test_relative_links_in_markdown_point_into_the_repository(make_repo, client):
    repo = make_repo("links")
    commit(repo, files={
        "README.md": b"![plot](img/plot.png) [docs](docs/usage.md#setup) [abs](https://example.com/x) [top](#top)\n",
        "docs/usage.md": b"[back](../README.md) ![i](./fig.png) [escape](../../../etc/passwd)\n",
    })
    home = client.get("/alice/links").content.decode()
    assert 'src="/alice/links/resolve/main/img/plot.png"' in home
    assert 'href="/alice/links/blob/main/docs/usage.md#setup"' in home
    assert 'href="https://example.com/x"' in home and 'href="#top"' in home
    doc = client.get("/alice/links/blob/main/docs/usage.md").content.decode()
    assert 'href="/alice/links/blob/main/README.md"' in doc
    assert 'src="/alice/links/resolve/main/docs/fig.png"' in doc
    assert "/etc/passwd" not in doc.replace('href="../../../etc/passwd"', "")


def test_repo_page_shows_the_indexed_parameter_count(demo, client):
    demo.safetensors = {"parameters": {"F32": 1234}, "total": 1234}
    demo.save(update_fields=["safetensors"])
    assert re.search(r'<dt>Parameters</dt><dd title="1234">1.23K</dd>', client.get("/alice/demo").content.decode())


def test_long_metadata_is_collapsed_per_kind(make_repo, client):
    repo = make_repo("many")
    datasets = "".join(f"- corpus-{i:02d}\n" for i in range(21))
    commit(repo, files={"README.md": f"---\nlicense: mit\ndatasets:\n{datasets}---\n# Many\n".encode()})
    repo.refresh_from_db()
    html = client.get("/alice/many").content.decode()
    head = html.split('aria-label="Metadata"', 1)[1].split("</ul>\n", 1)[0]
    shown, _, hidden = head.partition("<details>")
    # three datasets in view, the other eighteen behind "+18" (still links, no JavaScript needed)
    assert [f"corpus-{i:02d}" in shown for i in range(4)] == [True, True, True, False]
    assert ">+18</summary>" in hidden and 'aria-label="18 more (dataset)"' in hidden
    assert all(f'href="/models?filter=dataset%3Acorpus-{i:02d}"' in hidden for i in range(3, 21))
    assert "License:</span> mit" in shown  # other kinds keep their own chips
