"""The dispatcher as people run it: embedded in `httprouter serve`, `worker` under SIGTERM,
and `httprouter resend`."""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import time

import pytest
import requests
from click.testing import CliRunner
from sqlalchemy import select

from httprouter.ops.cli import main
from httprouter.store.engine import make_engine
from httprouter.store.schema import delivery_attempts, messages

from ..support.gateway import TEMPLATE, Answer
from ..support.servers import ServedRouter, free_port

ECHO = "httprouter.apps.echo.EchoApp"


def env_for(settings):
    env = {k: v for k, v in os.environ.items() if not k.startswith("HTTPROUTER_")}
    for key, value in settings.items():
        env[f"HTTPROUTER_{key}"] = value if isinstance(value, str) else json.dumps(value)
    return env


def test_serve_pushes_replies_through_its_embedded_dispatcher(tmp_path, gateway):
    gw = gateway()
    server = ServedRouter(tmp_path, {"SMS_APPS": [ECHO], "ROUTER_URL": gw.url + TEMPLATE})
    latencies = []
    try:
        for i in range(20):
            time.sleep(0.2)  # the dispatcher is idle again
            sent_at = time.monotonic()
            r = requests.get(
                server.url + "/router/receive",
                params={"backend": "kannel", "sender": "+255700", "message": f"echo n{i} ñ €"},
                timeout=30,
            )
            assert r.status_code == 200
            assert gw.wait_for(i + 1, timeout=60), server.output()
            latencies.append(gw.seen[i].at - sent_at)
    finally:
        server.stop()
    assert [s.query["text"] for s in gw.seen] == [f"n{i} ñ €" for i in range(20)]
    engine = make_engine(f"sqlite:///{tmp_path}/httprouter.sqlite3")
    with engine.connect() as conn:
        statuses = conn.execute(select(messages.c.status).where(messages.c.direction == "O"))
        assert {s for (s,) in statuses} == {"S"}
        # the dispatcher released every claim when serve stopped
        assert (
            conn.execute(select(messages.c.id).where(messages.c.lease_owner.is_not(None))).all()
            == []
        )
    engine.dispose()
    latencies.sort()
    sys.stderr.write(
        f"\nreceive→gateway (SQLite, idle embedded dispatcher): median "
        f"{statistics.median(latencies) * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms\n"
    )


def test_embedded_dispatcher_can_be_switched_off(tmp_path, gateway):
    gw = gateway()
    server = ServedRouter(
        tmp_path,
        {"SMS_APPS": [ECHO], "ROUTER_URL": gw.url + TEMPLATE, "EMBEDDED_DISPATCHER": False},
    )
    try:
        r = requests.get(
            server.url + "/router/receive",
            params={"backend": "k", "sender": "+255700", "message": "ping"},
            timeout=30,
        )
        assert r.json()["responses"][0]["status"] == "Q"
        assert not gw.wait_for(1, timeout=3)
    finally:
        server.stop()
    assert "dispatcher: embedded" not in server.output()


def test_sigterm_finishes_sends_in_flight_and_releases_the_rest(db_url, tmp_path, gateway):
    from httprouter import build_router
    from httprouter.config import load_config

    gw = gateway(default=Answer(delay=2))
    settings = {"DATABASE_URL": db_url, "ROUTER_URL": gw.url + TEMPLATE, "LOG_LEVEL": "WARNING"}
    router = build_router(load_config(settings, environ={}))
    try:
        ids = [m.id for m in router.send("hi", [("k", f"+1555{i:04d}") for i in range(10)])]
        with open(tmp_path / "worker.log", "wb") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "httprouter.ops.cli", "worker", "--concurrency", "2"],
                env=env_for(settings),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            assert gw.wait_for(2, timeout=60)
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=60) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
        with router.engine.connect() as conn:
            rows = {r.id: r for r in conn.execute(select(messages).where(messages.c.id.in_(ids)))}
            tried = conn.execute(select(delivery_attempts.c.message_id)).scalars().all()
    finally:
        router.engine.dispose()
    pushed = {int(s.query["id"]) for s in gw.seen}
    # every send the gateway got was finished and recorded as sent; the rest wait, unclaimed
    assert set(tried) == pushed
    assert {i for i, r in rows.items() if r.status == "S"} == pushed
    assert all(
        r.status == "Q" and r.lease_owner is None for i, r in rows.items() if i not in pushed
    )
    assert len(pushed) < 10


@pytest.fixture
def restore_logging():
    """The CLI configures the root logger; give later tests theirs back."""
    import logging

    root = logging.getLogger()
    level, handlers, factory = root.level, list(root.handlers), logging.getLogRecordFactory()
    yield
    root.setLevel(level)
    root.handlers[:] = handlers
    logging.setLogRecordFactory(factory)


def test_resend_queues_failed_messages_again(make_app, gateway, monkeypatch, restore_logging):
    from httprouter.delivery.dispatcher import Dispatcher

    gw = gateway([Answer(403, "Not routable. Do not try again.")] * 2)
    app = make_app(ROUTER_URL=gw.url + TEMPLATE)
    router = app.extensions["httprouter"]
    a = router.send("one", [("k", "+1555")])[0].id
    b = router.send("two", [("other", "+1555")])[0].id
    Dispatcher(router).run_until_idle()
    with router.engine.connect() as conn:
        assert conn.execute(
            select(messages.c.status).where(messages.c.id.in_([a, b]))
        ).scalars().all() == ["F", "F"]
    for key, value in env_for(
        {"DATABASE_URL": router.config["DATABASE_URL"], "ROUTER_URL": router.config["ROUTER_URL"]}
    ).items():
        if key.startswith("HTTPROUTER_"):
            monkeypatch.setenv(key, value)
    result = CliRunner().invoke(main, ["resend", "--backend", "k", "--since", "1h"])
    assert result.exit_code == 0, result.output
    assert "queued 1 message(s) again" in result.output
    result = CliRunner().invoke(main, ["resend", "--since", "yesterday-ish"])
    assert result.exit_code != 0 and "--since" in result.output
    Dispatcher(router).run_until_idle()
    with router.engine.connect() as conn:
        row = conn.execute(select(messages).where(messages.c.id == a)).one()
        assert (row.status, row.attempts) == ("S", 1)
        assert conn.execute(select(messages.c.status).where(messages.c.id == b)).scalar() == "F"


def test_bad_backend_template_stops_serve_naming_it(tmp_path):
    env = {"PATH": "/usr/bin:/bin"}
    env["HTTPROUTER_ROUTER_URL"] = json.dumps({"k": "http://gw/?to=%(recipent)s"})
    proc = subprocess.run(
        [sys.executable, "-m", "httprouter.ops.cli", "serve", "--port", str(free_port())],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode != 0
    assert "BACKENDS['k']" in proc.stderr and "recipent" in proc.stderr
