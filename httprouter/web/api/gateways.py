"""/router/backends/<name>/receive and /delivered: a gateway's own calls, read by its engine.

The engine reads the call (its protocol's parameters, signatures and error answers); this module
only authorises it, stores what the engine read, and sends back the engine's answer. The answer
is given after the commit, so a gateway that got its success answer never loses a message.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response

from ...errors import HttpRouterError, NotFoundError, ValidationError
from ...gateways.base import Answer, Call, GatewayEngine
from ...store.reports import apply_reports
from ...store.tokens import verify_token
from .. import get_router, route
from ..params import authorize_call, current_call
from .receive import store_inbound

bp = Blueprint("gateways", __name__)
log = logging.getLogger(__name__)

MAX_REPORTS = 1000  # reports one call may carry


def _engine(name: str) -> GatewayEngine:
    registry = get_router().gateways
    engine = registry.get(name) if hasattr(registry, "get") else None
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


@route(bp, "/router/backends/<name>/receive", methods=["GET", "POST"])
def backend_receive(name: str) -> Response:
    engine = _engine(name)
    call = None
    try:
        call = current_call()
        authorize_call(call, engine, name)
        results = [store_inbound(name, inbound) for inbound in engine.read_inbound(call)]
        answer = engine.answer_inbound(call, results)
    except HttpRouterError as exc:
        return _failed(engine, call, exc)
    return _answer(answer)


@route(bp, "/router/backends/<name>/delivered", methods=["GET", "POST"])
def backend_delivered(name: str) -> Response:
    engine = _engine(name)
    call = None
    try:
        call = current_call()
        reports = engine.read_reports(call)
        if not reports:
            raise ValidationError("the call carries no report", field="body")
        if len(reports) > MAX_REPORTS:
            raise ValidationError(f"at most {MAX_REPORTS} reports per call", field="body")
        token = call.args.get("token") or call.params.get("token")
        key = get_router().store.signing_key
        signed = isinstance(token, str) and all(
            r.message_id is not None and verify_token(key, r.message_id, token) for r in reports
        )
        if not signed:
            authorize_call(call, engine, name)
        outcomes = apply_reports(get_router().engine, reports, backend=name)
        for report, outcome in zip(reports, outcomes, strict=True):
            if isinstance(outcome, HttpRouterError):
                log.warning(
                    "report from %s not applied: %s",
                    name,
                    outcome.message,
                    extra={"backend": name, "message_id": report.message_id},
                )
        answer = engine.answer_reports(call, outcomes)
    except HttpRouterError as exc:
        return _failed(engine, call, exc)
    return _answer(answer)
