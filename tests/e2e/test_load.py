"""512 concurrent connections (Kannel's max-pending-requests) to /router/receive for 60 seconds:
no 5xx, and exactly one stored inbound message per 200 answer."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import text

from httprouter.store.engine import make_engine
from tests.support.loadgen import receive_path, run_load
from tests.support.servers import ServedRouter

pytestmark = pytest.mark.slow

SECONDS = float(os.environ.get("LOAD_TEST_SECONDS", "60"))


def test_512_connections_no_5xx_and_every_200_stored(db_url, tmp_path):
    server = ServedRouter(
        tmp_path,
        {
            "DATABASE_URL": db_url,
            "LOG_LEVEL": "WARNING",
            "SMS_APPS": ["httprouter.apps.echo.EchoApp"],
        },
        "--workers",
        "2",
        "--threads",
        "16",
    )
    try:
        result = run_load("127.0.0.1", server.port, 512, SECONDS, receive_path())
    finally:
        server.stop()
    engine = make_engine(db_url)
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT count(*) FROM messages WHERE direction = 'I'")).scalar()
        replies = conn.execute(text("SELECT count(*) FROM messages WHERE direction = 'O'")).scalar()
    engine.dispose()
    ok = result.statuses[200]
    print(
        f"\nload [{engine.dialect.name}]: requests={result.requests} 200s={ok} "
        f"5xx={sum(v for k, v in result.statuses.items() if k >= 500)} errors={dict(result.errors)} "
        f"stored={stored} rps={ok / result.elapsed:.0f} p50={result.percentile(0.5) * 1000:.0f}ms "
        f"p99={result.percentile(0.99) * 1000:.0f}ms"
    )
    assert ok > 0
    assert set(result.statuses) == {200}, result.statuses
    assert not result.errors, result.errors
    assert stored == ok == replies
