"""/router/delivered: a gateway or poller reports what happened to outbound messages (the legacy
contract, whatever the backend's engine).

One report: `message_id` and an optional `status` (a DLR type of the legacy contract or a word;
none at all means delivered, as the old router had it), authorised by the router password or by
the message's signed `token` (what the report URLs we give gateways carry).

Many reports: a JSON POST of `[{"message_id", "status"}, ...]` or `{"messages": [...]}`, applied
in one transaction; the answer says what happened to each.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from ...domain.statuses import STATUS_NAMES
from ...errors import HttpRouterError, ValidationError
from ...gateways.legacy import parse_status
from ...store.engine import translate_errors
from ...store.reports import Report, ReportOutcome, apply_report, apply_reports
from ...store.rows import backend_of
from ...store.tokens import verify_token
from .. import current_router, route
from ..params import authorize, int_param, request_params

bp = Blueprint("delivered", __name__)

MAX_BATCH = 1000
LEGACY_ANSWER = "Message marked as sent."


@route(bp, "/router/delivered", methods=["GET", "POST"])
def delivered() -> Response:
    batch = _batch_body()
    if batch is not None:
        return _deliver_many(*batch)
    params = request_params()
    message_id, reported = _parse_report(params)
    router = current_router()
    if not _token_ok(params.get("token"), message_id):
        with router.read() as conn:
            backend = backend_of(conn, message_id)
        authorize(params, backend)
    with translate_errors(), router.engine.begin() as conn:
        outcome = apply_report(conn, message_id, reported, params)
    return jsonify(
        status=_answer(outcome, params.get("status")),
        message=_message_json(router, message_id),
        report=outcome.to_json(),
    )


def _answer(outcome: ReportOutcome, raw_status: Any) -> str:
    if raw_status in (None, ""):
        return LEGACY_ANSWER
    name = STATUS_NAMES.get(outcome.new, outcome.new)
    if outcome.changed:
        return f"Message marked as {name}."
    return f"Report recorded; message stays {name}."


def _token_ok(token: Any, message_id: int | None) -> bool:
    return (
        message_id is not None
        and isinstance(token, str)
        and bool(token)
        and verify_token(current_router().store.signing_key, message_id, token)
    )


def _batch_body() -> tuple[list[Any], dict[str, Any]] | None:
    """The list of reports of a JSON POST, with the other parameters; None for one report."""
    if request.method != "POST" or not request.is_json:
        return None
    body = request.get_json(silent=True)
    params: dict[str, Any] = dict(request.args.items())
    if isinstance(body, list):
        return body, params
    if isinstance(body, dict) and "messages" in body:
        if not isinstance(body["messages"], list):
            raise ValidationError("messages must be a list of reports", field="messages")
        params.update((k, v) for k, v in body.items() if k != "messages")
        return body["messages"], params
    return None


def _deliver_many(items: list[Any], params: dict[str, Any]) -> Response:
    if not items:
        raise ValidationError("messages is empty", field="messages")
    if len(items) > MAX_BATCH:
        raise ValidationError(f"at most {MAX_BATCH} reports per request", field="messages")
    reports = [
        Report(*_parse_report(item, f"messages[{i}]."), item, raw_status=item.get("status"))
        for i, item in enumerate(items)
    ]
    if not all(_token_ok(r.params.get("token"), r.message_id) for r in reports):
        authorize(params)
    outcomes = apply_reports(current_router().engine, reports)
    results = [
        {"message_id": report.message_id, **outcome.to_json()}
        if isinstance(outcome, HttpRouterError)
        else outcome.to_json()
        for report, outcome in zip(reports, outcomes, strict=True)
    ]
    failed = sum(1 for outcome in outcomes if isinstance(outcome, HttpRouterError))
    return jsonify(
        status="Reports recorded.", applied=len(results) - failed, errors=failed, results=results
    )


def _parse_report(params: Any, where: str = "") -> tuple[int, str | None]:
    """Return a report's message id and the status it asks for; errors name the field."""
    if not isinstance(params, dict):
        raise ValidationError(f"{where.rstrip('.')} must be an object", field=where.rstrip("."))
    try:
        message_id = int_param(params, "message_id", minimum=1)
        if message_id is None:
            raise ValidationError("message_id is required", field="message_id")
        return message_id, parse_status(params.get("status"))
    except ValidationError as exc:
        raise ValidationError(f"{where}{exc.message}", field=f"{where}{exc.field}") from None


def _message_json(router: Any, message_id: int) -> dict[str, Any] | None:
    message = router.read_message(message_id)
    return message.to_json() if message is not None else None
