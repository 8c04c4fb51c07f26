"""The encryption bench script runs end to end on a tiny object (no timing is asserted)."""
from __future__ import annotations

import bench.crypto_object as script


def test_crypto_bench_prints_every_line(monkeypatch, capsys):
    monkeypatch.setattr(script, "install_deadline", lambda seconds: None)  # no SIGALRM in the test process
    assert script.main(["--size-mb", "1", "--rounds", "1", "--ranges", "3", "--range-kb", "256"]) == 0
    out = capsys.readouterr().out
    for name in ("encrypt_write_time", "decrypt_read_throughput", "range_latency_p50", "range_latency_total",
                 "decrypt_read_throughput_cold", "range_latency_p50_cold"):
        assert f"\n{name}: " in out
    assert out.rstrip().splitlines()[-1].startswith("# targets met: ")
