"""Shared-secret checks for the router endpoints (no Flask here)."""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Mapping
from typing import Any

from .errors import AuthError


def expected_passwords(config: Mapping[str, Any], backend: str | None = None) -> list[str]:
    """Return the credentials that open an endpoint: the router's, and the backend's own."""
    found = []
    if config.get("ROUTER_PASSWORD"):
        found.append(config["ROUTER_PASSWORD"])
    if backend is not None:
        entry = (config.get("BACKENDS") or {}).get(backend) or {}
        if entry.get("password"):
            found.append(entry["password"])
    return found


def matches(supplied: str, expected: Iterable[str]) -> bool:
    """Compare `supplied` with every expected secret in constant time."""
    given = supplied.encode("utf-8")
    ok = False
    for secret in expected:
        ok |= hmac.compare_digest(given, secret.encode("utf-8"))
    return ok


def check_password(supplied: str | None, expected: list[str]) -> None:
    """Raise AuthError unless `supplied` is one of `expected` (no check when none is set)."""
    if not expected:
        return
    if not supplied:
        raise AuthError("password required", field="password", status_code=401)
    if not matches(supplied, expected):
        raise AuthError("wrong password", field="password", status_code=403)
