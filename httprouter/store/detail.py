"""One message in full: the message, its status history, its push attempts, its parent, its replies.

Read by the API (`/router/messages/<id>`) and the console's message page alike; each shows the
rows its own way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, select

from .rows import select_messages
from .schema import delivery_attempts, messages, status_changes


@dataclass(frozen=True)
class MessageDetail:
    """A message's row (as `select_messages` reads it) and the rows around it, oldest first."""

    message: Row[Any]
    history: list[Row[Any]]
    attempts: list[Row[Any]]
    parent: Row[Any] | None
    replies: list[Row[Any]]


def message_detail(conn: Connection, message_id: int) -> MessageDetail | None:
    """Return the message with id `message_id` in full, or None when there is none.

    History and attempts come in the order they were recorded (by id): attempt numbers start at
    1 again after a resend, so ordering by number would interleave the rounds.
    """
    message = conn.execute(select_messages().where(messages.c.id == message_id)).first()
    if message is None:
        return None
    parent = None
    if message.in_response_to_id is not None:
        parent = conn.execute(
            select_messages().where(messages.c.id == message.in_response_to_id)
        ).first()
    replies = conn.execute(
        select_messages().where(messages.c.in_response_to_id == message_id).order_by(messages.c.id)
    ).all()
    history = conn.execute(
        select(status_changes)
        .where(status_changes.c.message_id == message_id)
        .order_by(status_changes.c.id)
    ).all()
    attempts = conn.execute(
        select(delivery_attempts)
        .where(delivery_attempts.c.message_id == message_id)
        .order_by(delivery_attempts.c.id)
    ).all()
    return MessageDetail(message, list(history), list(attempts), parent, list(replies))
