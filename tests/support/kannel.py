"""Running real Kannel (bearerbox, smsbox) and other processes for end-to-end tests."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import time
from pathlib import Path

BEARERBOX = "/usr/sbin/bearerbox"
SMSBOX = "/usr/sbin/smsbox"
FAKESMSC = "/usr/lib/kannel/test/fakesmsc"


def fill_kannel_conf(
    example: Path, workdir: Path, router_url: str, ports: dict[str, int], secrets: dict[str, str]
) -> str:
    """A docs/ example configuration with this run's ports (admin, smsbox, smsc, sendsms), log
    folder, router URL and secrets (placeholder → value); each port key must occur once."""
    text = example.read_text()
    replacements = {
        "admin-port": str(ports["admin"]),
        "smsbox-port": str(ports["smsbox"]),
        "bearerbox-port": str(ports["smsbox"]),
        "port": str(ports["smsc"]),
        "sendsms-port": str(ports["sendsms"]),
    }
    for key, value in replacements.items():
        text, count = re.subn(rf"(?m)^{key} = .*$", f"{key} = {value}", text)
        assert count == 1, key
    text = text.replace("/var/log/kannel", str(workdir))
    text = text.replace("http://127.0.0.1:8080", router_url)
    for placeholder, value in secrets.items():
        text = text.replace(placeholder, value)
    return text


class Processes:
    """The processes this test started, stopped in reverse order (also on failure)."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.started: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(self, name: str, *command: str) -> subprocess.Popen[bytes]:
        with open(self.workdir / f"{name}.out", "wb") as out:
            proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        self.started.append((name, proc))
        return proc

    def output(self, name: str) -> str:
        return (self.workdir / f"{name}.out").read_text(errors="replace")

    def stop_last(self) -> None:
        _name, proc = self.started.pop()
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def stop(self) -> None:
        for _name, proc in reversed(self.started):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def wait_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port} after {timeout}s")


def wait_until(check, timeout: float = 60, step: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(step)
    return check()
