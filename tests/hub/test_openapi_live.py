"""Schemathesis against a live hub of its own: every operation of the published schema, with
generated inputs (fixed seed, a few examples each, bounded in time), answers without a server
error and as the schema says (response bodies validated against the documented schemas)."""
from __future__ import annotations

import json
import shutil
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance

from tests.live import isolated_hub

pytestmark = [pytest.mark.live, pytest.mark.timeout(600)]

# Bodies the schema documents as opaque bytes: whatever was generated, as bytes.
BYTE_MEDIA = ("application/x-ndjson", "application/x-git-upload-pack-request", "application/x-git-receive-pack-request")


@schemathesis.serializer(*BYTE_MEDIA)
def _as_bytes(ctx, value):
    return value if isinstance(value, bytes) else json.dumps(value, default=str).encode()


EXAMPLES = 4  # per operation: ~130 operations, a few hundred requests in all
BUDGET_SECONDS = 420.0
REQUEST_TIMEOUT = 30


@pytest.fixture(scope="module")
def fuzz_hub():
    """A hub of its own (generated requests must not lock out or rate-limit the shared one),
    with a user, a write token and a public model the generated ids sometimes hit."""
    tmp = Path(tempfile.mkdtemp(prefix="hub-schemathesis-"))
    try:
        with isolated_hub(tmp) as (hub, _proc):
            token = hub.create_user("fuzzer")
            hub.manage("shell", "-c", "from accounts.models import User; from repos.services.repos import "
                       "repo_create; repo_create(user=User.objects.get(username='fuzzer'), namespace='fuzzer', "
                       "name='model')")
            yield hub, token
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_schemathesis_finds_no_server_error_and_no_schema_violation(fuzz_hub):
    hub, token = fuzz_hub
    with urllib.request.urlopen(f"{hub.url}/api/schema", timeout=REQUEST_TIMEOUT) as response:
        raw = json.load(response)
    schema = schemathesis.openapi.from_dict(raw)
    headers = {"Authorization": f"Bearer {token}"}
    failures: list[str] = []
    deadline = time.monotonic() + BUDGET_SECONDS
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        assert time.monotonic() < deadline, f"schemathesis ran out of its {BUDGET_SECONDS:.0f} s after {operations}"

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None, phases=[Phase.generate],
                  suppress_health_check=list(HealthCheck))
        def run(case):
            case.call_and_validate(base_url=hub.url, headers=headers, timeout=REQUEST_TIMEOUT,
                                   checks=[not_a_server_error, response_schema_conformance])

        try:
            run()
        except Exception as exc:  # noqa: BLE001 - every operation's failure is collected, then reported
            failures.append(f"{operation.method.upper()} {operation.path}: {str(exc)[:1500]}")
    assert operations > 100
    assert not failures, f"{len(failures)} operations failed:\n\n" + "\n\n".join(failures)
