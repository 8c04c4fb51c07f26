"""bench.crypto runs end to end on a tiny file and prints each of its ratios (the targets
themselves are measured by running the script, never asserted in tests)."""
from __future__ import annotations

import pytest

import bench.crypto as script

pytestmark = pytest.mark.live


def test_crypto_bench_prints_every_ratio(monkeypatch, capsys):
    monkeypatch.setattr(script, "install_deadline", lambda seconds: None)  # no SIGALRM in the test process
    assert script.main(["--size-mb", "2", "--rounds", "1", "--ranges", "4", "--workers", "1"]) == 0
    out = capsys.readouterr().out
    for name in ("encrypted_upload_time", "encrypted_download_throughput", "encrypted_download_throughput_cold",
                 "encrypted_range_latency"):
        assert f"\n{name}: " in out, out
    assert "identical bytes" in out and "# targets met:" in out
