"""Send slots: a backend's rate limit, shared by every dispatcher through one row per backend."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, select, update

from .. import clock
from .engine import DIALECTS, insert_or_skip
from .schema import send_slots

_CREATE = {dialect: insert_or_skip(send_slots, dialect) for dialect in DIALECTS}


def next_slot(engine: Engine, backend: str, rate_limit: float) -> datetime:
    """Take `backend`'s next send slot (at `rate_limit` messages a second); return its time."""
    interval = timedelta(seconds=1 / rate_limit)
    now = clock.now()
    with engine.begin() as conn:
        dialect = conn.dialect.name
        conn.execute(_CREATE[dialect].values(backend=backend, next_at=now))
        query = select(send_slots.c.next_at).where(send_slots.c.backend == backend)
        if dialect == "postgresql":
            query = query.with_for_update()
        slot: datetime = max(conn.execute(query).scalar_one(), now)
        conn.execute(
            update(send_slots)
            .where(send_slots.c.backend == backend)
            .values(next_at=slot + interval)
        )
    return slot
