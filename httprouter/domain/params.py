"""Reading parameters the way gateways and clients send them: strings, ids, legacy booleans.

No Flask here: the web layer and the gateway engines read their parameters with these.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import ValidationError


def text_param(params: Mapping[str, Any], name: str, *, required: bool = False) -> str | None:
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


def required_text(params: Mapping[str, Any], name: str) -> str:
    """Return a required, non-empty string parameter, or raise ValidationError naming it."""
    value = text_param(params, name, required=True)
    if value is None:  # text_param raised already; this keeps the type exact
        raise ValidationError(f"{name} is required", field=name)
    return value


# The largest number a database column holds (64-bit): anything larger is a 400, not a crash.
MAX_ID = 2**63 - 1


def int_param(
    params: Mapping[str, Any],
    name: str,
    *,
    default: int | None = None,
    minimum: int | None = None,
    maximum: int | None = MAX_ID,
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
