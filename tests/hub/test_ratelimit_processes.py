"""Rate limits are shared by separate web processes (the embedded default's file cache, as
`make run`'s gunicorn workers use it): two processes sending at the same moment together get
exactly the limit through, never more, and reads stay open."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from tests.live import PYTHON, ROOT

LIMIT = 10
# Windows are aligned on the clock: one of ~31 years cannot end during the test.
WINDOW = 10**9
PER_PROCESS = 8
SENDER = """
import json, os, sys, time
import django
django.setup()
from django.test import Client

go = sys.argv[1]
deadline = time.monotonic() + 60
while not os.path.exists(go):  # both processes start sending together
    if time.monotonic() > deadline:
        sys.exit("no go signal")
    time.sleep(0.01)
client = Client(HTTP_HOST="127.0.0.1")
statuses = [client.post("/password-reset", {"email": "nobody@example.com"}).status_code
            for _ in range(int(sys.argv[2]))]
reads = [client.get(path).status_code for path in ("/password-reset", "/api/models", "/login")]
print(json.dumps({"writes": statuses, "reads": reads}))
"""


def test_two_processes_share_one_limit(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CACHE_URL", "CELERY_BROKER_URL")}
    env.update({"DJANGO_SETTINGS_MODULE": "hub.settings.dev", "HUB_DATA_DIR": str(tmp_path / "data"),
                "SECRET_KEY": "rate-limit-test-key", "HUB_RATE_LIMIT_PASSWORD_RESET": f"{LIMIT}/{WINDOW}"})
    subprocess.run([PYTHON, str(ROOT / "manage.py"), "migrate", "--noinput"], env=env, cwd=ROOT, check=True,
                   capture_output=True, timeout=120)
    go = tmp_path / "go"
    procs = [subprocess.Popen([PYTHON, "-c", SENDER, str(go), str(PER_PROCESS)], env=env, cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    try:
        go.write_text("go")  # both poll for it once Django is set up: they send together
        results = []
        for proc in procs:
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err[-3000:]
            results.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
    writes = [status for result in results for status in result["writes"]]
    assert sorted(set(writes)) == [302, 429], writes
    # Together exactly the limit got through: counted once each, in one shared counter.
    assert writes.count(302) == LIMIT and writes.count(429) == 2 * PER_PROCESS - LIMIT, writes
    # Neither process alone sent more than the limit: only a shared counter explains the 429s.
    assert PER_PROCESS < LIMIT
    assert all(result["reads"] == [200, 200, 200] for result in results), results
