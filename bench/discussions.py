"""SQL queries of the discussions API: a list page and the details of a discussion with 50
comments (some edited, one hidden, inline threads and reviews among them), counted with Django's
`CaptureQueriesContext` around one warm request through the test client, anonymous and with a
Bearer token (target <= 5 each, whatever the number of comments).

In-process, on a fresh data dir and SQLite database (no server): `python -m bench.discussions`.
"""
from __future__ import annotations

import argparse
import logging
import os

from bench.common import Report, install_deadline, temp_dir

COMMENTS = 50


def _count(report: Report) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from accounts.services.tokens import token_create
    from accounts.services.users import user_create
    from repos.reviews.services import discussions, reviews
    from repos.services.commits import AddFile, CommitHeader, commit_create
    from repos.services.repos import repo_create

    call_command("migrate", verbosity=0, interactive=False)
    logging.getLogger("kombu").setLevel(logging.ERROR)
    alice = user_create(username="bench-alice", password="bench-Pa55word!", email="a@example.com")
    bob = user_create(username="bench-bob", password="bench-Pa55word!", email="b@example.com")
    _token, key = token_create(user=bob, name="bench", role="read")
    repo = repo_create(user=alice, namespace="bench-alice", name="discussions-bench")
    commit_create(repo=repo, user=alice, revision="main", header=CommitHeader(summary="seed"),
                  operations=[AddFile("a.txt", b"a\n")])
    for i in range(20):
        discussions.discussion_create(repo=repo, author=bob, title=f"Discussion number {i}", description="Hi")
    pr = commit_create(repo=repo, user=bob, revision="main", header=CommitHeader(summary="Propose"),
                       operations=[AddFile("a.txt", b"b\n")], create_pr=True).pull_request
    assert pr is not None
    for i in range(COMMENTS - 1):  # the description is the first comment
        author = alice if i % 2 else bob
        if i % 10 == 3:
            event = reviews.inline_comment_create(pr=pr, author=author, text=f"inline **{i}**", path="a.txt", line=1)
        else:
            event = discussions.comment_create(discussion=pr, author=author, text=f"comment **{i}** @bench-alice")
        if i % 7 == 0:
            discussions.comment_edit(comment=event, editor=author, text=f"edited {i}")
        if i == 5:
            discussions.comment_hide(comment=event, user=author)
    reviews.review_submit(pr=pr, reviewer=alice, state="approved", body="ok")
    client = Client(HTTP_HOST="127.0.0.1")
    base = f"/api/models/{repo.repo_id}/discussions"
    for name, path in (("list", base), ("details", f"{base}/{pr.num}?diff=1")):
        for suffix, headers in (("", {}), ("_token", {"HTTP_AUTHORIZATION": f"Bearer {key}"})):
            client.get(path, **headers)  # warm: lazy imports, first connection
            with CaptureQueriesContext(connection) as queries:
                response = client.get(path, **headers)
            if response.status_code != 200:
                raise RuntimeError(f"GET {path} answered {response.status_code} in-process")
            data = response.json()
            size = len(data["discussions"]) if name == "list" else len(data["events"])
            report.at_most(f"queries_discussions_{name}{suffix}", len(queries.captured_queries), target=5)
            report.info(f"discussions_{name}{suffix}", f"{size} items, {len(response.content)} bytes")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--timeout", type=int, default=240)
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    install_deadline(args.timeout)
    report = Report("discussions: SQL queries per API request")
    with temp_dir("bench-discussions-") as tmp:
        os.environ["HUB_DATA_DIR"] = str(tmp / "inproc")
        os.environ["DJANGO_SETTINGS_MODULE"] = "hub.settings.dev"
        os.environ.setdefault("SECRET_KEY", "bench-secret-key-" + "0" * 40)
        os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")
        _count(report)
    return report.summary(strict=args.strict)


if __name__ == "__main__":
    raise SystemExit(main())
