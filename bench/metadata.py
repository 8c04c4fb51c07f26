"""Metadata endpoints: requests/s of the hub vs a bare WSGI app on the same gunicorn config,
and SQL queries per request.

    .venv/bin/python -m bench.metadata [--seconds 5] [--connections 8] [--rounds 2]

- `rps_<endpoint>`: hub req/s over `bench.bare_wsgi` req/s, both under gunicorn with
  `hub/gunicorn_conf.py` (same workers and threads), measured with wrk (or a keep-alive
  thread pool when wrk is missing), alternating, median of rounds (target >= 0.25).
  Endpoints: `GET /api/models/{id}`, `GET /api/models/{id}/tree/main`,
  `HEAD /{id}/resolve/main/config.json`; anonymous reads of a public repo.
- `queries_<endpoint>[_token]`: queries one warm request runs, counted in-process with
  Django's `CaptureQueriesContext` and the test client, anonymous and with a Bearer token
  (target <= 3).

The load generator shares the 2 cores with the server; both sides pay that equally.
"""
from __future__ import annotations

import argparse
import http.client
import logging
import os
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path

from bench.common import (
    BENCH_USER,
    ROOT,
    Report,
    child,
    cpu_seconds,
    hub_server,
    install_deadline,
    median,
    seed,
    temp_dir,
    tree_pids,
)
from tests.live import PYTHON, free_port, wait_http

CONFIG = '{"model_type": "bert", "architectures": ["BertModel"], "hidden_size": 32}'
FILES = {
    "config.json": CONFIG,
    "README.md": "---\nlicense: mit\ntags: [bench]\npipeline_tag: fill-mask\n---\n# Bench model\n",
    "tokenizer_config.json": '{"model_max_length": 512}',
    "special_tokens_map.json": "{}",
    "vocab.txt": "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\nworld\n",
    "sub/notes.txt": "a file in a folder\n",
}


def _endpoints(repo_id: str) -> list[tuple[str, str, str]]:
    return [
        ("model_info", "GET", f"/api/models/{repo_id}"),
        ("tree_main", "GET", f"/api/models/{repo_id}/tree/main"),
        ("resolve_head_config", "HEAD", f"/{repo_id}/resolve/main/config.json"),
    ]


# ---------------------------------------------------------------------- load generators

_RPS_RE = re.compile(r"Requests/sec:\s+([\d.]+)")
_NON2XX_RE = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")


def _wrk(url: str, method: str, *, seconds: int, connections: int, scripts: Path) -> float:
    script = scripts / f"{method.lower()}.lua"
    script.write_text(f'wrk.method = "{method}"\n')
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "-s", str(script), url],
                         capture_output=True, text=True, timeout=seconds + 30, check=True).stdout
    if (m := _NON2XX_RE.search(out)) and int(m.group(1)):
        raise RuntimeError(f"{method} {url}: {m.group(1)} non-2xx answers under load")
    match = _RPS_RE.search(out)
    if match is None:
        raise RuntimeError(f"no req/s in wrk output:\n{out}")
    return float(match.group(1))


