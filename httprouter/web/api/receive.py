"""/router/receive: the gateway hands us an inbound message (GET or POST, form or JSON)."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify

from ...domain.messages import Connection
from ...errors import TooLongError, ValidationError
from ...gateways import legacy
from ...gateways.base import Inbound
from ...router import Received
from .. import current_router, route
from ..params import authorize, current_call, gateway_seen, is_truthy, required_text
from .outbox import shown

bp = Blueprint("receive", __name__)


def store_inbound(backend: str, inbound: Inbound) -> Received:
    """Check an inbound message against the limits, then store it and run the apps."""
    if "\x00" in inbound.text:
        raise ValidationError("message contains a NUL character", field="message")
    limit = current_app.config["MAX_MESSAGE_LENGTH"]
    if len(inbound.text) > limit:
        raise TooLongError(f"message is longer than {limit} characters", field="message")
    return current_router().receive(
        inbound.text,
        Connection(backend, inbound.sender),
        external_id=inbound.external_id,
        fields=inbound.fields,
    )


@route(bp, "/router/receive", methods=["GET", "POST"])
def receive() -> Response:
    call = current_call()
    params = dict(call.params)
    backend = required_text(params, "backend")
    required_text(params, "sender")
    authorize(params, backend)
    gateway_seen(backend)
    result = store_inbound(backend, legacy.read_inbound(call))
    if current_app.config["ROUTER_SILENT"] and not is_truthy(params.get("echo")):
        return Response("", status=200, mimetype="text/plain")
    responses = shown([r.to_json() for r in result.responses], to=backend)
    return jsonify(message=result.message.to_json(), responses=responses, status="Message handled.")
