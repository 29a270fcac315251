"""Run wrk against a target and read the figures its Lua `done()` prints."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent


@dataclass
class WrkResult:
    """One wrk run: throughput, latency percentiles (ms) and error counts."""

    rps: float
    p50: float
    p95: float
    p99: float
    errors: int
    requests: int


def run_wrk(
    url: str,
    *,
    script: str = "receive.lua",
    connections: int = 16,
    seconds: float = 10,
    threads: int = 2,
    timeout: float = 30,
    env: dict[str, str] | None = None,
) -> WrkResult:
    """Load `url` for `seconds` with `connections` open connections (`env` for the script)."""
    env = dict(os.environ, BENCH_RUN=uuid.uuid4().hex[:10], **(env or {}))
    out = subprocess.run(
        [
            "wrk",
            f"-t{min(threads, connections)}",
            f"-c{connections}",
            f"-d{seconds}s",
            f"--timeout={timeout}s",
            "-s",
            str(HERE / script),
            url,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=seconds + timeout + 60,
        check=True,
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("BENCH "))
    data = json.loads(line[len("BENCH ") :])
    errors = sum(data[k] for k in ("connect", "read", "write", "status", "timeout"))
    return WrkResult(
        rps=data["requests"] / (data["duration_us"] / 1e6),
        p50=data["p50_us"] / 1000,
        p95=data["p95_us"] / 1000,
        p99=data["p99_us"] / 1000,
        errors=errors,
        requests=data["requests"],
    )


def median_result(results: list[WrkResult]) -> WrkResult:
    """The median of each figure over rounds; errors are summed."""
    return WrkResult(
        rps=statistics.median(r.rps for r in results),
        p50=statistics.median(r.p50 for r in results),
        p95=statistics.median(r.p95 for r in results),
        p99=statistics.median(r.p99 for r in results),
        errors=sum(r.errors for r in results),
        requests=sum(r.requests for r in results),
    )
