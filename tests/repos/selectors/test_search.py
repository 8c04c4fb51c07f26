"""Faceted search: facet values from cards and sizes, the index that stores them, and the search
and listing pages that filter and count by them (visible repositories only, bounded input)."""
from __future__ import annotations

import html as html_lib
import importlib
import re

import pytest

from repos.cards import MAX_FACET_VALUE, card_facets, parameter_bucket, size_bucket
from repos.models import RepoFacet
from repos.selectors.search import MAX_CHOSEN, parse_chosen
from tests.factories import commit


def _card(meta: str) -> dict[str, bytes]:
    return {"README.md": f"---\n{meta}\n---\n# Card\n".encode()}


def _ids(html: str) -> list[str]:
    return re.findall(r'class="repo-card" href="/([^"]+)"', html)


def _counts(html: str, facet: str) -> dict[str, int]:
    section = re.search(rf'data-facet="{facet}".*?</section>', html, re.S)
    if section is None:
        return {}
    return {html_lib.unescape(v): int(n) for v, n in re.findall(
        r'data-facet-value="([^"]+)"[^>]*>.*?data-count>(\d+)<', section.group(0), re.S)}


# ----------------------------------------------------------------------------- pure


def test_model_card_facets():
    facets = card_facets({"pipeline_tag": "text-classification", "library_name": "transformers",
                          "license": ["mit", "apache-2.0"], "language": ["en", "fr", "en"],
                          "task_categories": ["ignored-for-models"]}, "model", 5_000_000)
    assert facets == {"task": ["text-classification"], "library": ["transformers"],
                      "license": ["mit", "apache-2.0"], "language": ["en", "fr"], "size": ["<10MB"],
                      "parameters": []}


def test_dataset_card_facets_use_task_categories_and_row_counts():
    facets = card_facets({"task_categories": ["translation"], "pipeline_tag": "not-for-datasets",
                          "size_categories": ["1K<n<10K"], "language": "de"}, "dataset", 2 * 10**9)
    assert facets["task"] == ["translation"]
    assert facets["size"] == ["1GB-10GB", "1K<n<10K"]
    assert facets["language"] == ["de"] and facets["library"] == [] and facets["license"] == []


def test_facets_skip_unusable_values_and_stay_bounded():
    facets = card_facets({"license": {"nested": "x"}, "language": ["x" * (MAX_FACET_VALUE + 1), True, 7]
                          + [f"l{i}" for i in range(500)], "library_name": None}, "model", 0)
    assert facets["license"] == [] and facets["library"] == []
    assert card_facets({"license": ["mit\x00", "tab\there", "apache-2.0"]}, "model", 0)["license"] == ["apache-2.0"]
    assert facets["language"][0] == "7" and len(facets["language"]) == 50
    assert card_facets(None, "model", 0)["size"] == ["<10MB"]


@pytest.mark.parametrize(("size", "bucket"), [(0, "<10MB"), (10**7 - 1, "<10MB"), (10**7, "10MB-100MB"),
                                              (10**9, "1GB-10GB"), (10**10, ">10GB")])
def test_size_buckets_are_decimal(size, bucket):
    assert size_bucket(size) == bucket


@pytest.mark.parametrize(("n", "bucket"), [(1, "<100M"), (10**8, "100M-1B"), (7 * 10**9, "1B-10B"),
                                           (10**11, ">100B")])
def test_parameter_buckets(n, bucket):
    assert parameter_bucket(n) == bucket
    assert card_facets({}, "model", 0, n)["parameters"] == [bucket]
    assert card_facets({}, "model", 0)["parameters"] == []  # unknown: no value


