"""/router/send: applications send outbound messages through the JSON API."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from ...errors import TooLongError, ValidationError
from .. import current_router, route
from ..params import authorize, int_param, request_params, required_text

bp = Blueprint("send", __name__)

MAX_RECIPIENTS = 1000


@route(bp, "/router/send", methods=["POST"])
def send() -> Response:
    params = request_params()
    backend = required_text(params, "backend")
    authorize(params, backend)
    recipients = _recipients(params)
    text = _text(params)
    priority = int_param(params, "priority", default=0, minimum=-1000, maximum=1000)
    router = current_router()
    sent = router.send(text, [(backend, to) for to in recipients], priority=priority or 0)
    stored = [msg.stored.to_json() for msg in sent if msg.stored is not None]
    response = jsonify(messages=stored, status="Messages created.")
    response.status_code = 201
    return response


def _recipients(params: dict[str, Any]) -> list[str]:
    value = params.get("to")
    if not request.is_json and len(request.form.getlist("to")) > 1:
        value = request.form.getlist("to")
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise ValidationError("to must be a recipient or a non-empty list of them", field="to")
    if len(value) > MAX_RECIPIENTS:
        raise ValidationError(f"to has more than {MAX_RECIPIENTS} recipients", field="to")
    for item in value:
        if not isinstance(item, str) or not item.strip():
            raise ValidationError("every recipient in to must be a non-empty string", field="to")
    return value


def _text(params: dict[str, Any]) -> str:
    text = params.get("text")
    if not isinstance(text, str):
        raise ValidationError("text is required and must be a string", field="text")
    if not text:
        raise ValidationError("text is empty", field="text")
    if "\x00" in text:
        raise ValidationError("text contains a NUL character", field="text")
    limit = current_app.config["MAX_MESSAGE_LENGTH"]
    if len(text) > limit:
        raise TooLongError(f"text is longer than {limit} characters", field="text")
    return text
