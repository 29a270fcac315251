"""Drain benchmarks: push (httprouter worker → a loopback gateway answering 202) and the outbox
(4 pollers taking limit=100 and acknowledging)."""

from __future__ import annotations

import json
import logging
import multiprocessing
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import func, select

from httprouter import build_router
from httprouter.config import load_config
from httprouter.domain.statuses import SENT
from httprouter.store.engine import make_engine
from httprouter.store.schema import messages

from .databases import Databases
from .receive import Options, Report, has_endpoint
from .servers import (
    PYTHON,
    ROOT,
    Process,
    children,
    free_port,
    peak_rss_mb,
    router_env,
    start_router,
)

log = logging.getLogger(__name__)
DRAIN_TIMEOUT = 600


def queue(settings: dict[str, Any], backend: str, n: int) -> None:
    """Queue `n` outbound messages on `backend` through the router's own send()."""
    router = build_router(load_config(settings))
    try:
        for start in range(0, n, 1000):
            recipients = [(backend, f"+2507{i:08d}") for i in range(start, min(n, start + 1000))]
            router.send("benchmark message", recipients)
    finally:
        router.engine.dispose()


def count_sent(url: str) -> int:
    """How many messages are sent (or further)."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(
                    select(func.count()).select_from(messages).where(messages.c.status == SENT)
                ).scalar_one()
            )
    finally:
        engine.dispose()


def worker_available() -> bool:
    """Tell whether this checkout has the `httprouter worker` command."""
    probe = [PYTHON, "-m", "httprouter.ops.cli", "worker", "--help"]
    return subprocess.run(probe, cwd=ROOT, capture_output=True).returncode == 0


def gateway_stats(port: int) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/stats", timeout=10) as answer:
        return json.loads(answer.read())


def bench_push(report: Report, dbs: Databases, logdir: Path, opts: Options) -> None:
    """One worker on each database, then 4 workers on PostgreSQL."""
    if not worker_available():
        report.drains["push"] = "not run: no `httprouter worker` command in this checkout"
        return
    runs = [(kind, 1) for kind in opts.kinds]
    if "postgresql" in opts.kinds:
        runs.append(("postgresql", 4))
    for kind, workers in runs:
        label = f"push, {workers} worker{'s' if workers > 1 else ''} {kind}"
        port = free_port()
        gateway = Process(
            f"gateway-{kind}-{workers}",
            [PYTHON, "-m", "bench.gateway", str(port)],
            router_env({}),
            logdir,
        )
        procs: list[Process] = []
        try:
            url = dbs.new(kind, f"push{workers}")
            template = f"http://127.0.0.1:{port}/cgi-bin/sendsms?to=%(recipient)s&text=%(text)s"
            settings = {"DATABASE_URL": url, "ROUTER_URL": template, "SMS_APPS": []}
            queue(settings, "bench-push", opts.drain_messages)
            time.sleep(1)  # the gateway is up by now
            procs = [
                Process(
                    f"worker-{kind}-{workers}-{i}",
                    [PYTHON, "-m", "httprouter.ops.cli", "worker"],
                    router_env(settings),
                    logdir,
                )
                for i in range(workers)
            ]
            deadline = time.monotonic() + DRAIN_TIMEOUT
            while count_sent(url) < opts.drain_messages and time.monotonic() < deadline:
                if not all(p.alive() for p in procs):
                    raise RuntimeError(f"a worker exited; see {logdir}")
                time.sleep(0.5)
            stats = gateway_stats(port)
            sent = count_sent(url)
            window = stats["last"] - stats["first"]
            report.drains[label] = sent / window if window > 0 else 0.0
            if sent < opts.drain_messages:
                report.drains[label] = f"only {sent} of {opts.drain_messages} sent in time"
            report.rss[f"dispatcher: {label}"] = max(
                max([p.peak_rss_mb()] + [peak_rss_mb(c) for c in children(p.pid)]) for p in procs
            )
        finally:
            for p in procs:
                p.stop()
            gateway.stop()


def poll_outbox(base: str) -> tuple[int, float, float]:
    """One poller: take up to 100, acknowledge them as sent; return (count, first poll time,
    last ack time)."""
    session = requests.Session()
    acked, empty, last = 0, 0, 0.0
    first = time.time()
    while empty < 3:
        answer = session.get(base + "/router/outbox?backend=bench-pull&limit=100", timeout=60)
        answer.raise_for_status()
        batch = answer.json()["outbox"]
        if not batch:
            empty += 1
            time.sleep(0.2)
            continue
        empty = 0
        ack = session.post(
            base + "/router/delivered",
            json=[{"message_id": m["id"], "status": "sent"} for m in batch],
            timeout=60,
        )
        ack.raise_for_status()
        acked += len(batch)
        last = time.time()
    return acked, first, last


def bench_outbox(report: Report, dbs: Databases, logdir: Path, opts: Options) -> None:
    """4 pollers drain the outbox on each database."""
    for kind in opts.kinds:
        label = f"outbox, 4 pollers {kind}"
        url = dbs.new(kind, "outbox")
        settings = {"DATABASE_URL": url, "SMS_APPS": []}
        server = start_router(f"outbox-{kind}", logdir, settings)
        try:
            if not has_endpoint(server.url + "/router/outbox"):
                report.drains["outbox"] = "not run: no /router/outbox in this checkout"
                return
            queue(settings, "bench-pull", opts.drain_messages)
            started = time.time()
            with multiprocessing.get_context("spawn").Pool(4) as pool:
                results = pool.map(poll_outbox, [server.url] * 4)
            sent = count_sent(url)
            # Counted from the first poll to the last acknowledgement, as the push drain counts
            # from the gateway's first accepted message: the 4 poller processes' own start-up
            # (spawn: each imports the benchmark and httprouter) is not the router's drain.
            first = min(first for _, first, _ in results)
            elapsed = max(last for _, _, last in results) - first
            log.info("%s: first poll %.1f s after the pollers were started", label, first - started)
            report.drains[label] = (
                sent / elapsed
                if sent >= opts.drain_messages and elapsed > 0
                else f"only {sent} of {opts.drain_messages} acknowledged"
            )
            report.rss[f"gunicorn worker: {server.name}"] = server.worker_peak_rss_mb()
        finally:
            server.stop()
