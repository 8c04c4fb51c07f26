"""Download of one LFS file through `/resolve/` vs nginx `sendfile` of the same file on disk.

    .venv/bin/python -m bench.download [--size-mb 256] [--ranges 1000] [--slow-clients 6]

Ratios (hub / nginx unless said otherwise), both servers on 127.0.0.1 at the same time,
measured in alternation so page cache and CPU contention are shared:
- download_throughput: full GET with curl, median of rounds (target >= 0.9)
- download_cpu_per_gib: utime+stime of the server processes (gunicorn master + workers;
  the single nginx process) per GiB sent (target <= 1.2)
- download_worker_rss_growth: peak RSS growth of any gunicorn worker while downloading
  (absolute, < 64 MiB whatever the size)
- range_identical: fraction of random ranges whose status, Content-Range and bytes equal
  nginx's (target 1.0)
- range_latency_total / range_latency_p50: time to the last byte of the random ranges over
  keep-alive connections, summed and median (target <= 1.5)
- api_max_latency_under_slow_downloads: max latency of `GET /api/models/{id}` while slow
  clients (curl --limit-rate) stream the file, over the same measured idle (target <= 2)
"""
from __future__ import annotations

import argparse
import http.client
import math
import random
import subprocess
import time
from pathlib import Path

from bench.common import (
    BENCH_USER,
    GiB,
    MiB,
    Report,
    RssPeak,
    child_pids,
    cpu_seconds,
    curl_download,
    hub_server,
    install_deadline,
    median,
    nginx_server,
    percentile,
    random_file,
    seed,
    temp_dir,
    tree_pids,
)
from tests.live import stop_process


def _throughput(report: Report, *, hub_url: str, nginx_url: str, hub_pid: int, nginx_pid: int, size: int,
                rounds: int) -> None:
    timeout = 60 + size / (50 * MiB)
    for url in (hub_url, nginx_url):  # warm the page cache and both code paths
        curl_download(url, timeout=timeout)
    workers = child_pids(hub_pid)
    _parallel_heads(hub_url, 8)  # every worker has served a request before RSS is sampled
    sides = {"hub": (hub_url, tree_pids(hub_pid)), "nginx": (nginx_url, [nginx_pid])}
    seconds: dict[str, list[float]] = {"hub": [], "nginx": []}
    first_byte: dict[str, list[float]] = {"hub": [], "nginx": []}
    cpu: dict[str, float] = {"hub": 0.0, "nginx": 0.0}
    with RssPeak(workers) as rss:
        for r in range(rounds):
            for side in (("hub", "nginx") if r % 2 == 0 else ("nginx", "hub")):
                url, pids = sides[side]
                before = cpu_seconds(pids)
                elapsed, got, ttfb = curl_download(url, timeout=timeout)
                cpu[side] += cpu_seconds(pids) - before
                if got != size:
                    raise RuntimeError(f"{side} sent {got} bytes, expected {size}")
                seconds[side].append(elapsed)
                first_byte[side].append(ttfb)
    hub_tput = size / median(seconds["hub"])
    nginx_tput = size / median(seconds["nginx"])
    report.ratio("download_throughput", hub_tput / nginx_tput, target=0.9, higher_is_better=True)
    ttfb = {side: median(values) * 1e3 for side, values in first_byte.items()}
    report.info("throughput", f"hub {hub_tput / MiB:.0f} MiB/s, nginx {nginx_tput / MiB:.0f} MiB/s "
                              f"(median of {rounds} x {size // MiB} MiB); first byte after hub "
                              f"{ttfb['hub']:.1f} ms, nginx {ttfb['nginx']:.1f} ms")
    gib = rounds * size / GiB
    hub_cpu, nginx_cpu = cpu["hub"] / gib, cpu["nginx"] / gib
    # /proc counts in clock ticks (10 ms): a floor keeps the ratio finite when nginx is idle-cheap.
    report.ratio("download_cpu_per_gib", hub_cpu / max(nginx_cpu, 0.01), target=1.2, higher_is_better=False)
    report.info("cpu_per_gib", f"hub {hub_cpu:.3f} s, nginx {nginx_cpu:.3f} s")
    report.limit("download_worker_rss_growth", rss.growth() / MiB, below=64, unit="MiB")


def _parallel_heads(url: str, n: int) -> None:
    procs = [subprocess.Popen(["curl", "-sS", "-I", "-o", "/dev/null", "--max-time", "20", url])
             for _ in range(n)]
    for proc in procs:
        proc.wait(30)


def _random_ranges(size: int, count: int, rng: random.Random) -> list[str]:
    """Mostly `start-end` ranges with log-uniform lengths from 1 B to 16 MiB (from a
    safetensors header read to a tensor slice), plus suffix and open-ended ranges near the end."""
    ranges = []
    for _ in range(count):
        kind = rng.random()
        if kind < 0.05:
            ranges.append(f"bytes=-{int(math.exp(rng.uniform(0, math.log(MiB))))}")
        elif kind < 0.10:
            ranges.append(f"bytes={rng.randrange(max(0, size - 4 * MiB), size)}-")
        else:
            start = rng.randrange(size)
            length = int(math.exp(rng.uniform(0, math.log(16 * MiB))))
            ranges.append(f"bytes={start}-{min(size - 1, start + length - 1)}")
    return ranges


def _get(conn: http.client.HTTPConnection, path: str, headers: dict[str, str]
         ) -> tuple[float, int, str | None, bytes]:
    start = time.perf_counter()
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    body = response.read()
    return time.perf_counter() - start, response.status, response.getheader("Content-Range"), body


