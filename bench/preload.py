"""Fill a migrated httprouter database with N stored messages by set-based SQL (seconds, not
hours): half inbound (handled), half their replies (mostly delivered/sent, some failed or queued),
each with two history rows, spread over 50,000 connections on backend "kannel"."""

from __future__ import annotations

import time

from sqlalchemy import text

from httprouter.store.engine import is_sqlite, make_engine

CONNECTIONS = 50_000

_STATUS = (
    "CASE WHEN g % 2 = 1 THEN 'H' WHEN g % 400 = 0 THEN 'Q' WHEN g % 50 = 0 THEN 'F' "
    "WHEN g % 10 = 0 THEN 'S' ELSE 'D' END"
)

_MESSAGE_COLUMNS = (
    "id, direction, status, text, connection_id, backend_id, in_response_to_id, external_id, "
    "priority, attempts, created_at, updated_at"
)

_MESSAGE_VALUES = (
    "g, CASE WHEN g % 2 = 1 THEN 'I' ELSE 'O' END, " + _STATUS + ", "
    "'preloaded message number ' || g, 1 + ((g - 1) / 2) % :conns, 1, "
    "CASE WHEN g % 2 = 0 THEN g - 1 END, CASE WHEN g % 2 = 1 THEN 'pre-' || g END, "
    "0, g % 2, {ts}, {ts}"
)

_HISTORY = """
INSERT INTO status_changes (message_id, at, old_status, new_status, cause)
SELECT id, created_at, NULL, CASE direction WHEN 'I' THEN 'R' ELSE 'P' END,
       CASE direction WHEN 'I' THEN 'received' ELSE 'created' END FROM messages
UNION ALL
SELECT id, updated_at, CASE direction WHEN 'I' THEN 'R' ELSE 'P' END, status,
       CASE direction WHEN 'I' THEN 'apps' ELSE 'queued' END FROM messages
"""

POSTGRESQL = [
    # The rows are consistent by construction: skip the per-row foreign key triggers.
    "SET LOCAL session_replication_role = replica",
    "INSERT INTO backends (id, name, created_at) VALUES (1, 'kannel', now())",
    "INSERT INTO connections (id, backend_id, identity, created_at) "
    "SELECT i, 1, '+2507' || lpad(i::text, 8, '0'), now() FROM generate_series(1, :conns) i",
    f"INSERT INTO messages ({_MESSAGE_COLUMNS}) SELECT "
    + _MESSAGE_VALUES.format(ts="timestamptz '2025-01-01 00:00:00+00' + g * interval '20 seconds'")
    + " FROM generate_series(1, :n) g",
    _HISTORY,
    "SELECT setval(pg_get_serial_sequence('backends', 'id'), 1)",
    "SELECT setval(pg_get_serial_sequence('connections', 'id'), :conns)",
    "SELECT setval(pg_get_serial_sequence('messages', 'id'), :n)",
]

SQLITE = [
    "INSERT INTO backends (id, name, created_at) "
    "VALUES (1, 'kannel', '2025-01-01 00:00:00.000000')",
    "WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < :conns) "
    "INSERT INTO connections (id, backend_id, identity, created_at) "
    "SELECT i, 1, printf('+2507%08d', i), '2025-01-01 00:00:00.000000' FROM seq",
    "WITH RECURSIVE seq(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM seq WHERE g < :n) "
    f"INSERT INTO messages ({_MESSAGE_COLUMNS}) SELECT "
    + _MESSAGE_VALUES.format(
        ts="strftime('%Y-%m-%d %H:%M:%S', '2025-01-01', '+' || (g * 20) || ' seconds') || '.000000'"
    )
    + " FROM seq",
    _HISTORY,
]


def preload(url: str, n: int) -> float:
    """Store `n` messages (with history) in the empty database at `url`; return the seconds."""
    started = time.monotonic()
    engine = make_engine(url)
    statements = SQLITE if is_sqlite(url) else POSTGRESQL
    try:
        with engine.begin() as conn:
            for sql in statements:
                conn.execute(text(sql), {"n": n, "conns": CONNECTIONS})
        if not is_sqlite(url):
            # Statistics, as autovacuum would have gathered by now. A SQLite database in service
            # has none (nothing runs ANALYZE there), and neither has this one.
            with engine.connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
    finally:
        engine.dispose()
    return time.monotonic() - started
