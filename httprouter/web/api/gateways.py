"""/router/backends/<name>/receive and /delivered: a gateway's own calls, read by its engine.

The engine reads the call into what it carries (an `Exchange`: inbound messages, reports, and
how many queued messages its answer hands out); this module authorises the call, stores the
messages, applies the reports, leases the queued messages from the outbox, and gives the engine
all of it for its answer. The answer is given after the commits, so a gateway that got its
success answer never loses a message.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from flask import Blueprint, Response, current_app

from ...delivery.dispatcher import default_public_url
from ...domain.statuses import SENT
from ...errors import HttpRouterError, NotFoundError, ValidationError
from ...gateways.base import (
    DELIVERED,
    RECEIVE,
    Answer,
    Call,
    Exchange,
    GatewayEngine,
    Handled,
    Outbound,
)
from ...store.engine import translate_errors
from ...store.outbox import MAX_LIMIT, claim, sent_waiting
from ...store.reports import Report, ReportOutcome, apply_reports
from ...store.tokens import message_token, verify_token
from .. import current_router, route
from ..params import authorize_call, current_call, gateway_seen
from .receive import store_inbound

bp = Blueprint("gateways", __name__)
log = logging.getLogger(__name__)

MAX_REPORTS = 1000  # reports one call may carry
HAND_OUT_CAUSE = "handed out"  # the history entry of a message a gateway will not confirm


def _engine(name: str) -> GatewayEngine:
    registry = current_router().gateways
    engine: GatewayEngine | None = registry.get(name) if hasattr(registry, "get") else None
    if engine is None:
        raise NotFoundError(
            f"backend {name!r} has no engine: give it one in BACKENDS to use this URL "
            "(the legacy /router/receive and /router/delivered serve every backend)",
            field="backend",
        )
    return engine


def _answer(answer: Answer) -> Response:
    response = Response(answer.body, status=answer.status, content_type=answer.content_type)
    response.headers.update(answer.headers)
    return response


def _failed(engine: GatewayEngine, call: Call | None, error: HttpRouterError) -> Response:
    """The engine's own error answer, or the router's JSON error when it has none."""
    answer = engine.answer_error(call, error)
    if answer is None:
        raise error
    return _answer(answer)


@route(bp, "/router/backends/<name>/receive", methods=["GET", "POST", "PUT"])
def backend_receive(name: str) -> Response:
    return _serve(name, RECEIVE)


@route(bp, "/router/backends/<name>/delivered", methods=["GET", "POST"])
def backend_delivered(name: str) -> Response:
    return _serve(name, DELIVERED)


def _serve(name: str, endpoint: str) -> Response:
    engine = _engine(name)
    call = None
    try:
        call = current_call()
        if endpoint == RECEIVE:
            authorize_call(call, engine, name)
            gateway_seen(name)
        exchange = engine.read_call(call, endpoint)
        if len(exchange.reports) > MAX_REPORTS:
            raise ValidationError(f"at most {MAX_REPORTS} reports per call", field="body")
        if endpoint == DELIVERED:
            _authorize_reports(call, engine, name, exchange.reports)
        handled = _carry_out(name, exchange)
        answer = engine.answer_call(call, endpoint, handled)
    except HttpRouterError as exc:
        return _failed(engine, call, exc)
    return _answer(answer)


def _authorize_reports(
    call: Call, engine: GatewayEngine, name: str, reports: Sequence[Report]
) -> None:
    """A report call is authorised by the token of our report URL, else by the credential."""
    if not reports:
        raise ValidationError("the call carries no report", field="body")
    token = call.args.get("token") or call.params.get("token")
    key = _signing_key()
    signed = isinstance(token, str) and all(
        r.message_id is not None and verify_token(key, r.message_id, token) for r in reports
    )
    if not signed:
        authorize_call(call, engine, name)


def _carry_out(name: str, exchange: Exchange) -> Handled:
    """Store the messages, apply the reports, hand out queued messages: in that order, so the
    answer to an inbound message can carry the replies it caused."""
    received = [store_inbound(name, inbound) for inbound in exchange.inbound]
    reported = _apply(name, exchange.reports) if exchange.reports else []
    handed_out: list[Outbound] = []
    if exchange.hand_out > 0:
        handed_out = _hand_out(name, exchange)
    waiting: list[Outbound] = []
    if exchange.list_sent > 0:
        router = current_router()
        found = sent_waiting(router.engine, backend=name, limit=min(exchange.list_sent, MAX_LIMIT))
        waiting = [_outbound(message) for message in found]
    return Handled(exchange, received, reported, handed_out, waiting)


def _apply(name: str, reports: Sequence[Report]) -> list[ReportOutcome | HttpRouterError]:
    """Apply the reports; one whose token is wrong for its message is refused in its place."""
    key = _signing_key()
    outcomes: list[ReportOutcome | HttpRouterError | None] = []
    good: list[Report] = []
    for report in reports:
        if report.token is not None and (
            report.message_id is None or not verify_token(key, report.message_id, report.token)
        ):
            outcomes.append(NotFoundError("no message with that id", field="message_id"))
        else:
            outcomes.append(None)
            good.append(report)
    applied = iter(apply_reports(current_router().engine, good, backend=name) if good else [])
    done = [next(applied) if outcome is None else outcome for outcome in outcomes]
    for report, outcome in zip(reports, done, strict=True):
        if isinstance(outcome, HttpRouterError):
            log.warning(
                "report from %s not applied: %s",
                name,
                outcome.message,
                extra={"backend": name, "message_id": report.message_id},
            )
    return done


def _hand_out(name: str, exchange: Exchange) -> list[Outbound]:
    """Lease queued messages to this call as the outbox does; sent at once when asked."""
    router = current_router()
    lease = claim(
        router.engine,
        lease_seconds=current_app.config["OUTBOX_LEASE_SECONDS"],
        backend=name,
        limit=min(exchange.hand_out, MAX_LIMIT),
    )
    handed = [_outbound(message) for message in lease.messages]
    if handed and exchange.sent_on_hand_out:
        # The gateway never confirms what it is handed: the hand-out is the send.
        params = {"handed_out": "the gateway does not confirm what it is handed"}
        sent = [Report(message.id, SENT, params, raw_status=HAND_OUT_CAUSE) for message in handed]
        apply_reports(router.engine, sent, backend=name)
    return handed


def _signing_key() -> bytes:
    """The key of the messages' tokens (read from the database the first time)."""
    with translate_errors():
        return current_router().store.signing_key


def _outbound(message: dict[str, Any]) -> Outbound:
    return Outbound(
        id=message["id"],
        backend=message["backend"],
        recipient=message["contact"],
        text=message["text"],
        priority=message.get("priority") or 0,
        attempt=message.get("attempts") or 1,
        token=message_token(_signing_key(), message["id"]),
        public_url=default_public_url(current_app.config),
    )