def _ranges(report: Report, *, hub_port: int, hub_path: str, nginx_port: int, nginx_path: str, size: int,
            count: int) -> None:
    hub = http.client.HTTPConnection("127.0.0.1", hub_port, timeout=30)
    nginx = http.client.HTTPConnection("127.0.0.1", nginx_port, timeout=30)
    times: dict[str, list[float]] = {"hub": [], "nginx": []}
    identical = 0
    sent = 0
    try:
        for i, header in enumerate(_random_ranges(size, count, random.Random(1234))):
            order = ("hub", "nginx") if i % 2 == 0 else ("nginx", "hub")
            answers = {}
            for side in order:
                conn, path = (hub, hub_path) if side == "hub" else (nginx, nginx_path)
                elapsed, status, content_range, body = _get(conn, path, {"Range": header})
                times[side].append(elapsed)
                answers[side] = (status, content_range, body)
            identical += answers["hub"] == answers["nginx"] and answers["hub"][0] == 206
            sent += len(answers["nginx"][2])
    finally:
        hub.close()
        nginx.close()
    report.ratio("range_identical", identical / count, target=1.0, higher_is_better=True)
    report.ratio("range_latency_total", sum(times["hub"]) / sum(times["nginx"]), target=1.5, higher_is_better=False)
    report.ratio("range_latency_p50", median(times["hub"]) / median(times["nginx"]), target=1.5,
                 higher_is_better=False)
    ms = {side: (median(values) * 1e3, percentile(values, 0.9) * 1e3) for side, values in times.items()}
    report.info("ranges", f"{count} ranges, {sent / MiB:.0f} MiB; p50/p90 hub "
                          f"{ms['hub'][0]:.2f}/{ms['hub'][1]:.2f} ms, "
                          f"nginx {ms['nginx'][0]:.2f}/{ms['nginx'][1]:.2f} ms; total hub {sum(times['hub']):.2f} s, "
                          f"nginx {sum(times['nginx']):.2f} s")


def _api_latencies(port: int, path: str, n: int) -> list[float]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    out = []
    try:
        for _ in range(n):
            elapsed, status, _r, _b = _get(conn, path, {})
            if status != 200:
                raise RuntimeError(f"GET {path} answered {status}")
            out.append(elapsed)
    finally:
        conn.close()
    return out


def _slow_clients(report: Report, *, hub_port: int, api_path: str, file_url: str, clients: int, rate: str,
                  samples: int) -> None:
    _api_latencies(hub_port, api_path, 20)  # warm-up
    idle = _api_latencies(hub_port, api_path, samples)
    procs = [subprocess.Popen(["curl", "-sS", "-o", "/dev/null", "--limit-rate", rate, "--max-time", "120", file_url],
                              start_new_session=True) for _ in range(clients)]
    try:
        time.sleep(1.0)  # the downloads are streaming before the first API request
        loaded = _api_latencies(hub_port, api_path, samples)
        still_running = sum(proc.poll() is None for proc in procs)
    finally:
        for proc in procs:
            stop_process(proc, timeout=5)
    if still_running != clients:
        raise RuntimeError(f"only {still_running}/{clients} slow downloads lasted the whole measurement")
    report.ratio("api_max_latency_under_slow_downloads", max(loaded) / max(idle), target=2.0, higher_is_better=False)
    report.info("api_latency", f"{clients} clients at {rate}/s; idle p50 {median(idle) * 1e3:.1f} ms "
                               f"max {max(idle) * 1e3:.1f} ms; loaded p50 {median(loaded) * 1e3:.1f} ms "
                               f"max {max(loaded) * 1e3:.1f} ms; loaded p95/idle p95 "
                               f"{percentile(loaded, 0.95) / percentile(idle, 0.95):.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--ranges", type=int, default=1000)
    parser.add_argument("--slow-clients", type=int, default=6)
    parser.add_argument("--slow-rate", default="1M", help="curl --limit-rate of each slow client")
    parser.add_argument("--api-samples", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=int, default=0, help="overall time budget in seconds")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    size = args.size_mb * MiB
    install_deadline(args.timeout or int(240 + args.size_mb * 0.4))
    report = Report(f"download: {args.size_mb} MiB LFS file, /resolve/ vs nginx sendfile")
    with temp_dir("bench-download-") as tmp:
        local = tmp / "model.bin"
        oid = random_file(local, size)
        with hub_server(tmp / "hub", workers=args.workers) as (hub, proc):
            seeded = seed(hub, username=BENCH_USER, namespace=BENCH_USER, name="download-bench",
                          lfs={"model.bin": [str(local), oid, size]}, files={"config.json": '{"model_type": "x"}'})
            local.unlink()  # the LFS object is now the one copy on disk, served by both servers
            object_rel = f"{oid[:2]}/{oid[2:4]}/{oid}"
            if not (Path(hub.data_dir) / "lfs" / object_rel).is_file():
                raise RuntimeError("the LFS object is not where nginx will look for it")
            with nginx_server(tmp / "nginx", root=Path(hub.data_dir) / "lfs") as nginx:
                hub_path = f"/{seeded['repo_id']}/resolve/main/model.bin"
                nginx_path = f"/{object_rel}"
                _throughput(report, hub_url=hub.url + hub_path, nginx_url=nginx.url + nginx_path, hub_pid=proc.pid,
                            nginx_pid=nginx.proc.pid, size=size, rounds=args.rounds)
                _ranges(report, hub_port=hub.port, hub_path=hub_path, nginx_port=int(nginx.url.rsplit(":", 1)[1]),
                        nginx_path=nginx_path, size=size, count=args.ranges)
                _slow_clients(report, hub_port=hub.port, api_path=f"/api/models/{seeded['repo_id']}",
                              file_url=hub.url + hub_path, clients=args.slow_clients, rate=args.slow_rate,
                              samples=args.api_samples)
    return report.summary(strict=args.strict)


if __name__ == "__main__":
    raise SystemExit(main())
