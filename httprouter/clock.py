"""The one clock of the service: every timestamp comes from here, so tests can pin it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

_source: Callable[[], datetime] | None = None


def now() -> datetime:
    """Return the current time as an aware UTC datetime."""
    if _source is not None:
        return _source()
    return datetime.now(UTC)


def pin(source: Callable[[], datetime] | None) -> None:
    """Make `now()` answer from `source` (None restores the real clock)."""
    global _source
    _source = source
