"""De-identification end to end: a dataset with planted personal data (Faker, fixed seed) is
uploaded with the real `huggingface_hub` client to a live hub whose real Celery worker writes
the report; the owner requires a clean report, is refused going public, opens a redaction pull
request, merges it with the client, and then goes public.

Every check compares against the planted values: the report's recall, the absence of every
planted value from the redacted files, and the other columns byte for byte.
"""
from __future__ import annotations

import base64
import io
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.repos.git_client import unique
from tests.safety.planted import CHECKED, DATA, expected_text, planted_values

pytestmark = [pytest.mark.live, pytest.mark.worker]
PLAIN = ("id", "name", "city", "signup", "score", "uuid", "active")

FLOW = """
import base64, json, sys, time, urllib.request
from huggingface_hub import HfApi, hf_hub_download
from huggingface_hub.errors import HfHubHTTPError

endpoint, token, repo, folder = sys.argv[1:5]
api = HfApi()
base = f"{endpoint}/api/datasets/{repo}/personal-data"


def call(method, url, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return resp.status, json.loads(resp.read())


def wait(what, ready, timeout=240):
    deadline = time.monotonic() + timeout
    while True:
        value = what()
        if ready(value):
            return value
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting: {value}")
        time.sleep(0.3)


def report():
    return wait(lambda: call("GET", base)[1], lambda r: r["files"] and r["finished"])


def visibility_change():
    try:
        api.update_repo_settings(repo, private=False, repo_type="dataset")
        return {"refused": False}
    except HfHubHTTPError as exc:
        return {"refused": True, "status": exc.response.status_code, "message": exc.server_message}


out = {}
api.create_repo(repo, repo_type="dataset", private=True)
assert call("PUT", base + "/settings", {"requireCleanReport": True})[1] == {"requireCleanReport": True}
api.upload_folder(repo_id=repo, folder_path=folder, repo_type="dataset", commit_message="people")
out["report"] = report()
out["first_try"] = visibility_change()

status, job = call("POST", base + "/redact", {"mode": "mask"})
assert status == 202, job
job = wait(lambda: call("GET", f"{base}/redactions/{job['id']}")[1], lambda j: j["state"] in ("succeeded", "failed"))
out["job"] = job
pr = job["pullRequest"]
out["files"] = {}
for name in ("people.csv", "people.jsonl", "people.parquet"):
    path = hf_hub_download(repo, f"data/{name}", repo_type="dataset", revision=f"refs/pr/{pr}",
                           cache_dir=folder + "/../cache")
    out["files"][name] = base64.b64encode(open(path, "rb").read()).decode()
out["main_before_merge"] = api.dataset_info(repo).sha
api.merge_pull_request(repo, pr, repo_type="dataset", comment="de-identified")
merged = api.dataset_info(repo).sha
out["after"] = wait(lambda: call("GET", base)[1], lambda r: r["revision"] == merged and r["finished"])
out["second_try"] = visibility_change()
out["private_at_end"] = api.dataset_info(repo).private
print("RESULT=" + json.dumps(out))
"""


def run_flow(live_hub, home: Path, token: str, repo: str, folder: Path) -> dict:
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(FLOW), live_hub.url, token, repo, str(folder)],
                          env=live_hub.client_env(home, token), capture_output=True, text=True, timeout=540)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT=")]
    assert proc.returncode == 0 and lines, f"{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    return json.loads(lines[-1][len("RESULT="):])


def test_report_redaction_pull_request_and_clean_rule(live_hub, live_worker, tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    token = live_hub.create_user("deid_owner")
    folder = tmp_path / "upload"
    (folder / "data").mkdir(parents=True)
    sources = {"people.csv": DATA.csv_bytes(), "people.jsonl": DATA.jsonl_bytes(),
               "people.parquet": DATA.parquet_bytes()}
    for name, data in sources.items():
        (folder / "data" / name).write_bytes(data)
    repo = f"deid_owner/{unique('people')}"

    out = run_flow(live_hub, tmp_path / "home", token, repo, folder)

    # The report: 100% recall on the planted emails, phones, IPs and card numbers, per file.
    report = {f["path"]: f for f in out["report"]["files"]}
    assert set(report) == {f"data/{name}" for name in sources}
    for path, file in report.items():
        assert file["status"] == "findings" and not file["truncated"] and file["rowsScanned"] == len(DATA.rows), path
        extra = len(DATA.rows) if path.endswith(".parquet") else 0  # card numbers also stored as int64
        for entity in CHECKED:
            want = len(DATA.planted[entity]) + (extra if entity == "CREDIT_CARD" else 0)
            assert file["totals"][entity] == want, (path, entity)
    csv_columns = {c["column"]: c for c in report["data/people.csv"]["columns"]}
    for column, entity in (("email", "EMAIL_ADDRESS"), ("phone", "PHONE_NUMBER"), ("ip", "IP_ADDRESS"),
                           ("card", "CREDIT_CARD")):
        assert csv_columns[column]["counts"] == {entity: len(DATA.rows)}, column
        assert csv_columns[column]["examples"][entity]  # the owner sees masked examples...
    shown = json.dumps(out["report"])
    assert not [v for v in planted_values() if v in shown]  # ...and never a value

    # Going public is refused while the report has findings.
    first = out["first_try"]
    assert first["refused"] and first["status"] == 409, first
    assert "personal-data report" in first["message"] and "has findings in 3 file" in first["message"]

    # The redaction PR: no planted value left; everything else as it was.
    assert out["job"]["state"] == "succeeded", out["job"]
    files = {name: base64.b64decode(data) for name, data in out["files"].items()}
    for name, data in files.items():
        if name != "people.parquet":
            assert not [v for v in planted_values() if v.encode() in data], name
    assert files["people.csv"] == expected_text(sources["people.csv"].decode()).encode()  # byte for byte
    jsonl_in, jsonl_out = sources["people.jsonl"].splitlines(), files["people.jsonl"].splitlines()
    assert len(jsonl_in) == len(jsonl_out)
    for before, after in zip(jsonl_in, jsonl_out, strict=True):
        a, b = json.loads(before), json.loads(after)
        assert {k: a[k] for k in PLAIN} == {k: b[k] for k in PLAIN}
    table = pq.read_table(io.BytesIO(files["people.parquet"]))
    source = pq.read_table(io.BytesIO(sources["people.parquet"]))
    for column in PLAIN:
        assert table.column(column).equals(source.column(column)), column
    parquet_values = json.dumps(table.to_pylist())
    assert not [v for v in planted_values() if v in parquet_values]
    assert table.column("card_number").null_count == len(DATA.rows)

    # Merged: the new head is reported clean, and the dataset may go public.
    assert out["after"]["clean"] and {f["status"] for f in out["after"]["files"]} == {"clean"}, out["after"]
    assert out["second_try"] == {"refused": False} and out["private_at_end"] is False
