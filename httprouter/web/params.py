"""Reading request parameters the way gateways send them: query string, form or JSON body."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import current_app, g, request

from ..auth import check_password, expected_passwords
from ..domain.params import MAX_ID, int_param, is_truthy, required_text, text_param
from ..errors import AuthError, ValidationError
from ..gateways.base import Call, GatewayEngine
from ..store.seen import SeenRecorder
from .access import AccessPolicy

__all__ = [
    "MAX_ID",
    "authorize",
    "authorize_call",
    "current_call",
    "int_param",
    "is_truthy",
    "request_params",
    "required_text",
    "supplied_password",
    "text_param",
]


def request_params() -> dict[str, Any]:
    """Merge the query string with a form or JSON-object body (the body wins)."""
    cached: dict[str, Any] | None = g.get("_params")
    if cached is not None:
        return cached
    try:
        params: dict[str, Any] = {k: v for k, v in request.args.items()}
    except UnicodeDecodeError:
        raise ValidationError(
            "query string is not valid UTF-8; percent-encode it", field="query"
        ) from None
    if request.method in ("POST", "PUT", "PATCH"):
        if request.is_json:
            try:
                body = request.get_json(silent=True)
            except RecursionError:
                raise ValidationError("JSON body is nested too deeply", field="body") from None
            if body is None and request.get_data():
                raise ValidationError("request body is not valid JSON", field="body")
            if body is not None and not isinstance(body, dict):
                raise ValidationError("JSON body must be an object", field="body")
            params.update(body or {})
        else:
            request.get_data(cache=True)  # keep the raw body: a UCS-2 message is decoded from it
            params.update(request.form.items())
    g._params = params
    return params


def supplied_password(params: dict[str, Any]) -> str | None:
    """The credential a client sent: `Authorization: Bearer …` or the `password` parameter."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    value = params.get("password")
    return value if isinstance(value, str) else None


def authorize(
    params: dict[str, Any],
    backend: str | None = None,
    *,
    check: Callable[[list[str]], None] | None = None,
) -> None:
    """Require the router password (or the backend's own) when one is configured.

    Also applies the backend's network allow-list and slows down an address that keeps failing.
    `check` compares the credentials its own way (a gateway engine's, which may have a secret of
    its own: it is asked even when no password is configured); it raises AuthError.
    """
    policy: AccessPolicy = current_app.extensions["httprouter_access"]
    address = policy.client(request.remote_addr, request.headers.get("X-Forwarded-For"))
    if backend is not None:
        policy.check_backend(address, backend)
    expected = expected_passwords(current_app.config, backend)
    if not expected and check is None:
        return
    policy.brake.check(address)
    try:
        if check is None:
            check_password(supplied_password(params), expected)
        else:
            check(expected)
    except AuthError:
        policy.brake.failed(address)
        raise


def current_call() -> Call:
    """The current request as a gateway engine reads it (see gateways.base.Call)."""
    params = request_params()
    form: list[tuple[str, str]] = []
    if request.method in ("POST", "PUT", "PATCH") and not request.is_json:
        form = list(request.form.items(multi=True))
    return Call(
        method=request.method,
        url=request.url,
        params=params,
        args=dict(request.args.items()),
        headers={k.lower(): v for k, v in request.headers.items()},
        body=request.get_data(cache=True),
        query_string=request.query_string,
        content_type=request.mimetype,
        json=request.get_json(silent=True) if request.is_json else None,
        form=form,
    )


def authorize_call(call: Call, engine: GatewayEngine, backend: str) -> None:
    """`authorize` for a backend's own endpoints: its engine checks the credential its way."""
    authorize(
        dict(call.params), backend, check=lambda expected: engine.authenticate(call, expected)
    )


def gateway_seen(backend: str) -> None:
    """Note that `backend`'s gateway called (a poll, a webhook): the phone is alive.

    Cheap: at most one write per backend per SEEN_EVERY_SECONDS in this process, and a database
    that does not answer is only logged (the call itself says what it must).
    """
    recorder = current_app.extensions.get("httprouter_seen")
    if recorder is None:
        recorder = current_app.extensions.setdefault(
            "httprouter_seen", SeenRecorder(current_app.extensions["httprouter"].engine)
        )
    recorder.seen(backend)
