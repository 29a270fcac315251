"""Start and stop the benchmark targets, all under gunicorn with the same settings."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
WORKERS = 2
THREADS = 8
# What `httprouter serve` sets; the ceilings get exactly the same.
GUNICORN_ARGS = [
    f"--workers={WORKERS}",
    "--worker-class=gthread",
    f"--threads={THREADS}",
    "--timeout=60",
    "--graceful-timeout=30",
    "--error-logfile=-",
]


def free_port() -> int:
    """A free loopback port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def peak_rss_mb(pid: int) -> float:
    """The peak resident set size (VmHWM) of a process, in MB; 0 if it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def cmdline(pid: int) -> bytes:
    """The command line of a process (empty if it is gone)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def children(pid: int) -> list[int]:
    """The direct children of a process."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


class Process:
    """A process group started for the benchmark, with its output in a log file."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], logdir: Path) -> None:
        self.name = name
        self.log_path = logdir / f"{name}.log"
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def peak_rss_mb(self) -> float:
        """Peak RSS of this process."""
        return peak_rss_mb(self.pid)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.pid, signal.SIGKILL)
                self.process.wait()
        self._log.close()


class Server(Process):
    """A gunicorn-served target on a free loopback port."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], logdir: Path, port: int):
        super().__init__(name, argv, env, logdir)
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.wait_ready()

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"{self.name} exited:\n{self.log_path.read_text()[-3000:]}")
            try:
                urllib.request.urlopen(self.url + "/router/receive", timeout=2).close()
                return
            except urllib.error.HTTPError:
                return  # it answers (400: parameters missing)
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{self.name} did not answer within {timeout}s")

    def worker_peak_rss_mb(self) -> float:
        """The largest peak RSS among the gunicorn workers.

        `httprouter serve` also starts its embedded dispatcher as a child; gunicorn's workers are
        forks of the arbiter, with its command line.
        """
        workers = [pid for pid in children(self.pid) if cmdline(pid) == cmdline(self.pid)]
        return max((peak_rss_mb(pid) for pid in workers), default=0.0)


def base_env(**extra: str) -> dict[str, str]:
    """The environment for a target: ours without HTTPROUTER_* settings, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HTTPROUTER_")}
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra)
    return env


def start_ceiling(name: str, logdir: Path, database_url: str | None = None) -> Server:
    """The bare Flask ceiling, or with `database_url` the ceiling-db."""
    port = free_port()
    module = "bench.ceiling:app" if database_url is None else "bench.ceiling_db:app"
    env = base_env(BENCH_CEILING_DB=database_url or "")
    argv = [PYTHON, "-m", "gunicorn", f"--bind=127.0.0.1:{port}", *GUNICORN_ARGS, module]
    return Server(name, argv, env, logdir, port)


def router_env(settings: dict[str, Any]) -> dict[str, str]:
    """HTTPROUTER_* variables for `settings`."""
    return base_env(
        **{
            f"HTTPROUTER_{k}": v if isinstance(v, str) else json.dumps(v)
            for k, v in settings.items()
        }
    )


def start_router(name: str, logdir: Path, settings: dict[str, Any]) -> Server:
    """`httprouter serve` with the shared gunicorn settings."""
    port = free_port()
    argv = [
        PYTHON,
        "-m",
        "httprouter.ops.cli",
        "serve",
        "--host=127.0.0.1",
        f"--port={port}",
        f"--workers={WORKERS}",
        f"--threads={THREADS}",
    ]
    return Server(name, argv, router_env(settings), logdir, port)
