"""bench.crypto_xet runs end to end on tiny files with the real hf_xet client and prints each
of its ratios (the targets are measured by running the script, never asserted in tests)."""
from __future__ import annotations

import pytest

import bench.crypto_xet as script

pytestmark = pytest.mark.live


def test_crypto_xet_bench_prints_every_ratio(monkeypatch, capsys):
    monkeypatch.setattr(script, "install_deadline", lambda seconds: None)  # no SIGALRM in the test process
    assert script.main(["--size-mb", "1", "--rounds", "1", "--workers", "1"]) == 0
    out = capsys.readouterr().out
    for name in ("encrypted_xet_upload_time", "encrypted_xet_download_throughput"):
        assert f"\n{name}: " in out, out
    assert "identical bytes" in out and "# targets met:" in out
