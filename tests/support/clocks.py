"""A clock that only moves when the test moves it (lease expiry, queue age)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from httprouter import clock

START = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


class PinnedClock:
    """The time `clock.now()` answers while pinned."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def advance(self, **delta: float) -> None:
        """Move the clock forward by a timedelta's keyword arguments."""
        self.now += timedelta(**delta)


@contextmanager
def pinned_clock(start: datetime = START) -> Iterator[PinnedClock]:
    """Pin `clock.now()` for the duration of the block."""
    pinned = PinnedClock(start)
    clock.pin(lambda: pinned.now)
    try:
        yield pinned
    finally:
        clock.pin(None)
