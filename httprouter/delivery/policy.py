"""What a finished push means for its message: the pure outcome policy of the dispatcher.

A 2xx (as the engine reads it) makes the message S; a retryable failure makes it E with the next
attempt after the engine's backoff, unless it was the last attempt, which makes it F like a
permanent failure. Every attempt is logged with its request (credentials masked) and answer.
No database and no threads here: `decide` turns finished sends into the rows to write.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from ..domain.statuses import ERRORED, FAILED, SENT
from ..gateways.base import Outcome, SendResult
from ..store.history import Change

T = TypeVar("T")


@dataclass(frozen=True)
class Finished:
    """One finished send, as the policy needs to know it."""

    message_id: int
    backend: str
    attempt: int  # this send's number, from 1
    max_attempts: int
    backoff: Callable[[int, float | None], float]  # attempt, Retry-After → seconds to wait
    result: SendResult
    request: str  # the request as logged (credentials masked)
    started: datetime
    finished: datetime


@dataclass
class Decision:
    """The rows a batch of finished sends writes."""

    changes: list[Change] = field(default_factory=list)
    attempts: list[dict[str, Any]] = field(default_factory=list)  # delivery_attempts rows
    sent: list[int] = field(default_factory=list)  # messages a gateway accepted
    named: list[dict[str, Any]] = field(default_factory=list)  # their gateway ids
    outcomes: list[Outcome] = field(default_factory=list)  # each send's, in order


_SENT_VALUES: dict[str, Any] = {"error": None, "next_attempt_at": None}


def decide(finished: Sequence[Finished], worker: str) -> Decision:
    """The status changes, attempt rows and gateway ids `finished` sends make."""
    decision = Decision()
    for send in finished:
        result = send.result
        outcome = result.outcome
        if outcome is Outcome.RETRY and send.attempt >= send.max_attempts:
            outcome = Outcome.FAILED
        detail: dict[str, Any] = {
            "attempt": send.attempt,
            "http_status": result.status_code,
            "worker": worker,
        }
        if outcome is Outcome.SENT:
            change = Change(send.message_id, SENT, "pushed", detail, _SENT_VALUES)
            decision.sent.append(send.message_id)
            if result.external_id:
                decision.named.append(
                    {"message_id": send.message_id, "gateway_id": result.external_id}
                )
        elif outcome is Outcome.RETRY:
            delay = send.backoff(send.attempt, result.retry_after)
            detail["retry_in"] = round(delay, 3)
            later = send.finished + timedelta(seconds=delay)
            values = {"error": result.error, "next_attempt_at": later}
            change = Change(send.message_id, ERRORED, "push failed", detail, values)
        else:
            values = {"error": result.error, "next_attempt_at": None}
            change = Change(send.message_id, FAILED, "push failed", detail, values)
        decision.changes.append(change)
        decision.outcomes.append(outcome)
        decision.attempts.append(
            {
                "message_id": send.message_id,
                "number": send.attempt,
                "worker": worker,
                "started_at": send.started,
                "finished_at": send.finished,
                "request": send.request,
                "response_status": result.status_code,
                "response_body": result.body,
                "error": result.error,
                "outcome": outcome.value,
            }
        )
    return decision


def batches(
    items: Sequence[T],
    key: Callable[[T], Hashable],
    recipient: Callable[[T], str],
    limit: Callable[[T], int],
) -> list[list[T]]:
    """Group claimed messages into gateway requests: those with the same `key` (backend, text,
    sender, priority) share a request, up to `limit` of them and each recipient once; the
    others stay alone. Requests come in the order of their first message; within a request the
    messages keep their order."""
    open_batches: dict[Hashable, list[T]] = {}
    grouped: list[list[T]] = []
    for item in items:
        size = max(1, limit(item))
        if size == 1:
            grouped.append([item])
            continue
        k = key(item)
        batch = open_batches.get(k)
        if (
            batch is None
            or len(batch) >= size
            or any(recipient(other) == recipient(item) for other in batch)
        ):
            batch = open_batches[k] = []
            grouped.append(batch)
        batch.append(item)
    return grouped
