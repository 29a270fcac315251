"""`httprouter serve`: gunicorn, migrations on start, concurrent workers on SQLite."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import func, select

from httprouter.store.engine import make_engine
from httprouter.store.schema import messages
from tests.support.servers import ServedRouter, free_port


@pytest.fixture
def served(tmp_path, request):
    servers = []

    def start(settings, *args):
        server = ServedRouter(tmp_path, settings, *args)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def test_serve_on_default_sqlite_migrates_and_answers(served, tmp_path):
    server = served({"SMS_APPS": ["httprouter.apps.echo.EchoApp"]})
    r = requests.get(
        server.url + "/router/receive",
        params={"backend": "console", "sender": "+15551234", "message": "ping"},
        timeout=10,
    )
    assert r.status_code == 200
    assert r.json()["responses"][0]["text"] == "pong"
    assert (tmp_path / "httprouter.sqlite3").exists()
    out = server.output()
    assert f"listening on http://127.0.0.1:{server.port}" in out
    assert "httprouter.sqlite3" in out
    assert "alembic" not in out  # no plugin set-up lines, no "Context impl"


def test_replies_to_the_console_simulator_end_delivered_and_status_stays_ok(served):
    """The demo: nothing configured for the simulator's backend, `console`."""
    server = served({"SMS_APPS": ["httprouter.apps.echo.EchoApp"], "STATUS_PENDING_MINUTES": 0.01})
    answer = requests.get(
        server.url + "/router/receive",
        params={"backend": "console", "sender": "+15551234", "message": "ping"},
        timeout=10,
    ).json()
    reply = answer["responses"][0]["id"]
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        detail = requests.get(f"{server.url}/router/messages/{reply}", timeout=10).json()
        found = detail["message"]
        if found["status"] != "Q":
            break
        time.sleep(0.2)
    assert found["status"] == "D", found
    time.sleep(1)  # longer than STATUS_PENDING_MINUTES
    status = requests.get(server.url + "/router/status", timeout=10)
    assert status.text.startswith("STATUS: OK"), status.text


def test_concurrent_workers_on_sqlite_never_report_locked(served, tmp_path):
    server = served(
        {"SMS_APPS": ["httprouter.apps.echo.EchoApp"]}, "--workers", "3", "--threads", "8"
    )

    def hit(i):
        return requests.post(
            server.url + "/router/receive",
            data={"backend": "console", "sender": f"+1555{i:04d}", "message": f"m{i}"},
            timeout=60,
        ).status_code

    with ThreadPoolExecutor(32) as pool:
        codes = list(pool.map(hit, range(400)))
    assert codes.count(200) == 400, {c: codes.count(c) for c in set(codes)}
    engine = make_engine(f"sqlite:///{tmp_path}/httprouter.sqlite3")
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(messages)).scalar() == 800
    engine.dispose()
    assert "database is locked" not in server.output()


def test_bad_app_path_stops_start_up_with_its_name(tmp_path):
    env = {"HTTPROUTER_SMS_APPS": '["no.such.App"]', "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(
        [sys.executable, "-m", "httprouter.ops.cli", "serve", "--port", str(free_port())],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0
    assert "no.such.App" in proc.stdout + proc.stderr


def test_serve_on_a_busy_port_fails_at_once_naming_it_and_starts_nothing(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HTTPROUTER_LOG_FORMAT": "text"}
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        started = time.monotonic()
        proc = subprocess.run(
            [sys.executable, "-m", "httprouter", "serve", "--port", str(port)],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        took = time.monotonic() - started
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert f"port {port} on 127.0.0.1 is in use" in out and "--port" in out, out
    assert len(out.strip().splitlines()) == 1, out  # one line: no "listening", no dispatcher
    assert not (tmp_path / "httprouter.sqlite3").exists()  # nothing migrated either
    assert took < 5, took  # gunicorn alone tries five times, a second apart
