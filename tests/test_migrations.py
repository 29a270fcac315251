"""Models and migrations agree, on both databases."""

from __future__ import annotations

from httprouter.migrations import HEAD_REVISION

from httprouter.db import make_engine
from httprouter.migrate import check, current_revision, head_revision, upgrade


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
