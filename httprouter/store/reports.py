"""Delivery reports: what a gateway or poller says happened to an outbound message.

Each gateway engine reads its own reports into `Report`s (the status letter it asks for, or None
to record the report only); this module applies them. A report names the message by our id (in
the report URL we gave the gateway) or by the gateway's own id for it (`external_id`, from the
send answer). Several reports may come for one message and out of order (accepted, buffered,
delivered), so a report only ever moves a message forward (`history.change_statuses`); a late or
repeated one changes nothing. Every report, even one that changes nothing, is recorded in the
message's history with the raw parameters it came with (credentials removed).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Connection, Engine, bindparam, func, select

from .. import clock
from ..domain.statuses import DELIVERED, FAILED, INCOMING, OUTGOING, SENT, STATUS_NAMES
from ..errors import HttpRouterError, NotFoundError, ValidationError
from ..redact import SECRET_PARAMS
from .engine import translate_errors
from .history import Change, change_statuses, read_current
from .schema import backends, connections, messages

MAX_RAW_VALUE = 1000  # characters of each raw parameter kept in the history

CAUSE = "report"


@dataclass(frozen=True)
class Report:
    """What a gateway says happened to one outbound message.

    `message_id` is ours; lacking it, `external_id` is the gateway's id for the message. `status`
    is the letter the report asks for (None: record it, change nothing); `raw_status` is the
    status as the gateway wrote it; `params` are the report's parameters, kept in the history.
    `token`, when the report carries one, is what authorises it: it must be the token signed for
    `message_id` (the web layer checks it before the report is applied). `recipient` names the
    message among several one request sent (they share the gateway's id): the one to that
    identity (compared by its digits).
    """

    message_id: int | None = None
    status: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    external_id: str | None = None
    raw_status: Any = None
    token: str | None = None
    recipient: str | None = None


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


_BY_EXTERNAL_ID = (
    select(messages.c.external_id, messages.c.id, connections.c.identity)
    .join(connections, connections.c.id == messages.c.connection_id)
    .where(
        messages.c.backend_id
        == select(backends.c.id).where(backends.c.name == bindparam("backend")).scalar_subquery(),
        messages.c.external_id.in_(bindparam("external_ids", expanding=True)),
        messages.c.direction == OUTGOING,
    )
    .order_by(messages.c.id)
)


def _digits(identity: str) -> str:
    return "".join(c for c in identity if c.isdigit()) or identity


def _resolve(conn: Connection, backend: str | None, reports: Sequence[Report]) -> list[int | None]:
    """Our message id for each report: its own, or the one its gateway id names on `backend`
    (to its `recipient`, when it names one)."""
    wanted = {r.external_id for r in reports if r.message_id is None and r.external_id}
    found: dict[str, int] = {}
    by_recipient: dict[tuple[str, str], int] = {}
    shared: set[str] = set()  # gateway ids that name more than one message
    if wanted and backend is not None:
        rows = conn.execute(_BY_EXTERNAL_ID, {"backend": backend, "external_ids": sorted(wanted)})
        for external_id, message_id, identity in rows:
            if external_id in found:
                shared.add(external_id)
            found.setdefault(external_id, message_id)  # the first message given that id
            by_recipient.setdefault((external_id, _digits(identity)), message_id)
    resolved: list[int | None] = []
    for r in reports:
        external_id = r.external_id or ""
        if r.message_id is not None:
            resolved.append(r.message_id)
        elif r.recipient and external_id in shared:
            resolved.append(by_recipient.get((external_id, _digits(r.recipient))))
        else:
            resolved.append(found.get(external_id))
    return resolved


def apply_reports(
    engine: Engine, reports: Sequence[Report], backend: str | None = None
) -> list[ReportOutcome | HttpRouterError]:
    """Apply many reports in one transaction, with the outcome `apply_report` gives each in turn
    (in message id order; reports for one message in the order given).

    With `backend` (a backend's own report URL), a report about another backend's message is
    refused as unknown. A report without our message id is matched by its `external_id` among
    `backend`'s outbound
    messages. Set-based: one read of every message (locked on PostgreSQL), then `change_statuses`
    (an UPDATE per group, one history insert). A message reported more than once takes one more
    such round per repeat. A report on an unknown or inbound message gets its error in its place
    in the list (NotFoundError, ValidationError) and the others are applied all the same.
    Everything that needs no database is done before the transaction begins: on SQLite it holds
    the write lock.
    """
    now = clock.now()
    sent_at = func.coalesce(messages.c.sent_at, now)  # one expression: one UPDATE per status
    moved: dict[tuple[str, str], dict[str, Any]] = {}  # one dict per distinct values
    changes: dict[int, Change] = {}  # by the report's place in `reports`
    outcomes: list[ReportOutcome | HttpRouterError | None] = [None] * len(reports)
    with translate_errors(), engine.begin() as conn:
        ids = _resolve(conn, backend, reports)
        for i, (report, message_id) in enumerate(zip(reports, ids, strict=True)):
            if message_id is None:
                name = f"gateway id {report.external_id!r}" if report.external_id else "no id"
                outcomes[i] = NotFoundError(f"no message with {name}", field="message_id")
                continue
            values = None
            if report.status is not None:
                key = (report.status, str(report.raw_status) if report.status == FAILED else "")
                values = moved.get(key)
                if values is None:
                    values = moved[key] = _moved_values(
                        report.status, report.raw_status, sent_at, now
                    )
            detail = {"params": raw_detail(report.params)}
            changes[i] = Change(message_id, report.status, CAUSE, detail, values)
        pending = sorted(changes, key=lambda i: changes[i].message_id)
        found = read_current(conn, (c.message_id for c in changes.values()))
        while pending:
            taken: set[int] = set()
            this_round: list[int] = []
            later: list[int] = []
            for i in pending:
                change = changes[i]
                current = found.get(change.message_id)
                if current is None or (
                    backend is not None and current.backend.lower() != backend.lower()
                ):
                    # A backend's own report URL speaks for that backend's messages only.
                    error = f"no message with id {change.message_id}"
                    if backend is not None:
                        error += f" on backend {backend!r}"
                    outcomes[i] = NotFoundError(error, field="message_id")
                elif current.direction == INCOMING:
                    outcomes[i] = _inbound(change.message_id)
                elif change.message_id in taken:
                    later.append(i)
                else:
                    taken.add(change.message_id)
                    this_round.append(i)
            results = change_statuses(conn, [changes[i] for i in this_round], current=found)
            for i, result in zip(this_round, results, strict=True):
                outcomes[i] = ReportOutcome(
                    result.message_id, reports[i].status, result.old, result.new, result.changed
                )
                if later:  # the next round sees the status this one left
                    found[result.message_id] = found[result.message_id]._replace(status=result.new)
            pending = later
    return cast(list[ReportOutcome | HttpRouterError], outcomes)  # every place is filled
