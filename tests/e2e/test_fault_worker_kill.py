"""A gunicorn worker killed with SIGKILL mid-request leaves no partial message behind."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest
import requests
from sqlalchemy import text

from httprouter.store.engine import make_engine
from tests.support.servers import ServedRouter

pytestmark = pytest.mark.slow


def worker_pids(master_pid: int) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == master_pid:
                pids.append(int(entry))
    return pids


def test_sigkilled_worker_leaves_all_or_nothing(db_url, tmp_path):
    server = ServedRouter(
        tmp_path,
        {
            "DATABASE_URL": db_url,
            "SMS_APPS": ["tests.support.apps.SlowTriple"],
            "LOG_LEVEL": "WARNING",
        },
        "--workers",
        "2",
        "--threads",
        "4",
    )
    ok = []
    failed = []
    stop = threading.Event()

    def client(n):
        session = requests.Session()
        i = 0
        while not stop.is_set():
            i += 1
            try:
                r = session.get(
                    server.url + "/router/receive",
                    params={"backend": "k", "sender": f"+1{n}", "message": f"{n}-{i}"},
                    timeout=30,
                )
                (ok if r.status_code == 200 else failed).append(r.status_code)
            except requests.RequestException:
                failed.append("connection")
                session = requests.Session()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(16)]
    try:
        for t in threads:
            t.start()
        kills = 0
        for _ in range(4):
            time.sleep(1.5)
            pids = worker_pids(server.process.pid)
            if pids:
                os.kill(pids[0], signal.SIGKILL)
                kills += 1
        time.sleep(1.5)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)
        server.stop()

    engine = make_engine(db_url)
    with engine.connect() as conn:
        inbound = conn.execute(text("SELECT count(*) FROM messages WHERE direction = 'I'")).scalar()
        partial = conn.execute(
            text(
                "SELECT count(*) FROM messages i WHERE i.direction = 'I' AND "
                "(SELECT count(*) FROM messages o WHERE o.in_response_to_id = i.id) <> 3"
            )
        ).scalar()
        not_handled = conn.execute(
            text("SELECT count(*) FROM messages WHERE direction = 'I' AND status <> 'H'")
        ).scalar()
    engine.dispose()
    print(
        f"\nworker kill [{engine.dialect.name}]: kills={kills} 200s={len(ok)} "
        f"cut-off={len(failed)} inbound stored={inbound} partial={partial}"
    )
    assert kills >= 3
    assert len(ok) > 0 and failed, (len(ok), failed)  # the kills did cut requests off
    assert partial == 0 and not_handled == 0
    # every 200 was stored; a request cut off after its commit may be stored without its 200
    assert len(ok) <= inbound <= len(ok) + len(failed)
