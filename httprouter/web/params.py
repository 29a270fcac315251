"""Reading request parameters the way gateways send them: query string, form or JSON body."""

from __future__ import annotations

from typing import Any

from flask import current_app, g, request

from ..access import AccessPolicy
from ..auth import check_password, expected_passwords
from ..errors import AuthError, ValidationError


def request_params() -> dict[str, Any]:
    """Merge the query string with a form or JSON-object body (the body wins)."""
    cached = g.get("_params")
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


def text_param(params: dict[str, Any], name: str, *, required: bool = False) -> str | None:
    """Return a string parameter; numbers are accepted as their text; others are a 400."""
    value = params.get(name)
    if value is None or (required and value == ""):
        if required:
            raise ValidationError(f"{name} is required", field=name)
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValidationError(f"{name} must be a string", field=name)
    value = str(value)
    if "\x00" in value:
        raise ValidationError(f"{name} contains a NUL character", field=name)
    return value


def required_text(params: dict[str, Any], name: str) -> str:
    """Return a required, non-empty string parameter, or raise ValidationError naming it."""
    value = text_param(params, name, required=True)
    if value is None:  # text_param raised already; this keeps the type exact
        raise ValidationError(f"{name} is required", field=name)
    return value


def int_param(
    params: dict[str, Any],
    name: str,
    *,
    default: int | None = None,
    minimum: int | None = None,
    maximum: int | None = None,
) -> int | None:
    """Return an integer parameter within bounds, or raise ValidationError naming it."""
    value = params.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise ValidationError(f"{name} must be a whole number", field=name)
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValidationError(f"{name} must be a whole number", field=name) from None
    if minimum is not None and number < minimum:
        raise ValidationError(f"{name} must be at least {minimum}", field=name)
    if maximum is not None and number > maximum:
        raise ValidationError(f"{name} must be at most {maximum}", field=name)
    return number


def is_truthy(value: Any) -> bool:
    """Legacy boolean: false, 0, empty and missing are false; any other value is true."""
    if value is None or value is False:
        return False
    return str(value).strip().lower() not in ("", "0", "false")


def supplied_password(params: dict[str, Any]) -> str | None:
    """The credential a client sent: `Authorization: Bearer …` or the `password` parameter."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    value = params.get("password")
    return value if isinstance(value, str) else None


def authorize(params: dict[str, Any], backend: str | None = None) -> None:
    """Require the router password (or the backend's own) when one is configured.

    Also applies the backend's network allow-list and slows down an address that keeps failing.
    """
    policy: AccessPolicy = current_app.extensions["httprouter_access"]
    address = policy.client(request.remote_addr, request.headers.get("X-Forwarded-For"))
    if backend is not None:
        policy.check_backend(address, backend)
    expected = expected_passwords(current_app.config, backend)
    if not expected:
        return
    policy.brake.check(address)
    try:
        check_password(supplied_password(params), expected)
    except AuthError:
        policy.brake.failed(address)
        raise
