"""Models and migrations agree, on both databases; a migration upgrades and downgrades."""

from __future__ import annotations

from sqlalchemy import inspect

from httprouter.migrations import HEAD_REVISION
from httprouter.ops.migrate import (
    check,
    current_revision,
    downgrade,
    head_revision,
    upgrade,
)
from httprouter.store.engine import make_engine


def test_models_and_migrations_have_not_drifted(db_url):
    engine = make_engine(db_url)
    try:
        assert current_revision(engine) == head_revision(engine) == HEAD_REVISION
        check(engine)  # raises if autogenerate would write a new migration
    finally:
        engine.dispose()


def test_upgrade_from_empty_and_again_is_idempotent(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path}/fresh.sqlite3")
    try:
        assert current_revision(engine) is None
        upgrade(engine)
        upgrade(engine)
        assert current_revision(engine) == head_revision(engine)
    finally:
        engine.dispose()


def test_sqlite_runs_in_wal_with_durable_commits(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path}/wal.sqlite3")
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
    finally:
        engine.dispose()


def test_sqlite_writers_take_turns_across_threads(tmp_path):
    import threading

    from sqlalchemy import text

    engine = make_engine(f"sqlite:///{tmp_path}/turns.sqlite3")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (n INTEGER)"))
    errors = []

    def writer():
        try:
            for _ in range(50):
                with engine.begin() as conn:
                    conn.execute(text("INSERT INTO t VALUES (1)"))
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=writer) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 400
    engine.dispose()
    assert errors == []
    assert (tmp_path / "turns.sqlite3.lock").exists()


def _downgrade(engine, revision):
    downgrade(engine, revision)


def _indexes(engine):
    found = inspect(engine)
    return {i["name"] for table in ("messages", "connections") for i in found.get_indexes(table)}


LOG_INDEXES = {"ix_messages_status_id", "ix_messages_backend_id_id", "ix_connections_identity"}


def test_log_indexes_upgrade_a_database_with_messages_and_downgrade(db_url, make_app):
    engine = make_engine(db_url)
    try:
        _downgrade(engine, "0001")
        assert not LOG_INDEXES & _indexes(engine)
        client = make_app().test_client()
        client.get("/router/receive?backend=modem&sender=%2B250788111&message=before")
        upgrade(engine)
        assert _indexes(engine) >= LOG_INDEXES
        body = client.get("/router/messages?status=Q,H&contact=%2B250788111").get_json()
        assert [m["status"] for m in body["messages"]] == ["Q", "H"]
        _downgrade(engine, "0001")
        assert current_revision(engine) == "0001"
        assert not LOG_INDEXES & _indexes(engine)
    finally:
        upgrade(engine)
        engine.dispose()
