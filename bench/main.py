"""`bench/run`: every benchmark, one table. See bench/README.md."""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import shutil
import sqlite3
import subprocess
import tempfile
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from .databases import Databases
from .drains import bench_outbox, bench_push
from .receive import Options, Report, bench_growth, bench_receive
from .servers import THREADS, WORKERS
from .table import render

PARTS = {
    "receive": bench_receive,
    "growth": bench_growth,
    "push": bench_push,
    "outbox": bench_outbox,
}


def machine() -> str:
    """One line about the machine the figures come from."""
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next((x.split(":", 1)[1].strip() for x in cpuinfo if x.startswith("model name")), "?")
    mem_gb = int(Path("/proc/meminfo").read_text().split()[1]) / 1024 / 1024
    pg = subprocess.run(["psql", "--version"], capture_output=True, text=True).stdout.strip()
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout.split()[1]
    return (
        f"{cpu}, {os.cpu_count()} cores, {mem_gb:.0f} GB; {platform.platform()}; "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, {pg}, wrk {wrk}; "
        f"load average at start {os.getloadavg()[0]:.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench/run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="2 rounds of 4 s, smaller data")
    parser.add_argument("--only", help=f"comma-separated parts: {', '.join(PARTS)}")
    parser.add_argument("--db", help="comma-separated: sqlite, postgresql (default both)")
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--seconds", type=float)
    parser.add_argument("--growth-rows", type=int)
    parser.add_argument("--keep", action="store_true", help="keep the run folder (logs, files)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    opts = Options()
    if args.quick:
        opts = Options(rounds=2, seconds=4, growth_rows=100_000, drain_messages=2_000)
    opts.rounds = args.rounds or opts.rounds
    opts.seconds = args.seconds or opts.seconds
    opts.growth_rows = args.growth_rows or opts.growth_rows
    if args.db:
        opts.kinds = tuple(args.db.split(","))
    parts = args.only.split(",") if args.only else list(PARTS)

    folder = Path(tempfile.mkdtemp(prefix="httprouter-bench-"))
    dbs = Databases(folder)
    report = Report()
    started = datetime.now(UTC)
    header = machine()
    try:
        for part in parts:
            logging.info("running %s", part)
            try:
                PARTS[part](report, dbs, folder, opts)
            except Exception as exc:  # report what ran; the logs in the run folder say more
                logging.exception("%s failed", part)
                report.drains[f"{part} failed"] = f"{type(exc).__name__}: {exc}"[:200]
    finally:
        dbs.drop_all()
        (folder / "report.json").write_text(json.dumps(asdict(report), indent=1, default=str))
        if args.keep:
            logging.info("run folder kept: %s", folder)
        else:
            shutil.rmtree(folder, ignore_errors=True)
    print(f"date: {started:%Y-%m-%d %H:%M} UTC; took {datetime.now(UTC) - started}")
    print(f"machine: {header}")
    print(
        f"settings: gunicorn gthread, {WORKERS} workers x {THREADS} threads for every target; "
        f"{opts.rounds} interleaved rounds of {opts.seconds:g} s, wrk 2 threads, "
        f"{opts.connections} connections; growth preload {opts.growth_rows:,} messages"
    )
    print()
    print(render(report, opts))


if __name__ == "__main__":
    main()
