"""The bench harness itself (not performance: no timing is asserted here): output format,
/proc accounting, generated requests, and that the nginx baseline starts, serves exact bytes
and ranges, and is stopped."""
from __future__ import annotations

import http.client
import os
import random
import shutil
import subprocess
import time

import pytest

from bench.common import NGINX, Report, cpu_seconds, nginx_server, random_file, rss_bytes, tree_pids
from bench.download import _random_ranges
from bench.git import _upload_pack_request


def test_report_prints_one_ratio_per_line_and_tallies(capsys):
    report = Report("t")
    report.ratio("fast_enough", 0.95, target=0.9, higher_is_better=True)
    report.ratio("cheap_enough", 1.5, target=1.2, higher_is_better=False)
    report.at_most("queries", 2, target=3)
    assert report.summary() == 0
    assert report.summary(strict=True) == 1
    out = capsys.readouterr().out.splitlines()
    assert "fast_enough: 0.950 (target >= 0.9)" in out
    assert "cheap_enough: 1.500 (target <= 1.2)" in out
    assert "queries: 2 (target <= 3)" in out
    assert out[-1] == "# targets met: 2/3; missed: cheap_enough"


def test_proc_accounting_sees_children():
    proc = subprocess.Popen(["sleep", "5"])
    try:
        assert proc.pid in tree_pids(os.getpid())
        assert cpu_seconds([os.getpid()]) > 0
        assert rss_bytes(os.getpid()) > 1024 * 1024
    finally:
        proc.kill()
        proc.wait(5)


def test_random_ranges_stay_inside_the_file():
    size = 10_000_000
    for header in _random_ranges(size, 500, random.Random(1)):
        spec = header.removeprefix("bytes=")
        first, last = spec.split("-")
        if first == "":
            assert 1 <= int(last) <= 1024 * 1024
        else:
            assert 0 <= int(first) < size
            assert last == "" or int(first) <= int(last) < size


def test_upload_pack_request_is_well_formed_pkt_lines():
    body = _upload_pack_request("a" * 40)
    assert body.startswith(b"0012command=fetch\n")
    assert b"0032want " + b"a" * 40 + b"\n" in body
    assert body.endswith(b"0009done\n0000")


@pytest.mark.skipif(not os.access(NGINX, os.X_OK) or shutil.which("curl") is None, reason="nginx or curl missing")
def test_nginx_baseline_serves_exact_bytes_and_stops(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    random_file(root / "blob", 100_000)
    data = (root / "blob").read_bytes()
    with nginx_server(tmp_path / "nginx", root=root) as nginx:
        port = int(nginx.url.rsplit(":", 1)[1])
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/blob", headers={"Range": "bytes=10-19"})
        response = conn.getresponse()
        assert (response.status, response.read()) == (206, data[10:20])
        conn.request("GET", "/blob")
        assert conn.getresponse().read() == data
        conn.close()
        proc = nginx.proc
    assert proc.poll() is not None
    deadline = time.monotonic() + 5
    with pytest.raises(OSError):
        while time.monotonic() < deadline:
            http.client.HTTPConnection("127.0.0.1", port, timeout=1).request("GET", "/blob")
            time.sleep(0.1)
