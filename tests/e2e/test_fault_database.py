"""Database outage: receive answers 503 (nothing half-written) and recovers without a restart."""

from __future__ import annotations

import time

import pytest
import requests
from sqlalchemy import text

from httprouter.ops.migrate import upgrade
from httprouter.store.engine import make_engine
from tests.support.pgcluster import TempPostgres
from tests.support.servers import ServedRouter

pytestmark = pytest.mark.slow


@pytest.fixture
def own_postgres():
    server = TempPostgres()
    yield server
    server.destroy()


def receive(base, i):
    try:
        r = requests.get(
            base + "/router/receive",
            params={"backend": "k", "sender": f"+1555{i}", "message": f"m{i}", "id": f"g{i}"},
            timeout=30,
        )
    except requests.RequestException as exc:
        return None, type(exc).__name__
    return r.status_code, r.json() if r.content else None


def test_outage_gives_503_then_recovers_by_itself(own_postgres, tmp_path):
    engine = make_engine(own_postgres.url)
    upgrade(engine)
    engine.dispose()
    server = ServedRouter(
        tmp_path,
        {"DATABASE_URL": own_postgres.url, "SMS_APPS": ["httprouter.apps.echo.EchoApp"]},
        "--workers",
        "2",
        "--no-migrate",
    )
    try:
        assert receive(server.url, 1)[0] == 200

        own_postgres.stop("immediate")
        during = [receive(server.url, i) for i in range(2, 12)]
        assert {code for code, _ in during} == {503}, during
        assert all(body["error"].startswith("database unavailable") for _, body in during)

        own_postgres.start()
        deadline = time.monotonic() + 30
        recovered = None
        i = 100
        while time.monotonic() < deadline:
            code, _ = receive(server.url, i)
            i += 1
            if code == 200:
                recovered = time.monotonic()
                break
            assert code == 503
            time.sleep(0.5)
        assert recovered is not None, "the service did not recover within 30 s"
        # A gateway's retry of a message refused during the outage now goes through, once.
        assert receive(server.url, 2)[0] == 200
        assert receive(server.url, 2)[0] == 200
        assert server.process.poll() is None  # no crash, no restart
    finally:
        server.stop()

    engine = make_engine(own_postgres.url)
    with engine.connect() as conn:
        inbound = conn.execute(text("SELECT count(*) FROM messages WHERE direction = 'I'")).scalar()
        half = conn.execute(
            text(
                "SELECT count(*) FROM messages i WHERE i.direction = 'I' AND NOT EXISTS "
                "(SELECT 1 FROM messages o WHERE o.in_response_to_id = i.id)"
            )
        ).scalar()
        g2 = conn.execute(text("SELECT count(*) FROM messages WHERE external_id = 'g2'")).scalar()
    engine.dispose()
    assert half == 0  # every stored inbound message has its reply
    assert g2 == 1
    assert inbound == 3  # g1, the first 200 after recovery, g2


def test_dispatcher_rides_out_the_outage_and_pushes_after_it(own_postgres, tmp_path):
    from tests.support.gateway import Gateway

    engine = make_engine(own_postgres.url)
    upgrade(engine)
    engine.dispose()
    gateway = Gateway()
    template = gateway.url + "/send?to=%(recipient)s&text=%(text)s&id=%(id)s"
    server = ServedRouter(
        tmp_path,
        {
            "DATABASE_URL": own_postgres.url,
            "ROUTER_URL": template,
            "SMS_APPS": ["httprouter.apps.echo.EchoApp"],
        },
        "--workers",
        "1",
        "--no-migrate",
    )
    try:
        assert receive(server.url, 1)[0] == 200
        assert gateway.wait_for(1, timeout=30)

        own_postgres.stop("immediate")
        time.sleep(6)  # the dispatcher notices and backs off
        assert receive(server.url, 2)[0] == 503
        own_postgres.start()

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and receive(server.url, 3)[0] != 200:
            time.sleep(0.5)
        assert gateway.wait_for(2, timeout=60), "the reply after the outage was not pushed"
        assert server.process.poll() is None
    finally:
        server.stop()
        gateway.close()
    log = server.output()
    # a bounded, growing reconnect backoff in the logs, then recovery without a restart
    assert "dispatcher cannot reach the database (failure 1, next try in 0.5 s)" in log
    assert "dispatcher cannot reach the database (failure 2, next try in 1.0 s)" in log
    assert "dispatcher reconnected after" in log
    assert len(gateway.seen) == len(gateway.ids) == 2  # the reply before and the one after
