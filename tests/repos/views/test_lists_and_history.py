"""Home, list pages (search, filter, sort, pagination) and history pages."""
from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from repos.selectors import history as commits_data
from repos.views import listing
from tests.factories import commit

pytestmark = pytest.mark.django_db


def _ids(html: str) -> list[str]:
    return re.findall(r'class="repo-card" href="/(?:datasets/)?([^"]+)"', html)


def test_home_shows_recent_public_models_and_datasets(make_repo, bob, client, bob_client):
    make_repo("public-model")
    make_repo("secret-model", private=True)
    make_repo("corpus", repo_type="dataset")
    ids = _ids(client.get("/").content.decode())
    assert "alice/public-model" in ids and "alice/corpus" in ids
    assert "alice/secret-model" not in ids
    assert "alice/secret-model" not in _ids(bob_client.get("/").content.decode())


def test_model_list_search_filter_sort(make_repo, client, alice_client):
    a = make_repo("alpha-bert")
    make_repo("beta-gpt")
    make_repo("hidden-bert", private=True)
    make_repo("bert-data", repo_type="dataset")
    commit(a, files={"README.md": b"---\nlicense: mit\n---\nx\n"})
    assert sorted(_ids(client.get("/models").content.decode())) == ["alice/alpha-bert", "alice/beta-gpt"]
    assert _ids(client.get("/models?search=bert").content.decode()) == ["alice/alpha-bert"]
    assert _ids(client.get("/models?search=alice/beta").content.decode()) == ["alice/beta-gpt"]
    assert sorted(_ids(alice_client.get("/models?search=bert").content.decode())) == ["alice/alpha-bert",
                                                                                    "alice/hidden-bert"]
    assert _ids(client.get("/models?filter=license:mit").content.decode()) == ["alice/alpha-bert"]
    assert _ids(client.get("/models?filter=license:apache").content.decode()) == []
    assert _ids(client.get("/models?sort=name").content.decode()) == ["alice/alpha-bert", "alice/beta-gpt"]
    assert _ids(client.get("/datasets?search=bert").content.decode()) == ["alice/bert-data"]
    assert client.get("/models?sort=bogus&p=abc").status_code == 200


def test_model_list_paginates_without_n_plus_one(make_repo, client, monkeypatch):
    monkeypatch.setattr(listing, "PER_PAGE", 3)
    for i in range(7):
        make_repo(f"m{i}")
    seen = []
    for page in (1, 2, 3):
        html = client.get(f"/models?sort=name&p={page}").content.decode()
        seen += _ids(html)
    assert seen == [f"alice/m{i}" for i in range(7)]
    html = client.get("/models?sort=name&p=2").content.decode()
    assert 'href="/models?sort=name&amp;p=3"' in html and 'href="/models?sort=name"' in html  # next, prev
    with CaptureQueriesContext(connection) as few:
        client.get("/models?p=3")
    with CaptureQueriesContext(connection) as many:
        client.get("/models?p=1")
    # The count, the page and one query for the facet counts (no facet chosen), whatever the page.
    assert len(many) == len(few) <= 4
    with CaptureQueriesContext(connection) as chosen:
        client.get("/models?p=1&license=mit&task=fill-mask")
    assert len(chosen) <= 4 + 2  # one more count query per chosen facet


def test_repo_and_tree_pages_use_a_bounded_number_of_queries(make_repo, client):
    repo = make_repo("q")
    commit(repo, files={f"f{i}.txt": b"x" for i in range(20)}, lfs={f"d{i}/a.bin": b"%d" % i for i in range(5)})
    for url in ["/alice/q", "/alice/q/tree/main", "/alice/q/commits/main", "/alice/q/blob/main/d1/a.bin"]:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        assert len(queries) <= 6, (url, [q["sql"] for q in queries])


