"""Test databases: a migrated SQLite file per test, and a PostgreSQL database per test session.

PostgreSQL is found through TEST_DATABASE_URL (e.g. postgresql://postgres@127.0.0.1:5432/test).
Each session creates its own database next to the one named there, so several runs at once do
not collide, and drops it at the end. Between tests every table is emptied.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

from sqlalchemy import create_engine, inspect, text

from httprouter.ops.migrate import upgrade
from httprouter.store.engine import make_engine, normalize_url

PG_ENV = "TEST_DATABASE_URL"


def pg_admin_url() -> str | None:
    """The PostgreSQL URL the tests may use, or None when it is not configured."""
    url = os.environ.get(PG_ENV)
    return normalize_url(url) if url else None


class PostgresDatabase:
    """A throw-away database on the configured server."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.name = f"httprouter_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        base, _, _ = admin_url.rpartition("/")
        self.url = f"{base}/{self.name}"
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{self.name}"'))
        admin.dispose()
        engine = make_engine(self.url)
        upgrade(engine)
        self.tables = [t for t in inspect(engine).get_table_names() if t != "alembic_version"]
        engine.dispose()

    def reset(self) -> None:
        """Empty every table and restart the id sequences."""
        engine = create_engine(self.url)
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {', '.join(self.tables)} RESTART IDENTITY CASCADE"))
        engine.dispose()

    def drop(self) -> None:
        admin = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        admin.dispose()


class SqliteTemplate:
    """A migrated SQLite file that each test copies."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / "template.sqlite3"
        engine = make_engine(f"sqlite:///{self.path}")
        upgrade(engine)
        engine.dispose()

    def copy_to(self, folder: Path) -> str:
        target = folder / "router.sqlite3"
        shutil.copyfile(self.path, target)
        return f"sqlite:///{target}"
