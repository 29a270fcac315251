"""Eight pollers drain 1,000 queued messages from a real `httprouter serve`: each exactly once."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
import requests
from sqlalchemy import func, select

from httprouter.store.schema import messages
from tests.support.servers import ServedRouter

MESSAGES = 1000
POLLERS = 8
BATCH = 50
PASSWORD = "poll-secret"


@pytest.mark.slow
def test_eight_pollers_get_every_message_exactly_once(make_app, db_url, tmp_path):
    router = make_app().extensions["httprouter"]
    queued = {
        m.id for m in router.send("drain", [("modem", f"+2507{i:08d}") for i in range(MESSAGES)])
    }
    server = ServedRouter(
        tmp_path,
        {"DATABASE_URL": db_url, "ROUTER_PASSWORD": PASSWORD, "LOG_LEVEL": "WARNING"},
        "--workers",
        "2",
        "--threads",
        "8",
    )
    handed_out: list[int] = []
    errors: list[str] = []
    lock = threading.Lock()

    def poller() -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {PASSWORD}"
        while True:
            r = session.get(
                server.url + "/router/outbox",
                params={"backend": "modem", "limit": BATCH},
                timeout=60,
            )
            if r.status_code != 200:
                errors.append(f"outbox {r.status_code} {r.text[:200]}")
                return
            batch = [m["id"] for m in r.json()["outbox"]]
            if not batch:
                return
            with lock:
                handed_out.extend(batch)
            ack = session.post(
                server.url + "/router/delivered",
                json=[{"message_id": i, "status": "sent"} for i in batch],
                timeout=60,
            )
            if ack.status_code != 200 or ack.json()["applied"] != len(batch):
                errors.append(f"ack {ack.status_code} {ack.text[:200]}")
                return

    threads = [threading.Thread(target=poller) for _ in range(POLLERS)]
    try:
        started = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
        elapsed = time.perf_counter() - started
    finally:
        server.stop()
    assert errors == [], errors
    duplicates = [i for i, n in Counter(handed_out).items() if n > 1]
    assert duplicates == []
    assert set(handed_out) == queued
    with router.read() as conn:
        by_status = dict(
            conn.execute(select(messages.c.status, func.count()).group_by(messages.c.status)).all()
        )
    assert by_status == {"S": MESSAGES}
    rate = MESSAGES / elapsed
    print(
        f"\noutbox drain on {router.engine.dialect.name}: {MESSAGES} messages in {elapsed:.2f}s = {rate:.0f} messages/s"
    )
