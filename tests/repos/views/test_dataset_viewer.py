"""The dataset viewer on file pages: CSV, JSONL and Parquet as a table with column types and
the row count; large files prepared by the worker, cached per content."""
from __future__ import annotations

import io
import re

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.factories import commit

pytestmark = pytest.mark.django_db


def parquet_bytes(n: int) -> bytes:
    buf = io.BytesIO()
    pq.write_table(pa.table({"id": list(range(n)), "text": [f"sample {i}" for i in range(n)]}), buf)
    return buf.getvalue()


def head(html: str) -> str:
    return html.split("data-dataset-viewer", 1)[1].split("</table>", 1)[0]


def test_csv_jsonl_and_parquet_files_show_a_table(make_repo, client):
    repo = make_repo("corpus", repo_type="dataset")
    csv_text = "text,label\n" + "".join(f"review {i},{i % 2}\n" for i in range(150))
    commit(repo, files={"train.csv": csv_text.encode(), "dev.jsonl": b'{"q": "why?", "n": 1}\n{"q": "how?", "n": 2}\n'},
           lfs={"data/test.parquet": parquet_bytes(1234)})
    html = client.get("/datasets/alice/corpus/blob/main/train.csv").content.decode()
    table = head(html)
    assert 'data-row-count="150"' in table and "showing the first 100" in table
    assert re.search(r'col-name">text<.*?data-col-type>string<', table, re.S)
    assert re.search(r'col-name">label<.*?data-col-type>int64<', table, re.S)
    assert "<td>review 7</td><td>1</td>" in html
    assert 'href="/datasets/alice/corpus/blob/main/train.csv?code=true"' in html  # the text is one click away
    text_view = client.get("/datasets/alice/corpus/blob/main/train.csv?code=true").content.decode()
    assert "data-dataset-viewer" not in text_view and 'class="highlight' in text_view

    table = head(client.get("/datasets/alice/corpus/blob/main/dev.jsonl").content.decode())
    assert 'data-row-count="2"' in table and "<td>how?</td><td>2</td>" in client.get(
        "/datasets/alice/corpus/blob/main/dev.jsonl").content.decode()

    html = client.get("/datasets/alice/corpus/blob/main/data/test.parquet").content.decode()
    assert 'data-row-count="1234"' in head(html) and "<td>sample 99</td>" in html and "<td>sample 100</td>" not in html


def test_a_broken_file_says_why_not_500(make_repo, client):
    repo = make_repo("bad", repo_type="dataset")
    commit(repo, files={"rows.jsonl": b'{"a": 1}\n{broken\n'}, lfs={"x.parquet": b"PAR1 not really"})
    r = client.get("/datasets/alice/bad/blob/main/rows.jsonl")
    assert r.status_code == 200 and "line 2 is not JSON" in r.content.decode()
    r = client.get("/datasets/alice/bad/blob/main/x.parquet")
    assert r.status_code == 200 and "cannot be previewed" in r.content.decode()


def test_large_files_are_prepared_by_the_worker_once(make_repo, client, settings, monkeypatch,
                                                    django_capture_on_commit_callbacks):
    from repos import tasks

    queued: list[tuple[int, str, str]] = []
    monkeypatch.setattr(tasks.dataset_preview, "delay", lambda *args: queued.append(args))
    settings.HUB_DATASET_PREVIEW_INLINE_BYTES = 100
    repo = make_repo("big", repo_type="dataset")
    sha = commit(repo, files={"big.csv": b"a,b\n" + b"1,2\n" * 100})
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            html = client.get("/datasets/alice/big/blob/main/big.csv").content.decode()
        assert "data-preview-pending" in html and "being prepared" in html
    assert queued == [(repo.pk, sha, "big.csv")]  # queued once, not on every view

    tasks.dataset_preview(*queued[0])  # what the worker runs
    html = client.get("/datasets/alice/big/blob/main/big.csv").content.decode()
    assert "data-preview-pending" not in html and 'data-row-count="100"' in html
    # The same bytes elsewhere share the cached result.
    other = make_repo("copy", repo_type="dataset")
    commit(other, files={"renamed.csv": b"a,b\n" + b"1,2\n" * 100})
    assert 'data-row-count="100"' in client.get("/datasets/alice/copy/blob/main/renamed.csv").content.decode()
    assert len(queued) == 1


def test_gated_readers_without_access_get_no_rows(make_repo, client):
    repo = make_repo("gated-data", repo_type="dataset")
    commit(repo, files={"secret.csv": b"ssn\n123-45-6789\n"})
    repo.gated = "manual"
    repo.save(update_fields=["gated"])
    for url in ("/datasets/alice/gated-data/blob/main/secret.csv", "/datasets/alice/gated-data"):
        html = client.get(url).content.decode()
        assert "data-dataset-viewer" not in html and "123-45-6789" not in html


def test_the_dataset_page_opens_the_viewer_on_its_training_split(make_repo, client):
    repo = make_repo("splits", repo_type="dataset")
    commit(repo, files={"README.md": b"# Splits\n", "data/test.jsonl": b'{"x": 1}\n',
                        "data/train.csv": b"word,n\n" + b"".join(b"w%d,%d\n" % (i, i) for i in range(42)),
                        "notes.txt": b"not data\n"})
    html = client.get("/datasets/alice/splits").content.decode()
    viewer = html.split('aria-label="Dataset viewer"', 1)[1].split("</section>", 1)[0]
    assert 'href="/datasets/alice/splits/blob/main/data/train.csv"' in viewer
    assert 'data-row-count="42"' in viewer and "<td>w41</td>" in viewer
    assert 'href="/datasets/alice/splits/blob/main/data/test.jsonl"' in viewer  # the other split, one click away
    assert "notes.txt" not in viewer
    # Models have no viewer; a dataset without data files neither.
    other = make_repo("empty-data", repo_type="dataset")
    commit(other, files={"README.md": b"# Nothing yet\n"})
    assert 'aria-label="Dataset viewer"' not in client.get("/datasets/alice/empty-data").content.decode()


def test_a_pointer_to_another_repositorys_object_reads_nothing_from_the_cache(make_repo, client):
    import hashlib

    from repos.handles import git_repo
    from repos.services.dataset_preview import dataset_preview

    # A gated dataset (public, stored plain: its previews are cached by content, unscoped).
    secret = b"name,ssn\nada,123-45-6789\n"
    gated = make_repo("gated-people", repo_type="dataset")
    commit(gated, lfs={"people.csv": secret})
    gated.gated = "manual"
    gated.save(update_fields=["gated"])
    # A reader with access views it: the preview is cached under the content's sha256.
    git = git_repo(gated)
    sha = git.resolve("main")
    assert dataset_preview(repo=gated, git=git, sha=sha, entry=git.get_entry(sha, "people.csv")).state == "ready"
    # Someone who learnt the sha256 commits a pointer to it in a public repository of theirs.
    oid = hashlib.sha256(secret).hexdigest()
    pointer = f"version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize {len(secret)}\n".encode()
    probe = make_repo("probe", repo_type="dataset")
    commit(probe, files={"data/train.csv": pointer})
    for url in ("/datasets/alice/probe", "/datasets/alice/probe/blob/main/data/train.csv"):
        html = client.get(url).content.decode()
        assert "123-45-6789" not in html and "data-row-count" not in html, url