def _threads(url: str, method: str, *, seconds: int, connections: int, scripts: Path) -> float:
    """Fallback without wrk: keep-alive http.client connections, one thread each."""
    host_port, _, path = url.removeprefix("http://").partition("/")
    host, port = host_port.split(":")
    stop = time.monotonic() + seconds
    counts = [0] * connections
    errors: list[str] = []

    def run(i: int) -> None:
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        try:
            while time.monotonic() < stop:
                conn.request(method, "/" + path)
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    errors.append(f"{method} {url}: {response.status}")
                    return
                counts[i] += 1
        finally:
            conn.close()

    workers = [threading.Thread(target=run, args=(i,)) for i in range(connections)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(seconds + 30)
    if errors:
        raise RuntimeError(errors[0])
    return sum(counts) / seconds


# ---------------------------------------------------------------------- servers


def _bare_server(tmp: Path, *, workers: int):
    port = free_port()
    env = {**os.environ, "HUB_PORT": str(port), "HUB_WEB_WORKERS": str(workers)}
    argv = [PYTHON, "-m", "gunicorn", "-c", str(ROOT / "hub" / "gunicorn_conf.py"), "--bind", f"127.0.0.1:{port}",
            "--workers", str(workers), "bench.bare_wsgi:app"]
    return port, child(argv, log=tmp / "bare.log", env=env, cwd=ROOT)


def _requests_per_second(report: Report, *, hub_url: str, bare_url: str, hub_pid: int, bare_pid: int,
                         repo_id: str, seconds: int,
                         connections: int, rounds: int, tmp: Path) -> None:
    report.info("load", f"{connections} connections, {rounds} x {seconds} s per side; wrk for GET, "
                        "Python keep-alive threads for HEAD (wrk waits for a HEAD body)")
    for name, method, path in _endpoints(repo_id):
        # wrk 4.1 expects Content-Length bytes after a HEAD answer and stalls.
        load = _wrk if shutil.which("wrk") and method != "HEAD" else _threads
        rates: dict[str, list[float]] = {"hub": [], "bare": []}
        cpu: dict[str, list[float]] = {"hub": [], "bare": []}
        load(hub_url + path, method, seconds=1, connections=connections, scripts=tmp)  # warm both workers
        for r in range(rounds):
            for side in (("bare", "hub") if r % 2 == 0 else ("hub", "bare")):
                base, pids = (hub_url, tree_pids(hub_pid)) if side == "hub" else (bare_url, tree_pids(bare_pid))
                before = cpu_seconds(pids)
                rate = load(base + path, method, seconds=seconds, connections=connections, scripts=tmp)
                rates[side].append(rate)
                cpu[side].append((cpu_seconds(pids) - before) / (rate * seconds))
        hub_rps, bare_rps = median(rates["hub"]), median(rates["bare"])
        report.ratio(f"rps_{name}", hub_rps / bare_rps, target=0.25, higher_is_better=True)
        report.info(name, f"hub {hub_rps:.0f} req/s, bare WSGI {bare_rps:.0f} req/s ({method} {path}); server CPU "
                          f"per request: hub {median(cpu['hub']) * 1e3:.2f} ms, bare {median(cpu['bare']) * 1e3:.2f} ms"
                    )


# ---------------------------------------------------------------------- queries per request


def _count_queries(report: Report, tmp: Path) -> None:
    """In this process: Django on a fresh data dir, the same data, the test client."""
    os.environ["HUB_DATA_DIR"] = str(tmp / "inproc")
    os.environ["DJANGO_SETTINGS_MODULE"] = "hub.settings.dev"
    os.environ.setdefault("SECRET_KEY", "bench-secret-key-" + "0" * 40)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from accounts.services.tokens import token_create
    from accounts.services.users import user_create
    from bench.seed import seed_repo

    call_command("migrate", verbosity=0, interactive=False)
    # The seed commit queues its analysis task on the embedded broker; kombu says so loudly.
    logging.getLogger("kombu").setLevel(logging.ERROR)
    user = user_create(username=BENCH_USER, password="bench-Pa55word!", email="bench@example.com")
    _token, key = token_create(user=user, name="bench", role="read")
    repo_id = seed_repo(username=BENCH_USER, namespace=BENCH_USER, name="metadata-bench", files=FILES)["repo_id"]
    client = Client(HTTP_HOST="127.0.0.1")
    for name, method, path in _endpoints(repo_id):
        for suffix, headers in (("", {}), ("_token", {"HTTP_AUTHORIZATION": f"Bearer {key}"})):
            client.generic(method, path, **headers)  # warm: lazy imports, first connection
            with CaptureQueriesContext(connection) as queries:
                response = client.generic(method, path, **headers)
            if response.status_code != 200:
                raise RuntimeError(f"{method} {path} answered {response.status_code} in-process")
            report.at_most(f"queries_{name}{suffix}", len(queries.captured_queries), target=3)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=int, default=240)
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    install_deadline(args.timeout)
    report = Report("metadata: hub vs bare WSGI app on the same gunicorn config")
    with temp_dir("bench-metadata-") as tmp:
        with hub_server(tmp / "hub", workers=args.workers) as (hub, hub_proc):
            seeded = seed(hub, username=BENCH_USER, namespace=BENCH_USER, name="metadata-bench", files=FILES)
            repo_id = seeded["repo_id"]
            bare_port, bare_ctx = _bare_server(tmp, workers=args.workers)
            with bare_ctx as bare:
                wait_http(f"http://127.0.0.1:{bare_port}/", timeout=30, proc=bare)
                _requests_per_second(report, hub_url=hub.url, bare_url=f"http://127.0.0.1:{bare_port}",
                                     hub_pid=hub_proc.pid, bare_pid=bare.pid,
                                     repo_id=repo_id, seconds=args.seconds, connections=args.connections,
                                     rounds=args.rounds, tmp=tmp)
        _count_queries(report, tmp)
    return report.summary(strict=args.strict)


if __name__ == "__main__":
    raise SystemExit(main())
