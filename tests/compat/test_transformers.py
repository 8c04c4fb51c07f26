"""transformers' Auto classes load a tiny model pushed with huggingface_hub, by branch and by
commit sha, and reuse their cache: proven from the hub's own access log (the request lines of
the gunicorn server behind `live_hub`) and from the cache's blob files.

Two client processes, like two runs of a user's program sharing one HF cache: the first pushes
v1 and v2 and loads `main` cold; the second loads `main` again (no file downloaded), then v1 by commit
sha (only the changed weights are fetched), then v1 again (no file request at all).
"""
from __future__ import annotations

import re
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.compat.conftest import SCRIPTS, ClientSession, no_errors, unique_suffix

pytestmark = pytest.mark.live

# gunicorn's default access-log format: ... "METHOD /path HTTP/1.1" STATUS ...
REQUEST_LINE = re.compile(r'"(?P<method>[A-Z]+) (?P<path>\S+) HTTP/[\d.]+" (?P<status>\d{3}) ')
WORDPIECE_IDS = {"[CLS]": 2, "[SEP]": 3, "[MASK]": 4, "hello": 5, "world": 6, "tiny": 8, "model": 9, "load": 11,
                 "##s": 12, "##ed": 13, "!": 14}


class AccessLog:
    """The requests the hub logged for one repository since a mark."""

    def __init__(self, path: Path, repo: str) -> None:
        self.path = path
        self.repo = repo
        self.prefix = f"/{repo}/resolve/"

    def mark(self) -> int:
        self._settle()
        return self.path.stat().st_size

    def requests(self, since: int) -> list[tuple[str, str, int]]:
        """`(method, path, status)` of every request naming the repository, in log order."""
        self._settle()
        with open(self.path, "rb") as f:
            f.seek(since)
            text = f.read().decode(errors="replace")
        api_prefix = f"/api/models/{self.repo}"
        return [(m["method"], m["path"], int(m["status"])) for m in REQUEST_LINE.finditer(text)
                if m["path"].startswith((self.prefix, api_prefix + "/", api_prefix + "?")) or m["path"] == api_prefix]

    def file_requests(self, requests: list[tuple[str, str, int]]) -> list[tuple[str, str, int]]:
        """The /resolve/ ones among `requests`, as `(method, "<revision>/<path>", status)`."""
        return [(m, p[len(self.prefix):], s) for m, p, s in requests if p.startswith(self.prefix)]

    def _settle(self, quiet: float = 0.3, timeout: float = 5.0) -> None:
        # gunicorn writes a line once its response is sent: wait until the log stops growing.
        deadline = time.monotonic() + timeout
        size = -1
        while time.monotonic() < deadline:
            now = self.path.stat().st_size
            if now == size:
                return
            size = now
            time.sleep(quiet)


def _load(session: ClientSession, tiny: dict[str, Any], *, revision: str, version: str) -> dict[str, Any]:
    result = session.call({"op": "load", "repo": tiny["repo"], "revision": revision,
                           "reference": tiny["push"][version]["dir"], "cache_dir": str(tiny["cache"])})
    no_errors(result)
    return result["out"]


@pytest.fixture(scope="module")
def tiny(live_hub, compat_users, tmp_path_factory) -> dict[str, Any]:
    """First run: push v1 and v2, then load `main` into an empty cache."""
    work = tmp_path_factory.mktemp("transformers")
    repo = f"{compat_users.alice}/tiny-bert-{unique_suffix()}"
    data: dict[str, Any] = {"repo": repo, "work": work, "cache": work / "hf-cache",
                            "log": AccessLog(live_hub.log_path, repo)}
    session = ClientSession(sys.executable, SCRIPTS / "transformers_session.py",
                            env=live_hub.client_env(work / "home-1", compat_users.alice_token), work=work / "run-1")
    try:
        pushed = session.call({"op": "push", "repo": repo, "work": str(work / "saved")})
        no_errors(pushed)
        data["push"] = pushed["out"]
        start = data["log"].mark()
        data["cold"] = _load(session, data, revision="main", version="v2")
        data["cold_requests"] = data["log"].requests(start)
        assert data["cold_requests"], f"no request lines in {live_hub.log_path}: is gunicorn's access log on?"
    finally:
        session.close()
    return data


@pytest.fixture(scope="module")
def second_run(live_hub, compat_users, tiny) -> dict[str, Any]:
    """Second run over the same cache: `main` again, v1 by sha, v1 by sha again."""
    log: AccessLog = tiny["log"]
    runs: dict[str, Any] = {}
    session = ClientSession(sys.executable, SCRIPTS / "transformers_session.py",
                            env=live_hub.client_env(tiny["work"] / "home-2", compat_users.alice_token),
                            work=tiny["work"] / "run-2")
    try:
        for name, revision, version in (("warm_main", "main", "v2"), ("v1_sha", tiny["push"]["v1"]["sha"], "v1"),
                                        ("v1_sha_again", tiny["push"]["v1"]["sha"], "v1")):
            start = log.mark()
            runs[name] = _load(session, tiny, revision=revision, version=version)
            runs[f"{name}_requests"] = log.requests(start)
    finally:
        session.close()
    return runs