@pytest.mark.django_db
def test_the_weights_analysis_indexes_the_parameter_count(make_repo, client):
    import numpy as np
    from safetensors.numpy import save

    from repos.services.analysis import repo_analyze_commit

    repo = make_repo("weighted")
    sha = commit(repo, lfs={"model.safetensors": save({"w": np.zeros((3, 4), np.float32)})})
    assert not RepoFacet.objects.filter(repository=repo, facet="parameters").exists()
    repo_analyze_commit(repo=repo, sha=sha)
    assert list(RepoFacet.objects.filter(repository=repo, facet="parameters").values_list("value", flat=True)) \
        == ["<100M"]
    # A later commit's index keeps it (the summary stays until the next analysis).
    commit(repo, files={"README.md": b"---\nlicense: mit\n---\n"})
    assert RepoFacet.objects.filter(repository=repo, facet="parameters", value="<100M").exists()
    assert _ids(client.get("/models?parameters=%3C100M").content.decode()) == ["alice/weighted"]


def test_parse_chosen_keeps_known_bounded_values():
    chosen = parse_chosen({"license": [f"l{i}" for i in range(MAX_CHOSEN + 5)] + ["l0"],
                           "task": ["", "  ", "x" * (MAX_FACET_VALUE + 1), "nul\x00"], "bogus": ["a"]})
    assert chosen == {"license": [f"l{i}" for i in range(MAX_CHOSEN)]}


# ----------------------------------------------------------------------------- index


@pytest.mark.django_db
def test_the_index_rebuilds_facets_on_every_write(make_repo):
    repo = make_repo("indexed")
    assert list(RepoFacet.objects.filter(repository=repo).values_list("facet", "value")) == [("size", "<10MB")]
    commit(repo, files=_card("license: mit\nlanguage: [en, fr]\npipeline_tag: fill-mask"))
    assert set(RepoFacet.objects.filter(repository=repo).values_list("facet", "value")) == {
        ("license", "mit"), ("language", "en"), ("language", "fr"), ("task", "fill-mask"), ("size", "<10MB")}
    commit(repo, files=_card("license: apache-2.0"))
    assert set(RepoFacet.objects.filter(repository=repo).values_list("facet", "value")) == {
        ("license", "apache-2.0"), ("size", "<10MB")}


@pytest.mark.django_db
def test_the_migration_indexes_repositories_that_predate_facets(make_repo):
    from django.apps import apps

    repo = make_repo("old")
    commit(repo, files=_card("license: mit"))
    RepoFacet.objects.all().delete()
    migration = importlib.import_module("repos.migrations.0006_repo_facets")
    migration.index_existing(apps, None)
    assert ("license", "mit") in set(RepoFacet.objects.filter(repository=repo).values_list("facet", "value"))


# ----------------------------------------------------------------------------- pages


@pytest.fixture
def catalogue(make_repo, bob):
    """Three public models, a private one of bob's, and two datasets."""
    repos = {
        "alice/clf-mit": ("model", "pipeline_tag: text-classification\nlibrary_name: transformers\n"
                                   "license: mit\nlanguage: en"),
        "alice/clf-apache": ("model", "pipeline_tag: text-classification\nlibrary_name: transformers\n"
                                      "license: apache-2.0"),
        "alice/gen-mit": ("model", "pipeline_tag: text-generation\nlibrary_name: peft\nlicense: mit\n"
                                   "language: [en, fr]"),
        "alice/corpus-mit": ("dataset", "task_categories: [text-classification]\nlicense: mit\n"
                                        "size_categories: [n<1K]"),
        "alice/corpus-cc": ("dataset", "task_categories: [translation]\nlicense: cc-by-4.0"),
    }
    for repo_id, (kind, meta) in repos.items():
        commit(make_repo(repo_id.split("/")[1], repo_type=kind), files=_card(meta))
    secret = make_repo("secret-clf", user=bob, private=True)
    commit(secret, files=_card("pipeline_tag: text-classification\nlicense: secret-license"))
    return repos


