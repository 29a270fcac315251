"""A database that cannot be reached answers 503 JSON, so the gateway retries."""

from __future__ import annotations

import socket

from httprouter import create_app


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
