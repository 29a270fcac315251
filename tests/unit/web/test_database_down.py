"""A database that cannot be reached answers 503 JSON, so the gateway retries."""

from __future__ import annotations

import socket

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from httprouter import create_app
from httprouter.store import engine as db
from httprouter.store.engine import make_engine


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_postgres_is_503_with_retry_after():
    app = create_app(
        {
            "DATABASE_URL": f"postgresql://postgres@127.0.0.1:{free_port()}/none",
            "SMS_APPS": ["httprouter.apps.echo.EchoApp"],
        }
    )
    try:
        r = app.test_client().get("/router/receive?backend=k&sender=1&message=x")
    finally:
        app.extensions["httprouter"].engine.dispose()
    assert r.status_code == 503
    assert r.get_json()["error"].startswith("database unavailable")
    assert r.headers["Retry-After"]


def test_unwritable_sqlite_is_503(tmp_path):
    folder = tmp_path / "gone"
    app = create_app({"DATABASE_URL": f"sqlite:///{folder}/db.sqlite3", "SMS_APPS": []})
    try:
        r = app.test_client().get("/router/receive?backend=k&sender=1&message=x")
    finally:
        app.extensions["httprouter"].engine.dispose()
    assert r.status_code == 503


def _kill_backend(url, pid):
    other = make_engine(url)
    with other.begin() as conn:
        conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    other.dispose()


@pytest.mark.pg_only
def test_idle_pooled_connection_is_checked_and_replaced_if_dead(postgres, monkeypatch):
    """A connection idle a while is pinged before use; one in use a moment ago is not."""
    if postgres is None:
        pytest.skip("TEST_DATABASE_URL is not set (PostgreSQL is optional locally; CI runs it)")
    engine = make_engine(postgres.url, pool_size=1, max_overflow=1)
    try:
        with engine.connect() as conn:
            pid = conn.execute(text("SELECT pg_backend_pid()")).scalar()
        _kill_backend(postgres.url, pid)
        monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 0.0)  # it has been idle "long enough"
        with engine.connect() as conn:
            assert conn.execute(text("SELECT pg_backend_pid()")).scalar() != pid  # replaced

        with engine.connect() as conn:
            pid = conn.execute(text("SELECT pg_backend_pid()")).scalar()
        _kill_backend(postgres.url, pid)
        monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 3600.0)  # used a moment ago: no ping
        with pytest.raises(OperationalError), engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    finally:
        engine.dispose()