def test_commit_history_paginates_and_filters_by_path(make_repo, client, monkeypatch):
    monkeypatch.setattr(commits_data, "COMMITS_PER_PAGE", 2)
    repo = make_repo("hist")
    for i in range(4):
        commit(repo, files={"a.txt": b"%d" % i}, message=f"change a {i}")
    commit(repo, files={"b.txt": b"b"}, message="add b")
    first = client.get("/alice/hist/commits/main").content.decode()
    assert "add b" in first and "change a 3" in first and "change a 2" not in first
    assert 'href="/alice/hist/commits/main?p=1"' in first
    second = client.get("/alice/hist/commits/main?p=1").content.decode()
    assert "change a 2" in second and "change a 1" in second and 'rel="prev"' in second
    only_a = client.get("/alice/hist/commits/main/a.txt").content.decode()
    assert "add b" not in only_a and "change a 3" in only_a
    assert client.get("/alice/hist/commits/nope").status_code == 404


def test_commit_page_shows_colored_diff_lfs_and_binary(make_repo, client):
    repo = make_repo("diff")
    commit(repo, files={"a.txt": b"one\ntwo\nthree\n"})
    sha = commit(repo, files={"a.txt": b"one\n2\nthree\n", "raw.dat": b"\0\1\2\3"}, lfs={"w.bin": b"\0" * 2048},
                 message="Edit a\n\nLonger description")
    r = client.get(f"/alice/diff/commit/{sha}")
    assert r.status_code == 200
    html = r.content.decode()
    assert "<h1>Edit a</h1>" in html and "Longer description" in html
    assert '<tr class="del">' in html and '<tr class="add">' in html
    assert re.search(r'<tr class="del">.*?</span>two</td>', html, re.S)
    assert re.search(r'<tr class="add">.*?</span>2</td>', html, re.S)
    lfs = html[html.index("w.bin"):]
    assert "Git LFS" in lfs[:600] and "2.0\xa0kB" in lfs[:600]
    assert "Binary file added" in html
    # a short sha works too, a bogus one is a 404
    assert client.get(f"/alice/diff/commit/{sha[:8]}").status_code == 200
    assert client.get("/alice/diff/commit/" + "0" * 40).status_code == 404


def test_root_commit_page_diffs_against_nothing(make_repo, client):
    repo = make_repo("root")
    from repos.handles import git_repo

    git = git_repo(repo)
    root = git.log(git.resolve("main"), limit=1)[0].sha
    html = client.get(f"/alice/root/commit/{root}").content.decode()
    assert ".gitattributes" in html and "status-added" in html


def test_discussions_tab_lists_pull_requests(make_repo, alice, client):
    from repos.models import Discussion

    repo = make_repo("community")
    Discussion.objects.create(repository=repo, num=1, title="<b>Improve</b> card", author=alice,
                              is_pull_request=True, status="open", target_branch="main")
    html = client.get("/alice/community/discussions").content.decode()
    assert "#1 &lt;b&gt;Improve&lt;/b&gt; card" in html and "PR" in html


def test_listing_cards_show_downloads_likes_and_parameters(make_repo, client):
    big = make_repo("big-model")
    big.safetensors = {"parameters": {"BF16": 7_241_732_096}, "total": 7_241_732_096}
    big.downloads, big.likes = 12_345, 7
    big.save(update_fields=["safetensors", "downloads", "likes"])
    make_repo("plain")
    for url in ("/models", "/", "/alice"):
        html = client.get(url).content.decode()
        card = html.split('href="/alice/big-model"', 1)[1].split("</a>", 1)[0]
        assert re.search(r'data-card-parameters title="7241732096 parameters">7.24B params<', card), url
        assert re.search(r'data-card-downloads title="12345 downloads">.*?12.3K', card), url
        assert re.search(r'data-card-likes title="7 likes">.*?\b7<', card), url
        plain = html.split('href="/alice/plain"', 1)[1].split("</a>", 1)[0]
        assert "data-card-parameters" not in plain  # no weights indexed: no count shown
        assert "data-card-downloads" in plain  # zero is a count too