@pytest.mark.django_db
def test_listing_filters_by_combined_facets_with_counts(catalogue, client):
    html = client.get("/models?task=text-classification").content.decode()
    assert sorted(_ids(html)) == ["alice/clf-apache", "alice/clf-mit"]
    # Counts of a facet ignore its own choice (so other values show what they would give)...
    assert _counts(html, "task") == {"text-classification": 2, "text-generation": 1}
    # ...and honour the others' (licenses among text-classification models only).
    assert _counts(html, "license") == {"mit": 1, "apache-2.0": 1}
    html = client.get("/models?task=text-classification&license=mit").content.decode()
    assert _ids(html) == ["alice/clf-mit"]
    # Values of one facet combine with OR.
    html = client.get("/models?license=mit&license=apache-2.0").content.decode()
    assert sorted(_ids(html)) == ["alice/clf-apache", "alice/clf-mit", "alice/gen-mit"]
    assert _counts(html, "library") == {"transformers": 2, "peft": 1}
    assert _counts(html, "language") == {"en": 2, "fr": 1}
    assert 'aria-current="true"' in html and "Remove filter license mit" in html
    # Datasets have their own facets (task categories, row-count sizes).
    html = client.get("/datasets?license=mit").content.decode()
    assert _ids(html) == ["datasets/alice/corpus-mit"]
    assert _counts(html, "size") == {"<10MB": 1, "n<1K": 1}


@pytest.mark.django_db
def test_private_repositories_count_only_for_those_who_see_them(catalogue, client, bob_client):
    html = client.get("/models?task=text-classification").content.decode()
    assert "secret" not in html
    assert _counts(html, "license").get("secret-license") is None
    assert client.get("/search?license=secret-license").content.decode().count('class="repo-card"') == 0
    html = bob_client.get("/models?task=text-classification").content.decode()
    assert "bob/secret-clf" in _ids(html) and _counts(html, "license")["secret-license"] == 1


@pytest.mark.django_db
def test_one_search_box_covers_models_and_datasets(catalogue, client):
    html = client.get("/").content.decode()
    assert 'action="/search"' in html
    html = client.get("/search?search=mit").content.decode()
    assert sorted(_ids(html)) == ["alice/clf-mit", "alice/gen-mit", "datasets/alice/corpus-mit"]
    assert re.search(r'>Models <span class="faint">2</span>', html)
    assert re.search(r'>Datasets <span class="faint">1</span>', html)
    html = client.get("/search?search=mit&type=dataset").content.decode()
    assert _ids(html) == ["datasets/alice/corpus-mit"]
    # Facets count both kinds: text-classification is a model's pipeline and a dataset's category.
    html = client.get("/search?task=text-classification").content.decode()
    assert sorted(_ids(html)) == ["alice/clf-apache", "alice/clf-mit", "datasets/alice/corpus-mit"]
    assert _counts(html, "license") == {"mit": 2, "apache-2.0": 1}


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["task=" + "x" * 500, "license=%00", "search=a%00b&filter=%00",
                                   "type=space&search=" + "a" * 5000,
                                   "sort=bogus&p=-1&size=<10MB&size=>10GB",
                                   "language=" + "&language=".join("abcdefghijklmn")])
def test_odd_queries_answer_a_page(catalogue, client, query):
    for path in ("/search", "/models", "/datasets"):
        response = client.get(f"{path}?{query}")
        assert response.status_code == 200, (path, query)


@pytest.mark.django_db
def test_facet_links_keep_the_rest_of_the_query(catalogue, client):
    html = client.get("/models?search=clf&sort=name&license=mit").content.decode()
    links = dict(re.findall(r'data-facet="task".*?href="([^"]+)" data-facet-value="([^"]+)"', html, re.S)[:1])
    href = next(iter(links))
    assert href.startswith("/models?") and "search=clf" in href and "sort=name" in href
    assert "license=mit" in href and "task=text-classification" in href


@pytest.mark.django_db
def test_a_dataset_page_chips_open_the_filtered_listing(catalogue, client):
    html = client.get("/datasets/alice/corpus-mit").content.decode()
    for url in ("/datasets?task=text-classification", "/datasets?license=mit", "/datasets?size=n%3C1K"):
        assert f'href="{url}"' in html, url
        assert _ids(client.get(url).content.decode()) == ["datasets/alice/corpus-mit"], url
