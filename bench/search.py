"""Faceted search: what the facet counts cost over the plain listing, on a catalogue of
repositories (default 5,000 public and 500 private ones, each with the facets a card gives).

    .venv/bin/python -m bench.search [--repos 5000] [--rounds 15]

- `facet_search_vs_plain_list`: median time of one `/models` result page with its five facet
  groups counted (`repo_faceted_search`: count, page, one GROUP BY per facet), filtered by a
  task and a license, over the same page of the plain listing selector (`repo_search`: count
  and page, no facets), both in-process on the same SQLite database, alternating (target <= 4).
- `facet_search_vs_plain_list_unfiltered`: the same without filters (every facet counts the
  whole catalogue).
- `queries_search_page[_signed_in]`: SQL queries of one warm `GET /search?...` through the test
  client, anonymous and signed in (target <= 10, whatever the catalogue's size).

In-process, on a fresh data dir and SQLite database (no server, no git: listings read the
database index only).
"""
from __future__ import annotations

import argparse
import logging
import os
import random
import time

from bench.common import Report, install_deadline, median, temp_dir

TASKS = ["text-classification", "token-classification", "fill-mask", "text-generation", "translation",
         "image-classification", "automatic-speech-recognition", "summarization"]
LIBRARIES = ["transformers", "peft", "sentence-transformers", "timm", "diffusers", "sklearn"]
LICENSES = ["mit", "apache-2.0", "cc-by-4.0", "bsd-3-clause", "openrail", "other"]
LANGUAGES = ["en", "fr", "de", "es", "zh", "ja", "ru", "ar", "hi", "pt", "it", "nl"]


def _seed(n_public: int, n_private: int) -> None:
    from accounts.services.users import user_create
    from repos.cards import card_facets
    from repos.models import RepoFacet, Repository

    rng = random.Random(7)
    owner = user_create(username="bench-owner", password="bench-Pa55word!", email="o@example.com")
    repos = []
    for i in range(n_public + n_private):
        kind = "dataset" if i % 5 == 0 else "model"
        card = {"license": rng.choice(LICENSES), "language": rng.sample(LANGUAGES, rng.randint(1, 3))}
        if kind == "model":
            card.update(pipeline_tag=rng.choice(TASKS), library_name=rng.choice(LIBRARIES))
        else:
            card.update(task_categories=[rng.choice(TASKS)], size_categories=[rng.choice(["n<1K", "1K<n<10K"])])
        repos.append(Repository(repo_type=kind, namespace="bench-owner", name=f"repo-{i}", owner=owner,
                                private=i >= n_public, card_data=card, pipeline_tag=card.get("pipeline_tag", ""),
                                library_name=card.get("library_name", ""), used_storage=rng.randint(0, 5 * 10**9)))
    Repository.objects.bulk_create(repos, batch_size=1000)
    facets = []
    for repo in Repository.objects.only("pk", "repo_type", "card_data", "used_storage"):
        for kind, values in card_facets(repo.card_data, repo.repo_type, repo.used_storage).items():
            facets.extend(RepoFacet(repository_id=repo.pk, facet=kind, value=v) for v in values)
    RepoFacet.objects.bulk_create(facets, batch_size=2000)


def _measure(report: Report, rounds: int) -> None:
    from django.contrib.auth.models import AnonymousUser
    from django.core.paginator import Paginator

    from repos.selectors.repo_list import repo_search
    from repos.selectors.search import repo_faceted_search

    anonymous = AnonymousUser()

    def plain() -> None:
        page = Paginator(repo_search(user=anonymous, repo_type="model", sort="updated"), 30).get_page(1)
        list(page.object_list)

    def faceted(chosen: dict[str, list[str]]) -> None:
        result = repo_faceted_search(user=anonymous, token=None, repo_types=("model",), chosen=chosen)
        page = Paginator(result.repos, 30).get_page(1)
        list(page.object_list)

    for label, chosen in (("", {"task": ["text-classification"], "license": ["mit"]}), ("_unfiltered", {})):
        plain_times, facet_times = [], []
        for _ in range(rounds):
            start = time.perf_counter()
            plain()
            plain_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            faceted(chosen)
            facet_times.append(time.perf_counter() - start)
        report.ratio(f"facet_search_vs_plain_list{label}", median(facet_times) / median(plain_times),
                     target=4, higher_is_better=False)
        report.info(f"facet_search{label}", f"{median(facet_times) * 1000:.1f} ms, plain list "
                                            f"{median(plain_times) * 1000:.1f} ms (median of {rounds})")


def _queries(report: Report) -> None:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    path = "/search?search=repo&task=fill-mask&license=mit&license=apache-2.0&language=en"
    for suffix, client in (("", Client(HTTP_HOST="127.0.0.1")), ("_signed_in", Client(HTTP_HOST="127.0.0.1"))):
        if suffix:
            client.force_login(get_user_model().objects.get(username="bench-owner"))
        client.get(path)  # warm: templates, lazy imports
        with CaptureQueriesContext(connection) as queries:
            response = client.get(path)
        if response.status_code != 200:
            raise RuntimeError(f"GET {path} answered {response.status_code} in-process")
        report.at_most(f"queries_search_page{suffix}", len(queries.captured_queries), target=10)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repos", type=int, default=5000, help="public repositories (plus 10%% private)")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--timeout", type=int, default=300)
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    install_deadline(args.timeout)
    report = Report(f"search: facet counts over {args.repos} repositories")
    with temp_dir("bench-search-") as tmp:
        os.environ["HUB_DATA_DIR"] = str(tmp / "inproc")
        os.environ["DJANGO_SETTINGS_MODULE"] = "hub.settings.dev"
        os.environ.setdefault("SECRET_KEY", "bench-secret-key-" + "0" * 40)
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)
        logging.getLogger("kombu").setLevel(logging.ERROR)
        _seed(args.repos, args.repos // 10)
        _measure(report, args.rounds)
        _queries(report)
    return report.summary(strict=args.strict)


if __name__ == "__main__":
    raise SystemExit(main())
