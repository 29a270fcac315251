"""The dispatcher: claims due push messages from SQL, sends them, and records what happened.

This is the one place that moves outbound messages from Q/E to S, E or F. The message table is
the queue: a dispatcher claims rows (`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite's write lock
serialises claims) by writing its name and a claim expiry on them. A dispatcher that dies keeps
nothing: its claims expire after CLAIM_SECONDS and another dispatcher takes them. Delivery is
therefore at least once: a message whose send was in flight when its dispatcher was killed is
sent again, with the same message id, so a gateway can drop the repeat.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol, cast

from sqlalchemy import (
    Connection,
    and_,
    bindparam,
    case,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import DBAPIError

from .. import clock
from ..domain.statuses import ERRORED, FAILED, OUTGOING, QUEUED, SENT
from ..errors import HttpRouterError
from ..gateways.base import GatewayEngine, OutboundMessage, Outcome, PreparedRequest, SendResult
from ..store import metrics
from ..store.engine import insert_or_skip
from ..store.history import Change, change_statuses
from ..store.rows import select_messages
from ..store.schema import backends, delivery_attempts, messages, send_slots
from ..store.tokens import message_token
from .wakeup import Waker

log = logging.getLogger(__name__)

IDLE_CHECK_SECONDS = 1.0  # longest sleep without looking at the table (missed wake-ups)
BROKEN_CONFIG_RETRY_SECONDS = 60.0  # a backend that cannot be built is tried again this late
DB_DOWN_PAUSE_SECONDS = 0.5  # first pause after the database fails to answer
DB_DOWN_PAUSE_MAX = 15.0  # the pause doubles per failure up to this


# The gateway's own id for a message it accepted: what its reports may name the message by.
_SET_EXTERNAL_ID = (
    update(messages)
    .where(messages.c.id == bindparam("message_id"))
    .values(external_id=bindparam("gateway_id"))
)

RECORD_DELAY_SECONDS = 0.05  # the longest a finished send waits to be recorded with others
CLAIM_BATCH = 32  # claim up to this many messages at once (at least twice the concurrency)


class Engines(Protocol):
    """The backends' engines, as the process built them (gateways.registry.GatewayRegistry)."""

    def get(self, name: str) -> GatewayEngine | None:
        """The engine of backend `name`, or None if it has none."""
        ...

    def check(self) -> list[str]:
        """Build every configured backend now."""
        ...

    def close(self) -> None:
        """Close every engine's connections."""
        ...


@dataclass(frozen=True)
class Claimed:
    """A message this dispatcher holds, with what its backend needs to push it."""

    message: OutboundMessage  # its `attempt` is the number this send will be
    token: str  # the message's signed token: in its report URL, and masked in the attempt log
    lease_expires: datetime


@dataclass(frozen=True)
class Attempt:
    """A finished send, waiting to be recorded with the others that finished about then."""

    item: Claimed
    backend: GatewayEngine
    request: PreparedRequest
    result: SendResult
    started: datetime
    finished: datetime
    done_at: float = field(default_factory=time.monotonic)


# What a claim read inside its transaction: message rows, their parents' fields, the claim expiry.
_Taken = tuple[list[Any], dict[int, dict[str, Any]], datetime]


def default_public_url(config: dict[str, Any]) -> str:
    """The base URL gateways reach the router at: PUBLIC_URL, or loopback on PORT."""
    return (config.get("PUBLIC_URL") or f"http://127.0.0.1:{config['PORT']}").rstrip("/")


