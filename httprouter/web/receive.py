"""/router/receive: the gateway hands us an inbound message (GET or POST, form or JSON)."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request

from ..encoding import decode_message, needs_raw_decoding, raw_form_value
from ..errors import TooLongError, ValidationError
from ..messages import Connection
from . import get_router, route
from .params import authorize, is_truthy, request_params, required_text, text_param

bp = Blueprint("receive", __name__)

# Gateway parameters kept on the message (Kannel's %P, %c, %C); others are ignored.
KEPT_FIELDS = ("to", "coding", "charset")


def _raw_message() -> bytes:
    """The undecoded bytes of `message`, from a form body or the query string."""
    raw = None
    if request.method == "POST" and request.mimetype == "application/x-www-form-urlencoded":
        raw = raw_form_value(request.get_data(cache=True), "message")
    if raw is None:
        raw = raw_form_value(request.query_string, "message")
    return raw or b""


def _message_text(params: dict[str, object], coding: str | None, charset: str | None) -> str:
    if needs_raw_decoding(coding, charset) and not request.is_json:
        return decode_message(_raw_message(), coding, charset)
    text = text_param(params, "message") or ""
    if ("\ufffd" in text or "%" in text) and not request.is_json:
        # The form decoder replaces (or keeps as "%XX") bytes that are not UTF-8: refuse those
        # rather than store damage.
        decode_message(_raw_message(), None, charset)
    return text


@route(bp, "/router/receive", methods=["GET", "POST"])
def receive() -> Response:
    params = request_params()
    backend = required_text(params, "backend")
    sender = required_text(params, "sender")
    authorize(params, backend)
    coding = text_param(params, "coding")
    charset = text_param(params, "charset")
    text = _message_text(params, coding, charset)
    if "\x00" in text:
        raise ValidationError("message contains a NUL character", field="message")
    limit = current_app.config["MAX_MESSAGE_LENGTH"]
    if len(text) > limit:
        raise TooLongError(f"message is longer than {limit} characters", field="message")
    fields = {k: text_param(params, k) for k in KEPT_FIELDS if params.get(k) not in (None, "")}
    result = get_router().receive(
        text,
        Connection(backend, sender),
        external_id=text_param(params, "id") or None,
        fields=fields,
    )
    if current_app.config["ROUTER_SILENT"] and not is_truthy(params.get("echo")):
        return Response("", status=200, mimetype="text/plain")
    return jsonify(message=result.message, responses=result.responses, status="Message handled.")
