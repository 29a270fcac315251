"""The dispatcher loop: claims due push messages, sends them on threads, records what happened.

This is the one place that moves outbound messages from Q/E to S, E or F. The message table is
the queue (store/claims.py): a dispatcher that dies keeps nothing; its claims expire after
CLAIM_SECONDS and another dispatcher takes them. Delivery is therefore at least once: a message
whose send was in flight when its dispatcher was killed is sent again, with the same message id,
so a gateway can drop the repeat. What each outcome means is delivery/policy.py's.
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

from sqlalchemy import Connection, insert
from sqlalchemy.exc import DBAPIError

from .. import clock
from ..errors import HttpRouterError
from ..gateways.base import GatewayEngine, Outbound, PreparedRequest, SendResult
from ..router import Router
from ..store import metrics
from ..store.claims import Claims, Taken
from ..store.history import change_statuses
from ..store.schema import delivery_attempts
from ..store.slots import next_slot
from ..store.tokens import message_token
from .policy import Finished, batches, decide
from .wakeup import Waker

log = logging.getLogger(__name__)

IDLE_CHECK_SECONDS = 1.0  # longest sleep without looking at the table (missed wake-ups)
BROKEN_CONFIG_RETRY_SECONDS = 60.0  # a backend that cannot be built is tried again this late
DB_DOWN_PAUSE_SECONDS = 0.5  # first pause after the database fails to answer
DB_DOWN_PAUSE_MAX = 15.0  # the pause doubles per failure up to this


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

    message: Outbound  # its `attempt` is the number this send will be
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
        router: Router,
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
        self.claims = Claims(self.engine, self.name, self.claim_seconds, self.backends_only)
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
        pending: set[Future[list[Attempt]]] = set()
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
                    for group in self.group(claimed):
                        future = pool.submit(self.deliver_batch, group)
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
    def _collect(pending: set[Future[list[Attempt]]]) -> list[Attempt]:
        """Remove the finished sends from `pending` and return those to record."""
        done = [f for f in pending if f.done()]
        pending.difference_update(done)
        attempts: list[Attempt] = []
        for future in done:
            error = future.exception()
            if error is None:
                attempts += future.result()
        return attempts

    def _finished(self, future: Future[list[Attempt]]) -> None:
        error = future.exception()
        if error is not None:
            log.error("push failed unexpectedly: %r; the claim expires and it is retried", error)
        self.waker.poke()

    def run_until_idle(self, timeout: float = 30.0) -> int:
        """Push everything due now, batch by batch, and return how many messages it claimed
        (those sent, and those it held or left to pollers)."""
        deadline = clock.now() + timedelta(seconds=timeout)
        done = 0
        while clock.now() < deadline:
            claimed = self.claim(self.concurrency)
            if not claimed:
                break
            attempts = [a for group in self.group(claimed) for a in self.deliver_batch(group)]
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
        except (DBAPIError, HttpRouterError) as exc:
            self._database_failed(exc)
            return []
        finished.clear()  # recorded: never again, whatever happens next
        try:
            claimed = self._prepare(taken)  # outside the transaction: no lock held for it
        except (DBAPIError, HttpRouterError) as exc:
            self._database_failed(exc)  # the claims expire and are taken again
            return []
        if self._db_failures:
            log.info(
                "dispatcher reconnected after %d failures",
                self._db_failures,
                extra={"event": "db_recovered"},
            )
            self._db_failures = 0
        return claimed

    def _database_failed(self, exc: BaseException) -> None:
        """Count a failure to reach the database and pause, twice as long each time."""
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

    def _idle_seconds(self) -> float:
        """How long to sleep: until the next retry is due, at most IDLE_CHECK_SECONDS."""
        due = self.claims.next_due()
        if due is None:
            return IDLE_CHECK_SECONDS
        return min(max((due - clock.now()).total_seconds(), 0.0), IDLE_CHECK_SECONDS)

    # -- claiming -----------------------------------------------------------------------------

    def claim(self, limit: int) -> list[Claimed]:
        """Take up to `limit` due messages, highest priority and oldest first."""
        with self.engine.begin() as conn:
            taken = self._claim(conn, limit)
        return self._prepare(taken)

    def _claim(self, conn: Connection, limit: int) -> Taken:
        """Claim up to `limit` messages; return their rows, their parents' fields, the expiry."""
        return self.claims.take(conn, limit)

    def _prepare(self, taken: Taken | None) -> list[Claimed]:
        """Turn claimed rows into messages to push (signing each; the key may load on first use,
        in a transaction of its own, so this runs after the claim's transaction)."""
        if taken is None:
            return []
        rows, parents, expires = taken
        return [self._claimed(row, parents, expires) for row in rows]

    def _claimed(
        self, row: Any, parents: dict[int, dict[str, Any]], lease_expires: datetime
    ) -> Claimed:
        fields = row.fields or {}
        # Reply from the number the sender wrote to (its `to`), unless the message says.
        sender = fields.get("sender") or parents.get(row.in_response_to_id, {}).get("to") or ""
        token = self._token(row.id)
        return Claimed(
            Outbound(
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
        return message_token(self.router.store.signing_key, message_id)

    def release_all(self) -> int:
        """Give back every claim this dispatcher holds on a message it has not pushed."""
        try:
            return self.claims.release_all()
        except DBAPIError:
            log.warning("could not release claims; they expire in %ss", self.claim_seconds)
            return 0

    # -- sending ------------------------------------------------------------------------------

    def group(self, claimed: list[Claimed]) -> list[list[Claimed]]:
        """The gateway requests these claims make: one text to many recipients in one request
        where the backend's engine takes that (its `max_recipients`), else one each."""

        def limit(item: Claimed) -> int:
            try:
                engine = self.registry.get(item.message.backend)
            except (HttpRouterError, KeyError, ValueError, TypeError):
                return 1  # deliver_batch holds it, saying why
            return engine.max_recipients if engine is not None and engine.push else 1

        def key(item: Claimed) -> tuple[str, str, str, int]:
            m = item.message
            return (m.backend, m.text, m.sender, m.priority)

        return batches(claimed, key, lambda item: item.message.recipient, limit)

    def deliver(self, item: Claimed) -> Attempt | None:
        """Push one claimed message; return the attempt to record (None: nothing was sent)."""
        attempts = self.deliver_batch([item])
        return attempts[0] if attempts else None

    def deliver_batch(self, items: list[Claimed]) -> list[Attempt]:
        """Push claimed messages with one text in one request (one message: its own); return the
        attempts to record, one per message sent (none: nothing was sent)."""
        first = items[0].message
        messages = [item.message for item in items]
        try:
            backend = self.registry.get(first.backend)
            if backend is not None and not backend.push:
                backend = None  # its gateway fetches its messages
            request = backend.prepare_batch(messages) if backend is not None else None
        except (HttpRouterError, KeyError, ValueError, TypeError) as exc:
            for message in messages:
                log.error("backend %s cannot push message %s: %s", first.backend, message.id, exc)
                self._hold(message, f"backend misconfigured: {exc}")
            return []
        if backend is None or request is None:
            for message in messages:
                self._to_outbox(message)
            return []
        if backend.rate_limit and not self._wait_for_slot(backend):
            for message in messages:
                self._release(message.id)
            return []
        if self.stop.is_set():  # stopping: no new send; run() releases every claim at the end
            return []
        now = clock.now()
        if any(
            (item.lease_expires - now).total_seconds() < self.claim_seconds / 2 for item in items
        ):  # waited half its claim here: give it back, not late
            for message in messages:
                self._release(message.id)
            return []
        started = clock.now()
        results = backend.send_batch(request, messages)
        finished = clock.now()
        metrics.observe_push(first.backend, (finished - started).total_seconds())
        return [
            Attempt(item, backend, request, result, started, finished)
            for item, result in zip(items, results, strict=True)
        ]

    def record(self, conn: Connection, attempts: list[Attempt]) -> None:
        """Write the attempts and move each message to S, E (with its next attempt) or F.

        Whatever the status became (a delivery report may have got there first and moved it on),
        the attempt counts, a 2xx sets sent_at, and our claim ends.
        """
        if not attempts:
            return
        decision = decide([self._finished_send(a) for a in attempts], self.name)
        for attempt, outcome in zip(attempts, decision.outcomes, strict=True):
            message = attempt.item.message
            log.info(
                "pushed message %s to %s: %s",
                message.id,
                message.backend,
                outcome.value,
                extra={"message_id": message.id, "backend": message.backend, "worker": self.name},
            )
        # RETURNING makes SQLAlchemy send the rows as one multi-row INSERT (insertmanyvalues).
        conn.execute(insert(delivery_attempts).returning(delivery_attempts.c.id), decision.attempts)
        change_statuses(conn, decision.changes)
        ids = [a.item.message.id for a in attempts]
        self.claims.end(conn, ids, decision.sent, decision.named)

    @staticmethod
    def _finished_send(attempt: Attempt) -> Finished:
        message, engine = attempt.item.message, attempt.backend
        return Finished(
            message_id=message.id,
            backend=message.backend,
            attempt=message.attempt,
            max_attempts=engine.max_attempts,
            backoff=engine.backoff,
            result=attempt.result,
            request=attempt.request.redacted((*engine.secrets, attempt.item.token)),
            started=attempt.started,
            finished=attempt.finished,
        )

    def _wait_for_slot(self, backend: GatewayEngine) -> bool:
        """Wait for this backend's next send slot (shared by every dispatcher); False if stopped."""
        slot = next_slot(self.engine, backend.name, backend.rate_limit or 1)
        delay = (slot - clock.now()).total_seconds()
        return not (delay > 0 and self.stop.wait(delay))

    def _release(self, message_id: int) -> None:
        self.claims.release(message_id)

    def _hold(self, message: Outbound, error: str) -> None:
        """Keep a message the backend cannot push now; it is tried again later, never dropped."""
        later = clock.now() + timedelta(seconds=BROKEN_CONFIG_RETRY_SECONDS)
        self.claims.hold(message.id, error, later)

    def _to_outbox(self, message: Outbound) -> None:
        """A message whose backend is now pulled: leave it to the pollers instead."""
        log.warning(
            "backend %s is not pushed; message %s waits for its poller",
            message.backend,
            message.id,
        )
        self.claims.to_pollers(message.id)