def _assert_same_model(out: dict[str, Any], sha: str) -> None:
    """The hub's copy at `sha` loaded and equals the original: every tensor, the token ids."""
    assert out["model_class"] == "BertForMaskedLM"
    assert out["tokenizer_class"].startswith("Bert")
    assert out["same_keys"] is True and out["num_tensors"] > 10
    assert out["unequal_tensors"] == []
    assert sha in out["cache"]["snapshots"]
    assert out["ids"] == out["reference_ids"]
    assert out["tokens"] == ["[CLS]", "hello", "tiny", "world", "[MASK]", "model", "##s", "load", "##ed", "!",
                             "[SEP]"]
    assert out["ids"] == [WORDPIECE_IDS[t] for t in out["tokens"]]


def test_push_made_two_commits(tiny):
    push = tiny["push"]
    assert push["head"] == push["v2"]["sha"] != push["v1"]["sha"]
    assert {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"} <= set(push["v1"]["files"])
    assert push["v2_commit_files"] == sorted([".gitattributes", *push["v1"]["files"]])


def test_cold_load_by_branch(tiny):
    v2 = tiny["push"]["v2"]["sha"]
    cold = tiny["cold"]
    _assert_same_model(cold, v2)
    assert cold["unequal_to_built"] == []  # the very tensors the first process pushed
    assert cold["cache"]["refs"] == {"main": v2}  # the X-Repo-Commit of the branch head
    assert cold["cache"]["snapshots"] == [v2]
    requests = tiny["log"].file_requests(tiny["cold_requests"])
    got = {path for method, path, status in requests if method == "GET" and status == 200}
    # Clients >= 1.30 download at the commit the HEAD reported, so GETs may name the sha.
    assert {p.split("/", 1)[1] for p in got} >= {"config.json", "model.safetensors", "tokenizer_config.json"}
    assert all(p.split("/", 1)[0] in ("main", v2) for p in got), got
    # Optional files transformers probes for are a clean 404 (EntryNotFound), never an error.
    assert {s for _m, _p, s in requests} <= {200, 404}, requests


def test_second_load_only_revalidates(tiny, second_run):
    v2 = tiny["push"]["v2"]["sha"]
    warm = second_run["warm_main"]
    _assert_same_model(warm, v2)
    requests = second_run["warm_main_requests"]
    files = tiny["log"].file_requests(requests)
    assert [r for r in files if r[0] != "HEAD"] == [], "the second load downloaded files again"
    # The client did ask the hub (it is not offline): transformers 5 resolves the branch to its
    # head commit through the revision API, finds that commit complete in its cache and needs
    # no file request; older clients revalidate each file with a HEAD (ETag unchanged).
    assert ("GET", f"/api/models/{tiny['repo']}/revision/main", 200) in requests
    assert {m for m, _p, _s in requests} <= {"GET", "HEAD"}
    assert all(p.startswith("/api/") for m, p, _s in requests if m == "GET"), requests
    # Neither rewritten nor replaced: same inode and mtime for every blob of the first load.
    assert warm["cache"]["blobs"] == tiny["cold"]["cache"]["blobs"]
    assert warm["cache"]["refs"] == {"main": v2}


def test_load_by_commit_sha_reuses_unchanged_blobs(tiny, second_run):
    v1, v2 = tiny["push"]["v1"]["sha"], tiny["push"]["v2"]["sha"]
    out = second_run["v1_sha"]
    _assert_same_model(out, v1)
    assert out["weight_checksum"] != tiny["cold"]["weight_checksum"]
    assert out["cache"]["snapshots"] == sorted([v1, v2])
    requests = tiny["log"].file_requests(second_run["v1_sha_requests"])
    assert requests and all(path.startswith(f"{v1}/") for _m, path, _s in requests), requests
    # v1 and v2 differ in their weights only: every other file has the same ETag, so its
    # blob is reused across commits and only the weights are fetched.
    assert [p for m, p, _s in requests if m == "GET"] == [f"{v1}/model.safetensors"]
    blobs = out["cache"]["blobs"]
    assert len(blobs) == len(tiny["cold"]["cache"]["blobs"]) + 1
    assert all(blobs[name] == stat for name, stat in tiny["cold"]["cache"]["blobs"].items())


def test_pinned_sha_with_warm_cache_makes_no_file_request(tiny, second_run):
    _assert_same_model(second_run["v1_sha_again"], tiny["push"]["v1"]["sha"])
    # Everything, 404s included (cached under .no_exist/<sha> thanks to X-Repo-Commit on them),
    # comes from the cache.
    assert tiny["log"].file_requests(second_run["v1_sha_again_requests"]) == []
