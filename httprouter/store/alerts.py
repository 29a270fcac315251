"""Alerts: what a gateway reports of its own trouble (a phone on a low battery, its send errors),
kept for the operators' console."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, insert, select

from .. import clock
from .engine import translate_errors
from .rows import iso
from .schema import alerts

MAX_SUBJECT = 500  # characters kept of a subject
MAX_BODY = 100_000  # and of a body (a phone's alert carries its log)
ELLIPSIS = "…"


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


def record_alert(engine: Engine, *, backend: str | None, subject: str, body: str) -> dict[str, Any]:
    """Store one alert (subject and body cut to their limits) and return it as JSON."""
    row = {
        "backend": backend,
        "subject": _cut(subject, MAX_SUBJECT),
        "body": _cut(body, MAX_BODY),
        "created_at": clock.now(),
    }
    with translate_errors(), engine.begin() as conn:
        row["id"] = conn.execute(insert(alerts).returning(alerts.c.id), row).scalar_one()
    return alert_json(row)


def recent_alerts(conn: Connection, limit: int = 20) -> list[dict[str, Any]]:
    """The newest alerts, newest first, as their rows (`created_at` a datetime)."""
    rows = conn.execute(select(alerts).order_by(alerts.c.id.desc()).limit(limit)).all()
    return [dict(row._mapping) for row in rows]


def alert_json(row: Any) -> dict[str, Any]:
    """An alert as JSON."""
    return {
        "id": row["id"],
        "backend": row["backend"],
        "subject": row["subject"],
        "body": row["body"],
        "date": iso(row["created_at"]),
    }
