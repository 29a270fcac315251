"""The README's shell commands work exactly as written, in a checkout after its first command.

Each test runs in a folder standing for a fresh clone (its `.venv` is this checkout's), with no
HTTPROUTER_* setting, line by line as the README writes them. Two lines are the suite's own
start and are not run here: the first (make `.venv`, install, serve), whose `serve` the tests
start themselves, and `./scripts/test`, which runs this test.
"""

from __future__ import annotations

import os
import pty
import re
import select
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
PROMPTED = "a long password"


def shell_lines() -> list[str]:
    """Every command of the README's ```sh blocks, in order (continued lines joined)."""
    blocks = re.findall(r"^```sh\n(.*?)^```", README.read_text(), flags=re.M | re.S)
    lines = []
    for block in blocks:
        for line in block.replace("\\\n", " ").splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                lines.append(line)
    return lines


FIRST, *REST = shell_lines()
SUITE = "./scripts/test"
SERVED = [line for line in REST if line.startswith("curl ")]  # need the first command's server
OFFLINE = [line for line in REST if line not in SERVED and line != SUITE]


def test_the_readme_starts_with_install_and_serve_then_the_test_suite():
    assert FIRST.startswith("python3 -m venv .venv && .venv/bin/pip install -e . && ")
    assert FIRST.endswith(".venv/bin/httprouter serve")
    assert REST[0] == SUITE
    for must in ("config check", "user create", "--password-stdin", "user list"):
        assert any(must in line for line in OFFLINE), must


@pytest.fixture
def clone(tmp_path):
    """A folder standing for the checkout after the README's first command."""
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HTTPROUTER_", "PYTHON"))}
    return tmp_path, env


def run(line: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sh", "-c", line], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def run_in_a_terminal(line: str, cwd: Path, env: dict[str, str]) -> tuple[int, str]:
    """Run `line` with a terminal for stdin, answering each password prompt with PROMPTED."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: a shell on the terminal
        try:
            os.chdir(cwd)
            os.execve("/bin/sh", ["sh", "-c", line], env)  # noqa: S606 - the README line, by sh
        finally:
            os._exit(127)
    seen, answered, deadline = b"", 0, time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            if not select.select([fd], [], [], 0.5)[0]:
                continue
            try:
                chunk = os.read(fd, 1024)
            except OSError:  # the shell has ended and closed the terminal
                break
            if not chunk:
                break
            seen += chunk
            if seen.count(b": ") > answered and seen.rstrip().endswith(b":"):
                os.write(fd, PROMPTED.encode() + b"\n")
                answered += 1
    finally:
        os.close(fd)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), seen.decode(errors="replace")


def test_the_readme_commands_run_as_written(clone):
    folder, env = clone
    # What the first command's `serve` does before it listens: make the database here.
    assert run(".venv/bin/httprouter db upgrade", folder, env).returncode == 0
    for line in OFFLINE:
        if "user create" in line and "--password-stdin" not in line:
            code, output = run_in_a_terminal(line, folder, env)
        else:
            proc = run(line, folder, env)
            code, output = proc.returncode, proc.stdout + proc.stderr
        assert code == 0, f"{line}\n{output}"
    listed = run(".venv/bin/httprouter user list", folder, env).stdout
    assert [row.split("\t")[0] for row in listed.splitlines()] == ["alice"]


def test_the_readme_curl_example_answers_and_its_reply_ends_delivered(clone):
    folder, env = clone
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", 8080)) == 0:
            pytest.skip("port 8080, which the README's commands use, is taken on this machine")
    serve = FIRST.rsplit("&& ", 1)[1]  # the first command, once installed: start the service
    server = subprocess.Popen(
        ["sh", "-c", serve],
        cwd=folder,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        ask, *then = SERVED
        for _ in range(100):
            answer = run(ask, folder, env)
            if answer.returncode == 0:
                break
            time.sleep(0.2)
        assert '"text":"pong"' in answer.stdout.replace(" ", ""), answer.stdout + answer.stderr
        for line in then:
            for _ in range(50):
                proc = run(line, folder, env)
                if '"status":"D"' in proc.stdout.replace(" ", ""):
                    break
                time.sleep(0.2)
            assert proc.returncode == 0 and '"status":"D"' in proc.stdout.replace(" ", "")
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # the shell and the service it started
        server.wait(timeout=60)