def worker_name() -> str:
    """A name for this dispatcher, unique across hosts and restarts."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Dispatcher:
    """Pushes due outbound messages of push backends, `concurrency` at a time."""

    def __init__(
        self,
        router: Any,
        *,
        concurrency: int | None = None,
        backends_only: list[str] | None = None,
        name: str | None = None,
    ) -> None:
        self.router = router
        self.engine = router.engine
        self.config = router.config
        self.concurrency = max(1, concurrency or self.config["DISPATCHER_CONCURRENCY"])
        self.batch = max(CLAIM_BATCH, 2 * self.concurrency)  # the most claims held at once
        self.backends_only = backends_only or None
        self.name = name or worker_name()
        self.claim_seconds = float(self.config["CLAIM_SECONDS"])
        self.public_url = default_public_url(self.config)
        self.registry = cast(Engines, router.gateways)
        self.waker = Waker(self.engine)
        self.stop = threading.Event()
        self._db_failures = 0
        self._end_claims = self._end_claims_statement()
        self._take, self._read, self._read_parents = self._claim_statements()
        router.on_push_queued(self.waker.poke)

    # -- the loop -----------------------------------------------------------------------------

    def run(self) -> None:
        """Claim and push until `stop` is set; then finish sends in flight and release the rest.

        Sends run on `concurrency` threads; this loop does all the database work. Each turn is one
        transaction that records the sends finished since the last turn and, when half the claims
        are used up, claims more (at most `batch` held at once). A turn waits for `concurrency`
        finished sends or RECORD_DELAY_SECONDS, so a busy dispatcher commits once per batch, not
        twice per message.
        """
        log.info("dispatcher %s started (concurrency %d)", self.name, self.concurrency)
        self.registry.check()
        pending: set[Future[Attempt | None]] = set()
        finished: list[Attempt] = []
        try:
            with ThreadPoolExecutor(self.concurrency, thread_name_prefix="push") as pool:
                while not self.stop.is_set():
                    finished += self._collect(pending)
                    free = self.batch - len(pending)
                    refill = free >= self.batch // 2
                    claimed: list[Claimed] = []
                    if refill or self._record_due(finished):
                        claimed = self._turn(finished, free if refill else 0)
                    for item in claimed:
                        future = pool.submit(self.deliver, item)
                        future.add_done_callback(self._finished)
                        pending.add(future)
                    if claimed:
                        continue
                    if pending:
                        wait(pending, timeout=RECORD_DELAY_SECONDS, return_when=FIRST_COMPLETED)
                    elif not finished:
                        self.waker.wait(self._idle_seconds(), self.stop)
            finished += self._collect(pending)  # the pool has finished every send by now
            if finished:
                self._turn(finished, 0)
        finally:
            released = self.release_all()
            self.waker.close()
            self.registry.close()
            log.info("dispatcher %s stopped; released %d unsent claim(s)", self.name, released)

    def _record_due(self, finished: list[Attempt]) -> bool:
        """Record when a batch's worth has finished, or the oldest has waited RECORD_DELAY."""
        return len(finished) >= self.concurrency or bool(
            finished and time.monotonic() - finished[0].done_at >= RECORD_DELAY_SECONDS
        )

    @staticmethod
    def _collect(pending: set[Future[Attempt | None]]) -> list[Attempt]:
        """Remove the finished sends from `pending` and return those to record."""
        done = [f for f in pending if f.done()]
        pending.difference_update(done)
        attempts = []
        for future in done:
            error = future.exception()
            if error is None:
                attempt = future.result()
                if attempt is not None:
                    attempts.append(attempt)
        return attempts

    def _finished(self, future: Future[Attempt | None]) -> None:
        error = future.exception()
        if error is not None:
            log.error("push failed unexpectedly: %r; the claim expires and it is retried", error)
        self.waker.poke()

    def run_until_idle(self, timeout: float = 30.0) -> int:
        """Push everything due now, one at a time, and return how many attempts were made."""
        deadline = clock.now() + timedelta(seconds=timeout)
        done = 0
        while clock.now() < deadline:
            claimed = self.claim(self.concurrency)
            if not claimed:
                break
            attempts = [a for a in map(self.deliver, claimed) if a is not None]
            with self.engine.begin() as conn:
                self.record(conn, attempts)
            done += len(claimed)
        return done

    def _turn(self, finished: list[Attempt], limit: int) -> list[Claimed]:
        """Record `finished` (emptied once written) and claim up to `limit`, in one transaction.

        If the database does not answer, the sends stay in `finished` for the next turn and
        nothing is claimed; the pause before the next turn doubles per failure.
        """
        if not finished and limit <= 0:
            return []
        try:
            with self.engine.begin() as conn:
                self.record(conn, finished)
                taken = self._claim(conn, limit) if limit > 0 else None
            claimed = self._prepare(taken)  # outside the transaction: no lock held for it
        except (DBAPIError, HttpRouterError) as exc:
            self._db_failures += 1
            pause = min(DB_DOWN_PAUSE_MAX, DB_DOWN_PAUSE_SECONDS * 2 ** (self._db_failures - 1))
            log.warning(
                "dispatcher cannot reach the database (failure %d, next try in %.1f s): %s",
                self._db_failures,
                pause,
                type(exc).__name__,
                extra={"event": "db_unavailable"},
            )
            self.stop.wait(pause)
            return []
        finished.clear()
        if self._db_failures:
            log.info(
                "dispatcher reconnected after %d failures",
                self._db_failures,
                extra={"event": "db_recovered"},
            )
            self._db_failures = 0
        return claimed

    def _idle_seconds(self) -> float:
        """How long to sleep: until the next retry is due, at most IDLE_CHECK_SECONDS."""
        try:
            with self.engine.connect() as conn:
                conn = conn.execution_options(readonly=True)
                with conn.begin():
                    due = conn.execute(
                        select(func.min(messages.c.next_attempt_at)).where(
                            messages.c.status.in_([QUEUED, ERRORED]),
                            messages.c.next_attempt_at.is_not(None),
                            messages.c.lease_owner.is_(None),
                        )
                    ).scalar()
        except DBAPIError:
            return IDLE_CHECK_SECONDS
        if due is None:
            return IDLE_CHECK_SECONDS
        return min(max((due - clock.now()).total_seconds(), 0.0), IDLE_CHECK_SECONDS)

    # -- claiming -----------------------------------------------------------------------------

    def claim(self, limit: int) -> list[Claimed]:
        """Take up to `limit` due messages, highest priority and oldest first."""
        with self.engine.begin() as conn:
            taken = self._claim(conn, limit)
        return self._prepare(taken)

    def _claim(self, conn: Connection, limit: int) -> _Taken:
        """Claim up to `limit` messages; return their rows, their parents' fields, the expiry."""
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
        return rows, self._parent_fields(conn, [r.in_response_to_id for r in rows]), expires

    def _prepare(self, taken: _Taken | None) -> list[Claimed]:
        """Turn claimed rows into messages to push (signing each; the key may load on first use,
        in a transaction of its own, so this runs after the claim's transaction)."""
        if taken is None:
            return []
        rows, parents, expires = taken
        return [self._claimed(row, parents, expires) for row in rows]

    def _claim_statements(self) -> tuple[Any, Any, Any]:
        """The claim (one UPDATE … RETURNING) and the reads after it, built once."""
        now: Any = bindparam("now")
        due = select(messages.c.id).where(
            messages.c.direction == OUTGOING,
            messages.c.status.in_([QUEUED, ERRORED]),
            messages.c.next_attempt_at <= now,
            or_(messages.c.lease_expires_at.is_(None), messages.c.lease_expires_at < now),
        )
        if self.backends_only:
            names = select(backends.c.id).where(backends.c.name.in_(self.backends_only))
            due = due.where(messages.c.backend_id.in_(names))
        due = due.order_by(
            messages.c.priority.desc(), messages.c.next_attempt_at, messages.c.id
        ).limit(bindparam("limit"))
        if self.engine.dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)
        take = (
            update(messages)
            .where(messages.c.id.in_(due.scalar_subquery()))
            .values(lease_owner=self.name, lease_expires_at=bindparam("expires"))
            .returning(messages.c.id)
        )
        ids: Any = bindparam("ids", expanding=True)
        read = select_messages().where(messages.c.id.in_(ids))
        parents = select(messages.c.id, messages.c.fields).where(messages.c.id.in_(ids))
        return take, read, parents

    def _parent_fields(self, conn: Connection, ids: list[int | None]) -> dict[int, dict[str, Any]]:
        wanted = [i for i in ids if i is not None]
        if not wanted:
            return {}
        found = conn.execute(self._read_parents, {"ids": wanted})
        return {row.id: row.fields or {} for row in found}

    def _claimed(
        self, row: Any, parents: dict[int, dict[str, Any]], lease_expires: datetime
    ) -> Claimed:
        fields = row.fields or {}
        # Reply from the number the sender wrote to (its `to`), unless the message says.
        sender = fields.get("sender") or parents.get(row.in_response_to_id, {}).get("to") or ""
        token = self._token(row.id)
        return Claimed(
            OutboundMessage(
                id=row.id,
                backend=row.backend,
                recipient=row.identity,
                text=row.text,
                sender=str(sender),
                priority=row.priority or 0,
                attempt=(row.attempts or 0) + 1,
                token=token,
                public_url=self.public_url,
            ),
            token,
            lease_expires,
        )

    def _token(self, message_id: int) -> str:
        return message_token(self.router.signing_key, message_id)

    def release_all(self) -> int:
        """Give back every claim this dispatcher holds on a message it has not pushed."""
        try:
            with self.engine.begin() as conn:
                return conn.execute(
                    update(messages)
                    .where(messages.c.lease_owner == self.name)
                    .values(lease_owner=None, lease_expires_at=None)
                ).rowcount
        except DBAPIError:
            log.warning("could not release claims; they expire in %ss", self.claim_seconds)
            return 0

    # -- sending ------------------------------------------------------------------------------

    def deliver(self, item: Claimed) -> Attempt | None:
        """Push one claimed message; return the attempt to record (None: nothing was sent)."""
        message = item.message
        try:
            backend = self.registry.get(message.backend)
            if backend is not None and not backend.push:
                backend = None  # its gateway fetches its messages
            request = backend.prepare_request(message) if backend is not None else None
        except (HttpRouterError, KeyError, ValueError, TypeError) as exc:
            log.error("backend %s cannot push message %s: %s", message.backend, message.id, exc)
            self._hold(message, f"backend misconfigured: {exc}")
            return None
        if backend is None or request is None:
            self._to_outbox(message)
            return None
        if backend.rate_limit and not self._wait_for_slot(backend):
            self._release(message.id)
            return None
        if self.stop.is_set():  # stopping: no new send; run() releases every claim at the end
            return None
        left = (item.lease_expires - clock.now()).total_seconds()
        if left < self.claim_seconds / 2:  # waited half its claim here: give it back, not late
            self._release(message.id)
            return None
        started = clock.now()
        result = backend.send(request)
        finished = clock.now()
        metrics.observe_push(message.backend, (finished - started).total_seconds())
        return Attempt(item, backend, request, result, started, finished)

    def record(self, conn: Connection, attempts: list[Attempt]) -> None:
        """Write the attempts and move each message to S, E (with its next attempt) or F.

        Whatever the status became (a delivery report may have got there first and moved it on),
        the attempt counts, a 2xx sets sent_at, and our claim ends.
        """
        if not attempts:
            return
        changes: list[Change] = []
        logged: list[dict[str, Any]] = []
        sent: list[int] = []
        named: list[dict[str, Any]] = []  # the gateway's ids for the messages it accepted
        sent_values: dict[str, Any] = {"error": None, "next_attempt_at": None}
        for attempt in attempts:
            message, result = attempt.item.message, attempt.result
            number = message.attempt
            outcome = result.outcome
            if outcome is Outcome.RETRY and number >= attempt.backend.max_attempts:
                outcome = Outcome.FAILED
            detail: dict[str, Any] = {
                "attempt": number,
                "http_status": result.status_code,
                "worker": self.name,
            }
            if outcome is Outcome.SENT:
                changes.append(Change(message.id, SENT, "pushed", detail, sent_values))
            elif outcome is Outcome.RETRY:
                delay = attempt.backend.backoff(number, result.retry_after)
                detail["retry_in"] = round(delay, 3)
                later = attempt.finished + timedelta(seconds=delay)
                values = {"error": result.error, "next_attempt_at": later}
                changes.append(Change(message.id, ERRORED, "push failed", detail, values))
            else:
                values = {"error": result.error, "next_attempt_at": None}
                changes.append(Change(message.id, FAILED, "push failed", detail, values))
            secrets = (*attempt.backend.secrets, attempt.item.token)
            logged.append(
                {
                    "message_id": message.id,
                    "number": number,
                    "worker": self.name,
                    "started_at": attempt.started,
                    "finished_at": attempt.finished,
                    "request": attempt.request.redacted(secrets),
                    "response_status": result.status_code,
                    "response_body": result.body,
                    "error": result.error,
                    "outcome": outcome.value,
                }
            )
            if outcome is Outcome.SENT:
                sent.append(message.id)
                if result.external_id:
                    named.append({"message_id": message.id, "gateway_id": result.external_id})
            log.info(
                "pushed message %s to %s: %s",
                message.id,
                message.backend,
                outcome.value,
                extra={"message_id": message.id, "backend": message.backend, "worker": self.name},
            )
        # RETURNING makes SQLAlchemy send the rows as one multi-row INSERT (insertmanyvalues).
        conn.execute(insert(delivery_attempts).returning(delivery_attempts.c.id), logged)
        change_statuses(conn, changes)
        if named:
            conn.execute(_SET_EXTERNAL_ID, named)
        ids = [a.item.message.id for a in attempts]
        conn.execute(self._end_claims, {"ids": ids, "sent": sent, "now": clock.now()})

    def _end_claims_statement(self) -> Any:
        """UPDATE counting an attempt on each message of `ids` and ending our claims on them."""
        mine = messages.c.lease_owner == self.name
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

    def _wait_for_slot(self, backend: GatewayEngine) -> bool:
        """Wait for this backend's next send slot (shared by every dispatcher); False if stopped."""
        interval = timedelta(seconds=1 / (backend.rate_limit or 1))
        now = clock.now()
        with self.engine.begin() as conn:
            stmt = insert_or_skip(send_slots, conn.dialect.name)
            conn.execute(stmt.values(backend=backend.name, next_at=now))
            query = select(send_slots.c.next_at).where(send_slots.c.backend == backend.name)
            if conn.dialect.name == "postgresql":
                query = query.with_for_update()
            slot = max(conn.execute(query).scalar_one(), now)
            conn.execute(
                update(send_slots)
                .where(send_slots.c.backend == backend.name)
                .values(next_at=slot + interval)
            )
        delay = (slot - clock.now()).total_seconds()
        return not (delay > 0 and self.stop.wait(delay))

    def _clear_claim(self, conn: Connection, message_id: int) -> None:
        conn.execute(
            update(messages)
            .where(and_(messages.c.id == message_id, messages.c.lease_owner == self.name))
            .values(lease_owner=None, lease_expires_at=None)
        )

    def _release(self, message_id: int) -> None:
        with self.engine.begin() as conn:
            self._clear_claim(conn, message_id)

    def _hold(self, message: OutboundMessage, error: str) -> None:
        """Keep a message the backend cannot push now; it is tried again later, never dropped."""
        later = clock.now() + timedelta(seconds=BROKEN_CONFIG_RETRY_SECONDS)
        with self.engine.begin() as conn:
            conn.execute(
                update(messages)
                .where(messages.c.id == message.id)
                .values(error=error[:500], next_attempt_at=later)
            )
            self._clear_claim(conn, message.id)

    def _to_outbox(self, message: OutboundMessage) -> None:
        """A message whose backend is now pulled: leave it to the pollers instead."""
        log.warning(
            "backend %s is not pushed; message %s waits for its poller",
            message.backend,
            message.id,
        )
        with self.engine.begin() as conn:
            conn.execute(
                update(messages).where(messages.c.id == message.id).values(next_attempt_at=None)
            )
            self._clear_claim(conn, message.id)
