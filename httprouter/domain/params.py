"""Reading parameters the way gateways and clients send them: strings, ids, legacy booleans.

No Flask here: the web layer and the gateway engines read their parameters with these.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from ..errors import ValidationError
from .statuses import INCOMING, OUTGOING, STATUS_LETTERS, STATUS_NAMES


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


DIRECTIONS = {"i": INCOMING, "in": INCOMING, "incoming": INCOMING, "inbound": INCOMING}
DIRECTIONS |= {"o": OUTGOING, "out": OUTGOING, "outgoing": OUTGOING, "outbound": OUTGOING}


def direction_param(params: Mapping[str, Any], name: str = "direction") -> str | None:
    """Return a direction letter (I or O; also in, out, incoming, outbound...), any case."""
    value = (text_param(params, name) or "").strip()
    if not value:
        return None
    found = DIRECTIONS.get(value.lower())
    if found is None:
        raise ValidationError(f"{name} must be I or O", field=name)
    return found


def statuses_param(params: Mapping[str, Any], name: str = "status") -> list[str]:
    """Return the status letters of a comma-separated list of letters or names, any case."""
    letters = []
    for part in (text_param(params, name) or "").split(","):
        word = part.strip()
        if not word:
            continue
        letter = word.upper() if word.upper() in STATUS_NAMES else STATUS_LETTERS.get(word.lower())
        if letter is None:
            raise ValidationError(
                f"unknown {name} {word[:20]!r}: use {', '.join(STATUS_NAMES)} or their names",
                field=name,
            )
        letters.append(letter)
    return letters


def time_param(
    params: Mapping[str, Any], name: str, *, through_the_day: bool = False
) -> datetime | None:
    """Return an ISO 8601 date or time (`2024-05-01`, `2024-05-01T13:45:00+02:00`); UTC unless
    it says. A date alone is its midnight; with `through_the_day`, the next midnight, so that an
    `until` date includes that whole day (what a person means by "to 31 May")."""
    text = (text_param(params, name) or "").strip()
    if not text:
        return None
    if "T" in text and " " in text:  # a "+hh:mm" offset whose "+" a query string made a space
        text = text.replace(" ", "+")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError(
            f"{name} must be an ISO 8601 date or time, like 2024-05-01 or 2024-05-01T13:45",
            field=name,
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if through_the_day and _is_date(text):
        moment += timedelta(days=1)
    return moment


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True
