"""The queues dashboard's presentation: the order of its columns, ages as text, and the hourly
chart as plain SVG geometry that the template draws (the numbers come from store/counts and
store/traffic). No Flask here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ... import clock

# Column order of the counts table: waiting first, then the outcomes.
STATUS_ORDER = ("Q", "E", "P", "S", "D", "F", "C", "R", "H")
SERIES = ("inbound", "outbound", "failed")


def age_text(since: datetime, now: datetime | None = None) -> str:
    """Say how long ago `since` was, e.g. `45 s`, `12 min`, `3 h 05 min`, `2 d 4 h`."""
    seconds = max(int(((now or clock.now()) - since).total_seconds()), 0)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
    return f"{seconds // 86400} d {seconds % 86400 // 3600} h"


@dataclass(frozen=True)
class Bar:
    """One bar of the chart, in SVG user units."""

    series: str
    x: float
    y: float
    width: float
    height: float
    value: int
    label: str


CHART_WIDTH = 720
CHART_HEIGHT = 200
CHART_TOP = 10
CHART_BOTTOM = 180


def chart_bars(traffic: list[dict[str, Any]]) -> tuple[list[Bar], int]:
    """Lay out the hourly traffic as grouped bars; return the bars and the scale's top value."""
    top = max([1] + [row[s] for row in traffic for s in SERIES])
    slot = CHART_WIDTH / max(len(traffic), 1)
    width = (slot - 4) / len(SERIES)
    span = CHART_BOTTOM - CHART_TOP
    bars = []
    for i, row in enumerate(traffic):
        label = row["hour"].strftime("%H:00")
        for j, series in enumerate(SERIES):
            height = round(span * row[series] / top, 1)
            bars.append(
                Bar(
                    series=series,
                    x=round(i * slot + 2 + j * width, 1),
                    y=round(CHART_BOTTOM - height, 1),
                    width=round(width, 1),
                    height=height,
                    value=row[series],
                    label=label,
                )
            )
    return bars, top
