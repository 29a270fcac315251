"""Receive benchmarks: httprouter /router/receive against the ceilings, and growth."""

from __future__ import annotations

import logging
import statistics
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .ceiling_db import create_table
from .databases import Databases
from .preload import preload
from .servers import Server, start_ceiling, start_router
from .wrk import WrkResult, median_result, run_wrk

log = logging.getLogger(__name__)
ECHO = "httprouter.apps.echo.EchoApp"
# The /router/messages query forms that bench/messages.lua requests in turn.
MESSAGE_FORMS = (
    "/router/messages",
    "/router/messages?direction=I",
    "/router/messages?status=Q",
    "/router/messages?contact=%2B250700000042",
    "/router/messages?backend=kannel&direction=O",
)


@dataclass
class Options:
    """How long and how hard to run."""

    rounds: int = 5
    seconds: float = 10
    connections: int = 16
    many_connections: int = 512
    growth_rows: int = 1_000_000
    drain_messages: int = 20_000
    kinds: tuple[str, ...] = ("sqlite", "postgresql")


@dataclass
class Report:
    """Everything measured, for the table."""

    receive: dict[str, WrkResult] = field(default_factory=dict)
    ratios: dict[str, float] = field(default_factory=dict)
    many: dict[str, WrkResult] = field(default_factory=dict)
    growth: dict[str, dict[str, WrkResult]] = field(default_factory=dict)
    growth_ratio: dict[str, float] = field(default_factory=dict)
    listing: dict[str, dict[str, WrkResult | None]] = field(default_factory=dict)
    forms: dict[str, dict[str, WrkResult]] = field(default_factory=dict)
    preload_seconds: dict[str, float] = field(default_factory=dict)
    rss: dict[str, float] = field(default_factory=dict)
    drains: dict[str, float | str] = field(default_factory=dict)


def interleave(
    servers: dict[str, Server], opts: Options, run: Callable[[Server], WrkResult]
) -> dict[str, list[WrkResult]]:
    """Warm every target up, then run rounds A B C … A B C … and keep each round's result."""
    for server in servers.values():
        run_wrk(server.url + "/router/receive", connections=opts.connections, seconds=2)
    results: dict[str, list[WrkResult]] = {name: [] for name in servers}
    for i in range(opts.rounds):
        for name, server in servers.items():
            results[name].append(run(server))
            log.info("round %d %s: %.0f req/s", i + 1, name, results[name][-1].rps)
    return results


def round_ratio(results: dict[str, list[WrkResult]], top: str, bottom: str) -> float:
    """The median over rounds of top/bottom throughput, each pair from the same round."""
    return statistics.median(
        a.rps / b.rps for a, b in zip(results[top], results[bottom], strict=True)
    )


def bench_receive(report: Report, dbs: Databases, logdir: Path, opts: Options) -> None:
    """ceiling, ceiling-db and httprouter+echo on each database, interleaved."""
    servers: dict[str, Server] = {}
    try:
        servers["ceiling"] = start_ceiling("ceiling", logdir)
        for kind in opts.kinds:
            url = dbs.new(kind, "ceiling", migrate=False)
            create_table(url)
            servers[f"ceiling-db {kind}"] = start_ceiling(f"ceiling-db-{kind}", logdir, url)
            settings = {"DATABASE_URL": dbs.new(kind, "router"), "SMS_APPS": [ECHO]}
            servers[f"httprouter {kind}"] = start_router(f"httprouter-{kind}", logdir, settings)
        results = interleave(
            servers,
            opts,
            lambda s: run_wrk(
                s.url + "/router/receive", connections=opts.connections, seconds=opts.seconds
            ),
        )
        for name, rounds in results.items():
            report.receive[name] = median_result(rounds)
        for kind in opts.kinds:
            report.ratios[f"httprouter {kind} / ceiling-db {kind}"] = round_ratio(
                results, f"httprouter {kind}", f"ceiling-db {kind}"
            )
            report.ratios[f"ceiling-db {kind} / ceiling"] = round_ratio(
                results, f"ceiling-db {kind}", "ceiling"
            )
        for kind in opts.kinds:
            server = servers[f"httprouter {kind}"]
            report.many[server.name] = run_wrk(
                server.url + "/router/receive",
                connections=opts.many_connections,
                seconds=opts.seconds,
            )
        for server in servers.values():
            report.rss[f"gunicorn worker: {server.name}"] = server.worker_peak_rss_mb()
    finally:
        for server in servers.values():
            server.stop()


def has_endpoint(url: str) -> bool:
    """Tell whether a GET of `url` is answered by anything but 404."""
    try:
        urllib.request.urlopen(url, timeout=30).close()
    except urllib.error.HTTPError as exc:
        return exc.code != 404
    return True


def run_messages(server: Server, forms: tuple[str, ...], seconds: float) -> WrkResult:
    """Read the message log at `server` with 4 connections, requesting `forms` in turn."""
    return run_wrk(
        server.url + "/router/messages",
        script="messages.lua",
        connections=4,
        seconds=seconds,
        env={"BENCH_PATHS": " ".join(forms)},
    )


def bench_growth(report: Report, dbs: Databases, logdir: Path, opts: Options) -> None:
    """Receive throughput and /router/messages latency, empty database vs N stored messages."""
    for kind in opts.kinds:
        servers: dict[str, Server] = {}
        try:
            empty = dbs.new(kind, "empty")
            full = dbs.new(kind, "full")
            report.preload_seconds[kind] = preload(full, opts.growth_rows)
            log.info("preloaded %d messages on %s", opts.growth_rows, kind)
            for name, url in (("empty", empty), ("full", full)):
                settings = {"DATABASE_URL": url, "SMS_APPS": [ECHO]}
                servers[name] = start_router(f"growth-{kind}-{name}", logdir, settings)
            results = interleave(
                servers,
                opts,
                lambda s: run_wrk(
                    s.url + "/router/receive", connections=opts.connections, seconds=opts.seconds
                ),
            )
            report.growth[kind] = {name: median_result(r) for name, r in results.items()}
            report.growth_ratio[kind] = round_ratio(results, "full", "empty")
            report.listing[kind] = {}
            for name, server in servers.items():
                found = has_endpoint(server.url + "/router/messages")
                report.listing[kind][name] = (
                    run_messages(server, MESSAGE_FORMS, opts.seconds) if found else None
                )
            if report.listing[kind]["full"] is not None:
                # Each form alone too, to see which one the mix's p95 comes from.
                seconds = max(2, int(opts.seconds) // 2)  # wrk takes whole seconds
                report.forms[kind] = {
                    form: run_messages(servers["full"], (form,), seconds) for form in MESSAGE_FORMS
                }
            for server in servers.values():
                report.rss[f"gunicorn worker: {server.name}"] = server.worker_peak_rss_mb()
        finally:
            for server in servers.values():
                server.stop()
