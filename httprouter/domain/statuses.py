"""Directions and statuses of messages, and which moves between statuses are allowed.

Status letters are the legacy ones (clients compare them); `STATUS_NAMES` gives the full names.
Statuses only move forward: Q → S → D, Q/E → F. A report that would move a message back (a late
"sent" after "delivered", a repeat) changes nothing but is still recorded; an operator's explicit
action (resend) may force a move.
"""

from __future__ import annotations

INCOMING = "I"
OUTGOING = "O"

RECEIVED = "R"
HANDLED = "H"
PROCESSING = "P"
QUEUED = "Q"
SENT = "S"
DELIVERED = "D"
CANCELLED = "C"
ERRORED = "E"
FAILED = "F"

STATUS_NAMES = {
    RECEIVED: "received",
    HANDLED: "handled",
    PROCESSING: "processing",
    QUEUED: "queued",
    SENT: "sent",
    DELIVERED: "delivered",
    CANCELLED: "cancelled",
    ERRORED: "errored",
    FAILED: "failed",
}
STATUS_LETTERS = {name: letter for letter, name in STATUS_NAMES.items()}

# Statuses of an outbound message that is still waiting to leave: the queue.
WAITING_STATUSES = (PROCESSING, QUEUED, ERRORED)

# new status → the statuses it may be reached from
ALLOWED_FROM: dict[str, frozenset[str]] = {
    HANDLED: frozenset({RECEIVED}),
    QUEUED: frozenset({PROCESSING}),
    CANCELLED: frozenset({PROCESSING, QUEUED, ERRORED}),
    ERRORED: frozenset({QUEUED, ERRORED}),
    SENT: frozenset({QUEUED, ERRORED}),
    DELIVERED: frozenset({QUEUED, ERRORED, SENT}),
    FAILED: frozenset({QUEUED, ERRORED, SENT}),
}


def can_move(old: str, new: str) -> bool:
    """Tell whether a message in status `old` may move to `new`."""
    return old in ALLOWED_FROM.get(new, frozenset())
