"""Start a real `httprouter serve` (gunicorn) in a subprocess for end-to-end tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests

REPO_ROOT = str(Path(__file__).resolve().parents[2])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServedRouter:
    """`httprouter serve` on a free loopback port, with settings passed as HTTPROUTER_* env."""

    def __init__(
        self, workdir: Path, settings: dict[str, Any], *args: str, port: int | None = None
    ) -> None:
        """`port` lets a test know the URL first (to put it in PUBLIC_URL or a gateway)."""
        import json

        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("HTTPROUTER_")}
        # Let the served process import test apps (tests.support.apps) as the test run does.
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [REPO_ROOT, env.get("PYTHONPATH")]))
        for key, value in settings.items():
            env[f"HTTPROUTER_{key}"] = value if isinstance(value, str) else json.dumps(value)
        self.log_path = workdir / "serve.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "httprouter.ops.cli", "serve", "--port", str(self.port), *args],
            cwd=workdir,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"serve exited early:\n{self.output()}")
            try:
                requests.get(self.url + "/router/receive", timeout=10)
                return
            except requests.RequestException:
                time.sleep(0.1)
        raise RuntimeError(f"serve did not answer within {timeout}s:\n{self.output()}")

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if not self._log.closed:
            self._log.close()
