"""API latency while slow clients attack the hub, against the same hub idle (issue 9 item 5).

    .venv/bin/python -m bench.slow_clients [--headers 40] [--small-bodies 10] [--large-bodies 10]
        [--interval 2] [--samples 100] [--rounds 2] [--no-stock]

The attack (tests/ops/slow_clients.py, loopback only, bounded in connections and time): sockets
that send a request head one header line every `--interval` seconds and never finish it, and
POSTs to /api/validate-yaml (which reads its body) whose bodies - 16 KiB (read by the event loop)
and 1 MiB (streamed in a thread) - arrive one byte per interval. More connections than the hub
has threads (2 workers x 16).

Rounds alternate idle / under attack on the same hub (so page cache and CPU contention are
shared); each takes `--samples` requests of `GET /api/models/{id}`, one new connection each,
20 ms apart. Ratios:
- api_max_latency_under_slow_clients: max latency under attack / max idle (target <= 2)
- api_p95_latency_under_slow_clients: the same for the 95th percentile (no target)
With the stock gthread worker (HUB_SLOW_CLIENT_GUARD=0, a second hub, unless --no-stock) the
same attack is run once more and how many of a few requests time out is reported: the
"before" of this change.
"""
from __future__ import annotations

import argparse
import http.client
import time

from bench.common import BENCH_USER, Report, hub_server, install_deadline, median, percentile, seed, temp_dir
from tests.ops.slow_clients import SlowClients

SPACING_S = 0.02
STOCK_TIMEOUT_S = 5.0


def _latency(port: int, path: str, timeout: float) -> float | None:
    """Seconds to the last byte of one GET on a new connection; None on timeout."""
    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"GET {path} answered {response.status}")
    except TimeoutError:
        return None
    finally:
        conn.close()
    return time.monotonic() - started


def _samples(port: int, path: str, n: int, timeout: float = 30.0) -> list[float | None]:
    out = []
    for _ in range(n):
        out.append(_latency(port, path, timeout))
        time.sleep(SPACING_S)
    return out


def _attack(port: int, args: argparse.Namespace) -> SlowClients:
    return SlowClients(port, headers=args.headers, small_bodies=args.small_bodies, large_bodies=args.large_bodies,
                       interval=args.interval, duration=args.interval * 10 + 60)


def _measure(report: Report, port: int, path: str, args: argparse.Namespace) -> None:
    _samples(port, path, 20)  # warm-up
    idle: list[float] = []
    attacked: list[float] = []
    open_at_end: list[int] = []
    answers: dict[str, int] = {}
    for _round in range(args.rounds):
        got = _samples(port, path, args.samples)
        idle += [s for s in got if s is not None]
        with _attack(port, args) as attack:
            total = attack.open_count()
            attack.wait_ticks(1, args.interval * 3 + 10)  # the trickle is under way
            got = _samples(port, path, args.samples)
            open_at_end.append(attack.open_count())
            for status, count in attack.snapshot().items():
                if not status.startswith("open "):
                    answers[status] = answers.get(status, 0) + count
        if None in got:
            raise RuntimeError("an API request timed out under attack")
        attacked += [s for s in got if s is not None]
    report.ratio("api_max_latency_under_slow_clients", max(attacked) / max(idle), target=2.0,
                 higher_is_better=False)
    report.note("api_p95_latency_under_slow_clients", percentile(attacked, 0.95) / percentile(idle, 0.95),
                what="p95 under attack / p95 idle")
    report.info("latency", f"idle p50 {median(idle) * 1e3:.1f} ms max {max(idle) * 1e3:.1f} ms; under attack "
                           f"p50 {median(attacked) * 1e3:.1f} ms max {max(attacked) * 1e3:.1f} ms "
                           f"({args.rounds} x {args.samples} requests each)")
    report.info("attack", f"{total} connections ({args.headers} slow heads, {args.small_bodies} + "
                          f"{args.large_bodies} slow bodies, one line/byte every {args.interval:g} s); still open "
                          f"after each measurement: {open_at_end}; answers the attackers got: {answers or 'none'}")


def _stock(report: Report, tmp, path_of, args: argparse.Namespace) -> None:
    with hub_server(tmp, extra_env={"HUB_SLOW_CLIENT_GUARD": "0", "HUB_ACCESS_LOG": ""}) as (hub, _proc):
        path = path_of(hub)
        _samples(hub.port, path, 20)  # warm-up
        idle = _samples(hub.port, path, 5)
        with _attack(hub.port, args) as attack:
            attack.wait_ticks(1, args.interval * 3 + 10)
            got = [_latency(hub.port, path, STOCK_TIMEOUT_S) for _ in range(5)]
    timed_out = got.count(None)
    answered = [s for s in got if s is not None]
    report.info("stock_gthread", f"same attack, stock gthread worker: {timed_out}/5 API requests timed out after "
                                 f"{STOCK_TIMEOUT_S:g} s" + (f", max answered {max(answered) * 1e3:.0f} ms"
                                                             if answered else "")
                + f" (idle max {max(s for s in idle if s is not None) * 1e3:.1f} ms)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--headers", type=int, default=40, help="slow-header connections")
    parser.add_argument("--small-bodies", type=int, default=10, help="slow 16 KiB bodies")
    parser.add_argument("--large-bodies", type=int, default=10, help="slow 1 MiB bodies")
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between two lines/bytes")
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--no-stock", action="store_true", help="skip the stock gthread comparison")
    parser.add_argument("--timeout", type=int, default=300, help="overall time budget in seconds")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    install_deadline(args.timeout)
    report = Report("slow clients: API latency under a slow-header/slow-body attack vs idle")

    def path_of(hub) -> str:
        seeded = seed(hub, username=BENCH_USER, namespace=BENCH_USER, name="slow-bench",
                      files={"config.json": '{"model_type": "x"}'})
        return f"/api/models/{seeded['repo_id']}"

    with temp_dir("bench-slow-") as tmp:
        with hub_server(tmp / "hub", extra_env={"HUB_ACCESS_LOG": ""}) as (hub, _proc):
            _measure(report, hub.port, path_of(hub), args)
        if not args.no_stock:
            _stock(report, tmp / "stock", path_of, args)
    return report.summary(strict=args.strict)


if __name__ == "__main__":
    raise SystemExit(main())
