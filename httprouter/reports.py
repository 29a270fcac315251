"""Delivery reports: what a gateway or poller says happened to an outbound message.

Kannel sends the DLR type as `%d` in the dlr-url (its user guide, "Delivery reports"; the values
are the bits of `dlr-mask`). Several reports may come for one message and out of order (8, then
4, then 1), so a report only ever moves a message forward (see `status.change_status`); a late
or repeated one changes nothing. Every report, even one that changes nothing, is recorded in the
message's history with the raw parameters it came with (credentials removed).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Connection, Engine, func

from . import clock
from .db import translate_errors
from .errors import HttpRouterError, NotFoundError, ValidationError
from .models import DELIVERED, FAILED, INCOMING, SENT, STATUS_NAMES, messages
from .redact import SECRET_PARAMS
from .status import Change, change_statuses, read_current

# Kannel DLR types (dlr-mask bits, the value of %d).
DLR_DELIVERED = 1  # delivered to the phone
DLR_UNDELIVERED = 2  # not delivered to the phone
DLR_BUFFERED = 4  # queued on the SMSC
DLR_SMSC_ACCEPTED = 8  # the SMSC acknowledged the submit
DLR_SMSC_REJECTED = 16  # the SMSC refused it
DLR_INTERMEDIATE = 32  # an SMSC intermediate notification: recorded, changes nothing

# DLR type → the status it reports (None: recorded only).
KANNEL_DLR_STATUS: dict[int, str | None] = {
    DLR_DELIVERED: DELIVERED,
    DLR_UNDELIVERED: FAILED,
    DLR_BUFFERED: SENT,
    DLR_SMSC_ACCEPTED: SENT,
    DLR_SMSC_REJECTED: FAILED,
    DLR_INTERMEDIATE: None,
}

# Words a poller may send instead of a number.
WORD_STATUS: dict[str, str] = {"sent": SENT, "delivered": DELIVERED, "failed": FAILED}

# Without a status, a report means "delivered" (the legacy /router/delivered).
LEGACY_STATUS = DELIVERED

MAX_RAW_VALUE = 1000  # characters of each raw parameter kept in the history

CAUSE = "report"


@dataclass(frozen=True)
class ReportOutcome:
    """What one report did to its message."""

    message_id: int
    reported: str | None
    old: str
    new: str
    changed: bool

    def to_json(self) -> dict[str, Any]:
        """Return the outcome as JSON for the answer."""
        return {
            "message_id": self.message_id,
            "reported": STATUS_NAMES.get(self.reported) if self.reported else None,
            "status": self.new,
            "status_name": STATUS_NAMES.get(self.new, self.new),
            "changed": self.changed,
        }


def parse_status(value: Any) -> str | None:
    """Return the status letter a report's `status` asks for (None: record only).

    A missing or empty status means delivered (legacy); unknown values raise ValidationError.
    """
    if value is None or value == "":
        return LEGACY_STATUS
    if isinstance(value, bool):
        raise ValidationError("status must be a DLR type or a word", field="status")
    text = str(value).strip().lower()
    if text in WORD_STATUS:
        return WORD_STATUS[text]
    try:
        number = int(text)
    except ValueError:
        number = -1
    if number not in KANNEL_DLR_STATUS:
        raise ValidationError(
            "status must be one of 1, 2, 4, 8, 16, 32, sent, delivered, failed",
            field="status",
            value=str(value)[:50],
        )
    return KANNEL_DLR_STATUS[number]


def raw_detail(params: dict[str, Any]) -> dict[str, Any]:
    """Return the report's parameters for the history, without credentials."""
    kept: dict[str, Any] = {}
    for key, value in params.items():
        if str(key).lower() in SECRET_PARAMS:
            continue
        if isinstance(value, str) and len(value) > MAX_RAW_VALUE:
            value = value[:MAX_RAW_VALUE]
        kept[str(key)] = value
    return kept


