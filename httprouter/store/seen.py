"""When each backend's gateway last called us: a phone's poll or webhook says it is alive.

Writes are cheap: a process writes a backend's time at most once per `SEEN_EVERY_SECONDS`
(remembered in memory), and the upsert leaves a row written less than that long ago alone, so
several workers do not rewrite it either. The time shown is therefore up to that much early.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from .. import clock
from ..errors import StorageUnavailable
from .schema import backend_seen

log = logging.getLogger(__name__)

SEEN_EVERY_SECONDS = 30.0  # the most often one process writes one backend's time

_INSERTS: dict[str, Any] = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def _upsert(dialect: str) -> Any:
    insert = _INSERTS[dialect](backend_seen)
    return insert.on_conflict_do_update(
        index_elements=[backend_seen.c.backend],
        set_={"last_seen_at": insert.excluded.last_seen_at},
        where=backend_seen.c.last_seen_at
        < bindparam("stale", type_=backend_seen.c.last_seen_at.type),
    )


class SeenRecorder:
    """Records, cheaply, that a backend's gateway called (one per process)."""

    def __init__(self, engine: Engine, every: float = SEEN_EVERY_SECONDS) -> None:
        self.engine = engine
        self.every = every
        self._written: dict[str, float] = {}
        self._lock = threading.Lock()
        self._statement = _upsert(engine.dialect.name)

    def seen(self, backend: str) -> bool:
        """Note that `backend`'s gateway called now; True when that was written."""
        now = time.monotonic()
        with self._lock:
            last = self._written.get(backend)
            if last is not None and now - last < self.every:
                return False
            self._written[backend] = now
        try:
            with self.engine.begin() as conn:
                at = clock.now()
                stale = at - timedelta(seconds=self.every)
                values = {"backend": backend[:100], "last_seen_at": at, "stale": stale}
                conn.execute(self._statement, values)
        except (SQLAlchemyError, StorageUnavailable) as exc:
            with self._lock:
                self._written.pop(backend, None)  # try again on the next call
            log.warning("could not record that %s called: %s", backend, type(exc).__name__)
            return False
        return True


def last_seen(conn: Connection) -> dict[str, datetime]:
    """When each backend's gateway last called, by backend name."""
    rows = conn.execute(select(backend_seen.c.backend, backend_seen.c.last_seen_at))
    return {name: at for name, at in rows}


def seconds_ago(when: datetime, now: datetime | None = None) -> int:
    """Whole seconds from `when` to now (never negative)."""
    return max(int(((now or clock.now()) - when).total_seconds()), 0)
