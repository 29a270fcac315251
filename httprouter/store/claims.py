"""Dispatchers' claims on due push messages: taking them, ending them, giving them back.

The message table is the queue. A dispatcher claims rows (`FOR UPDATE SKIP LOCKED` on
PostgreSQL; SQLite's write lock serialises claims) by writing its name and a claim expiry on
them; a dispatcher that dies keeps nothing, its claims expire and another takes them. Statements
are built once per dispatcher.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, bindparam, case, func, or_, select, update
from sqlalchemy.exc import DBAPIError

from .. import clock
from ..domain.statuses import ERRORED, OUTGOING, QUEUED
from .history import Change, change_statuses, read_current
from .rows import select_messages
from .schema import backends, messages

# What a claim read inside its transaction: message rows, their parents' fields, the claim expiry.
Taken = tuple[list[Any], dict[int, dict[str, Any]], datetime]

# The gateway's own id for a message it accepted: what its reports may name the message by.
_SET_EXTERNAL_ID = (
    update(messages)
    .where(messages.c.id == bindparam("message_id"))
    .values(external_id=bindparam("gateway_id"))
)
_NEXT_DUE = select(func.min(messages.c.next_attempt_at)).where(
    messages.c.status.in_([QUEUED, ERRORED]),
    messages.c.next_attempt_at.is_not(None),
    messages.c.lease_owner.is_(None),
)


class Claims:
    """The claims of one dispatcher (`owner`), optionally on some backends only."""

    def __init__(
        self,
        engine: Engine,
        owner: str,
        claim_seconds: float,
        backends_only: Sequence[str] | None = None,
    ) -> None:
        self.engine = engine
        self.owner = owner
        self.claim_seconds = claim_seconds
        self._take, self._read, self._parents = self._statements(backends_only)
        self._end = self._end_statement()

    def _statements(self, backends_only: Sequence[str] | None) -> tuple[Any, Any, Any]:
        """The claim (one UPDATE … RETURNING) and the reads after it."""
        now: Any = bindparam("now")
        due = select(messages.c.id).where(
            messages.c.direction == OUTGOING,
            messages.c.status.in_([QUEUED, ERRORED]),
            messages.c.next_attempt_at <= now,
            or_(messages.c.lease_expires_at.is_(None), messages.c.lease_expires_at < now),
        )
        if backends_only:
            names = select(backends.c.id).where(backends.c.name.in_(list(backends_only)))
            due = due.where(messages.c.backend_id.in_(names))
        due = due.order_by(
            messages.c.priority.desc(), messages.c.next_attempt_at, messages.c.id
        ).limit(bindparam("limit"))
        if self.engine.dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)
        take = (
            update(messages)
            .where(messages.c.id.in_(due.scalar_subquery()))
            .values(lease_owner=self.owner, lease_expires_at=bindparam("expires"))
            .returning(messages.c.id)
        )
        ids: Any = bindparam("ids", expanding=True)
        read = select_messages().where(messages.c.id.in_(ids))
        parents = select(messages.c.id, messages.c.fields).where(messages.c.id.in_(ids))
        return take, read, parents

    def _end_statement(self) -> Any:
        """UPDATE counting an attempt on each message of `ids` and ending our claims on them."""
        mine = messages.c.lease_owner == self.owner
        sent = messages.c.id.in_(bindparam("sent", expanding=True))
        first_sent = func.coalesce(
            messages.c.sent_at, bindparam("now", type_=messages.c.sent_at.type)
        )
        return (
            update(messages)
            .where(messages.c.id.in_(bindparam("ids", expanding=True)))
            .values(
                attempts=messages.c.attempts + 1,
                sent_at=case((sent, first_sent), else_=messages.c.sent_at),
                lease_owner=case((mine, None), else_=messages.c.lease_owner),
                lease_expires_at=case((mine, None), else_=messages.c.lease_expires_at),
            )
        )

    def take(self, conn: Connection, limit: int) -> Taken:
        """Claim up to `limit` due messages, highest priority and oldest first; return their rows,
        their parents' fields and the claim expiry."""
        now = clock.now()
        expires = now + timedelta(seconds=self.claim_seconds)
        taken = conn.execute(self._take, {"now": now, "limit": limit, "expires": expires})
        ids: list[int] = list(taken.scalars())
        if not ids:
            return [], {}, expires
        rows = sorted(
            conn.execute(self._read, {"ids": ids}),
            key=lambda r: (-(r.priority or 0), r.next_attempt_at, r.id),
        )
        wanted = [r.in_response_to_id for r in rows if r.in_response_to_id is not None]
        parents: dict[int, dict[str, Any]] = {}
        if wanted:
            found = conn.execute(self._parents, {"ids": wanted})
            parents = {row.id: row.fields or {} for row in found}
        return rows, parents, expires

    def end(
        self, conn: Connection, ids: list[int], sent: list[int], named: list[dict[str, Any]]
    ) -> None:
        """Count an attempt on each of `ids`, set sent_at on `sent`, keep the gateway ids of
        `named` ({"message_id", "gateway_id"}), and end our claims on them."""
        if named:
            conn.execute(_SET_EXTERNAL_ID, named)
        conn.execute(self._end, {"ids": ids, "sent": sent, "now": clock.now()})

    def next_due(self) -> datetime | None:
        """When the next retry is due (None: none waits, or the database did not answer)."""
        try:
            with self.engine.connect() as conn:
                conn = conn.execution_options(readonly=True)
                with conn.begin():
                    due: datetime | None = conn.execute(_NEXT_DUE).scalar()
                    return due
        except DBAPIError:
            return None

    def _clear(self, conn: Connection, message_id: int) -> None:
        conn.execute(
            update(messages)
            .where(and_(messages.c.id == message_id, messages.c.lease_owner == self.owner))
            .values(lease_owner=None, lease_expires_at=None)
        )

    def release(self, message_id: int) -> None:
        """Give back one claim, unsent."""
        with self.engine.begin() as conn:
            self._clear(conn, message_id)

    def release_all(self) -> int:
        """Give back every claim this dispatcher holds on a message it has not pushed."""
        with self.engine.begin() as conn:
            return conn.execute(
                update(messages)
                .where(messages.c.lease_owner == self.owner)
                .values(lease_owner=None, lease_expires_at=None)
            ).rowcount

    def hold(self, message_id: int, error: str, until: datetime) -> None:
        """Keep a message its backend cannot push now, saying why; it is tried again `until`."""
        with self.engine.begin() as conn:
            conn.execute(
                update(messages)
                .where(messages.c.id == message_id)
                .values(error=error[:500], next_attempt_at=until)
            )
            self._clear(conn, message_id)

    def to_pollers(self, message_id: int) -> None:
        """Leave a message whose backend is now pulled to its pollers (an errored one queued
        again: the outbox hands out queued messages only)."""
        with self.engine.begin() as conn:
            conn.execute(
                update(messages).where(messages.c.id == message_id).values(next_attempt_at=None)
            )
            current = read_current(conn, [message_id])
            found = current.get(message_id)
            if found is not None and found.status == ERRORED:
                detail = {"reason": "its backend is now pulled"}
                change = Change(message_id, QUEUED, "to pollers", detail, force=True)
                change_statuses(conn, [change], current=current)
            self._clear(conn, message_id)