def _moved_values(reported: str, raw_status: Any, sent_at: Any, now: Any) -> dict[str, Any]:
    """The columns a report writes besides the status when it moves the message."""
    values: dict[str, Any] = {}
    if reported in (SENT, DELIVERED):
        values["sent_at"] = sent_at
    if reported == DELIVERED:
        values["delivered_at"] = now
    if reported == FAILED:
        values["error"] = f"gateway reported failure (status {raw_status})"
    return values


def apply_report(
    conn: Connection, message_id: int, reported: str | None, params: dict[str, Any]
) -> ReportOutcome:
    """Apply one report inside a transaction, moving the message only forward; record it."""
    found = read_current(conn, [message_id]).get(message_id)
    if found is None:
        raise NotFoundError(f"no message with id {message_id}", field="message_id")
    if found.direction == INCOMING:
        raise _inbound(message_id)
    values = None
    if reported is not None:
        now = clock.now()
        values = _moved_values(
            reported, params.get("status"), func.coalesce(messages.c.sent_at, now), now
        )
    change = Change(message_id, reported, CAUSE, {"params": raw_detail(params)}, values)
    result = change_statuses(conn, [change], current={message_id: found})[0]
    return ReportOutcome(message_id, reported, result.old, result.new, result.changed)


def _inbound(message_id: int) -> ValidationError:
    return ValidationError(
        f"message {message_id} is inbound: reports are for outbound messages", field="message_id"
    )


Report = tuple[int, str | None, dict[str, Any]]  # message id, status asked for, raw parameters


def apply_reports(
    engine: Engine, reports: Sequence[Report]
) -> list[ReportOutcome | HttpRouterError]:
    """Apply many reports in one transaction, with the outcome `apply_report` gives each in turn
    (in message id order; reports for one message in the order given).

    Set-based: one read of every message (locked on PostgreSQL), then `change_statuses` (an UPDATE
    per group, one history insert). A message reported more than once takes one more such round
    per repeat. A report on an unknown or inbound message gets its error in its place in the list
    (NotFoundError, ValidationError) and the others are applied all the same. Everything that
    needs no database is done before the transaction begins: on SQLite it holds the write lock.
    """
    now = clock.now()
    sent_at = func.coalesce(messages.c.sent_at, now)  # one expression: one UPDATE per status
    moved: dict[tuple[str, str], dict[str, Any]] = {}  # one dict per distinct values
    changes: list[Change] = []
    for message_id, reported, params in reports:
        values = None
        if reported is not None:
            key = (reported, str(params.get("status")) if reported == FAILED else "")
            values = moved.get(key)
            if values is None:
                values = moved[key] = _moved_values(reported, params.get("status"), sent_at, now)
        changes.append(Change(message_id, reported, CAUSE, {"params": raw_detail(params)}, values))
    outcomes: list[ReportOutcome | HttpRouterError | None] = [None] * len(reports)
    pending = sorted(range(len(reports)), key=lambda i: reports[i][0])
    with translate_errors(), engine.begin() as conn:
        found = read_current(conn, (change.message_id for change in changes))
        while pending:
            taken: set[int] = set()
            this_round: list[int] = []
            later: list[int] = []
            for i in pending:
                message_id = changes[i].message_id
                current = found.get(message_id)
                if current is None:
                    error = f"no message with id {message_id}"
                    outcomes[i] = NotFoundError(error, field="message_id")
                elif current.direction == INCOMING:
                    outcomes[i] = _inbound(message_id)
                elif message_id in taken:
                    later.append(i)
                else:
                    taken.add(message_id)
                    this_round.append(i)
            results = change_statuses(conn, [changes[i] for i in this_round], current=found)
            for i, result in zip(this_round, results, strict=True):
                outcomes[i] = ReportOutcome(
                    result.message_id, changes[i].new, result.old, result.new, result.changed
                )
                if later:  # the next round sees the status this one left
                    found[result.message_id] = found[result.message_id]._replace(status=result.new)
            pending = later
    return cast(list[ReportOutcome | HttpRouterError], outcomes)  # every place is filled
