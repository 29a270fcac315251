"""Databases for one benchmark run: SQLite files in the run folder, PostgreSQL databases of our
own (bench_<random>) on the server named by BENCH_PG_URL, dropped at the end."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text

from httprouter.ops.migrate import upgrade
from httprouter.store.engine import make_engine, normalize_url

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"


def migrated(url: str | None, folder: Path) -> str:
    """`url` (or, without one, a fresh SQLite file in `folder`) migrated for httprouter."""
    url = url or f"sqlite:///{folder / 'profile.sqlite3'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


class Databases:
    """Creates databases on demand and drops every PostgreSQL one it made."""

    def __init__(self, folder: Path, pg_admin_url: str | None = None) -> None:
        self.folder = folder
        self.pg_admin_url = normalize_url(
            pg_admin_url or os.environ.get("BENCH_PG_URL") or DEFAULT_PG
        )
        self.token = uuid.uuid4().hex[:8]
        self.created: list[str] = []

    def sqlite(self, name: str) -> str:
        """A fresh SQLite file's URL."""
        return f"sqlite:///{self.folder / (name + '.sqlite3')}"

    def postgresql(self, name: str) -> str:
        """A fresh PostgreSQL database's URL."""
        db = f"bench_{self.token}_{name.replace('-', '_')}"
        admin = create_engine(self.pg_admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{db}"'))
        admin.dispose()
        self.created.append(db)
        return self.pg_admin_url.rpartition("/")[0] + "/" + db

    def new(self, kind: str, name: str, *, migrate: bool = True) -> str:
        """A fresh database of `kind` ("sqlite" or "postgresql"), migrated for httprouter."""
        url = self.sqlite(name) if kind == "sqlite" else self.postgresql(name)
        return migrated(url, self.folder) if migrate else url

    def drop_all(self) -> None:
        """Drop the PostgreSQL databases this run created."""
        if not self.created:
            return
        admin = create_engine(self.pg_admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            for db in self.created:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
        admin.dispose()
        self.created.clear()
