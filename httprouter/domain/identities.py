"""Identities and backend names: how a sender or recipient string becomes the stored identity,
and the rules every entry point applies to both."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ..errors import ValidationError

_SEPARATORS = re.compile(r"[\s\-.()\[\]/]+")
_PHONE = re.compile(r"\+?[0-9]+")
_LEGACY_DROP = re.compile(r"[^0-9a-z]+")


def plus_digits(raw: str) -> str:
    """Strip separators from a phone number, keeping a leading '+'; keep sender ids as sent.

    `+1 (206) 555-1212` → `+12065551212`; `250-7883-83383` → `250788383383`; `MTN-Info` stays.
    """
    value = raw.strip()
    compact = _SEPARATORS.sub("", value)
    if _PHONE.fullmatch(compact):
        return compact
    return value


def legacy(raw: str) -> str:
    """The old router's rule: lowercase and keep only [0-9a-z] (loses '+' and non-ASCII)."""
    return _LEGACY_DROP.sub("", raw.lower())


def unchanged(raw: str) -> str:
    """Keep the identity exactly as the gateway sent it."""
    return raw


NORMALIZERS: dict[str, Callable[[str], str]] = {
    "plus-digits": plus_digits,
    "legacy": legacy,
    "none": unchanged,
}


MAX_BACKEND_LENGTH = 100
MAX_IDENTITY_LENGTH = 200
MAX_EXTERNAL_ID_LENGTH = 255


def check_backend(name: Any) -> str:
    """A backend name as given, or ValidationError naming `backend`."""
    if not isinstance(name, str) or not name.strip():
        raise ValidationError("backend is required", field="backend")
    if len(name) > MAX_BACKEND_LENGTH:
        raise ValidationError(
            f"backend is longer than {MAX_BACKEND_LENGTH} characters", field="backend"
        )
    return name


def check_identity(raw: Any, normalize: Callable[[str], str], field_name: str) -> str:
    """The stored form of an identity, or ValidationError naming `field_name`."""
    if not isinstance(raw, str):
        raise ValidationError(f"{field_name} must be a string", field=field_name)
    identity = normalize(raw)
    if any(ch < " " or ch == "\x7f" for ch in identity):
        # A recipient goes into gateway URLs and headers: no CR, LF or other controls.
        raise ValidationError(f"{field_name} contains control characters", field=field_name)
    if not identity or not identity.strip():
        raise ValidationError(f"{field_name} is empty", field=field_name)
    if len(identity) > MAX_IDENTITY_LENGTH:
        raise ValidationError(
            f"{field_name} is longer than {MAX_IDENTITY_LENGTH} characters", field=field_name
        )
    return identity


def check_external_id(value: str | None) -> str | None:
    """A gateway's message id, or ValidationError naming `id`."""
    if value is not None and len(value) > MAX_EXTERNAL_ID_LENGTH:
        raise ValidationError(f"id is longer than {MAX_EXTERNAL_ID_LENGTH} characters", field="id")
    return value
