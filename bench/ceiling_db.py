"""The ceiling with storage: the bare Flask ceiling plus one SQLAlchemy Core INSERT and commit.

BENCH_CEILING_DB names the database. SQLite runs in WAL mode with synchronous=FULL, the
durability httprouter promises; the table is created by `create_table()` before gunicorn starts.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    insert,
)
from sqlalchemy.engine import Engine

from .ceiling import make_app

metadata = MetaData()
inbound = Table(
    "ceiling_inbound",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("backend", String(100), nullable=False),
    Column("sender", String(200), nullable=False),
    Column("text", Text, nullable=False),
    Column("external_id", String(255)),
    Column("created_at", DateTime(timezone=True), nullable=False),
)


def make_engine(url: str) -> Engine:
    """An engine with the same durability settings as httprouter's."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.close()

        return engine
    return create_engine(url, pool_size=5, max_overflow=10)


def create_table(url: str) -> None:
    """Create the ceiling's table."""
    engine = make_engine(url)
    metadata.create_all(engine)
    engine.dispose()


engine = make_engine(os.environ.get("BENCH_CEILING_DB", "sqlite://"))
store = insert(inbound)


def store_row(params: dict[str, str | None]) -> None:
    """INSERT the message and commit."""
    with engine.begin() as conn:
        conn.execute(
            store,
            {
                "backend": params["backend"],
                "sender": params["sender"],
                "text": params["message"] or "",
                "external_id": params["id"],
                "created_at": datetime.now(UTC),
            },
        )


app = make_app(store_row)
