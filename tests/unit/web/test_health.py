"""/healthz says the process is up; /readyz says the database answers and is migrated to head."""

from __future__ import annotations

from sqlalchemy import text

from httprouter import create_app
from tests.support.servers import free_port


def test_healthz_is_open_json_and_ok(make_app):
    client = make_app(ROUTER_PASSWORD="pw-health").test_client()
    for path in ("/healthz", "/healthz/"):
        r = client.get(path)
        assert r.status_code == 200
        assert r.get_json() == {"status": "ok"}
    assert r.headers["X-Request-ID"]


def test_readyz_ok_when_database_is_at_head(make_app):
    client = make_app(ROUTER_PASSWORD="pw-health").test_client()
    r = client.get("/readyz")
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["status"] == "ok"
    assert body["checks"]["database"] == "ok"
    migrations = body["checks"]["migrations"]
    assert migrations["current"] == migrations["head"] is not None
    assert migrations["status"] == "ok"


def test_readyz_503_when_migrations_are_behind(make_app):
    app = make_app()
    engine = app.extensions["httprouter"].engine
    with engine.begin() as conn:
        version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        conn.execute(text("DELETE FROM alembic_version"))
    try:
        r = app.test_client().get("/readyz/")
    finally:  # the PostgreSQL test database is shared by the session: put the version back
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO alembic_version VALUES (:v)"), {"v": version})
    assert r.status_code == 503
    body = r.get_json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["migrations"]["current"] is None
    assert body["checks"]["migrations"]["status"] == "behind"
    assert r.headers["Retry-After"]


def test_readyz_503_and_healthz_200_when_database_is_unreachable():
    app = create_app(
        {"DATABASE_URL": f"postgresql://postgres@127.0.0.1:{free_port()}/none", "SMS_APPS": []}
    )
    client = app.test_client()
    try:
        ready = client.get("/readyz")
        health = client.get("/healthz")
    finally:
        app.extensions["httprouter"].engine.dispose()
    assert ready.status_code == 503
    assert ready.get_json()["checks"]["database"] == "unavailable"
    assert ready.is_json
    assert health.status_code == 200
