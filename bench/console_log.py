"""Time the console's message log with a large database.

Fills a fresh database with N messages (default 1,000,000) by bulk insert (SQLite executemany,
PostgreSQL COPY), logs a console user in through the Flask test client, and times the log page
(first page, filtered, deep keyset page, text search, the refresh fragment) and the queues
dashboard. Prints median and 95th percentile per page.

    .venv/bin/python bench/console_log.py                      # SQLite in a temp folder
    .venv/bin/python bench/console_log.py --database-url postgresql://postgres@127.0.0.1/bench
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from httprouter import create_app
from httprouter.ops.migrate import upgrade
from httprouter.store.engine import is_sqlite, make_engine
from httprouter.store.users import create_user

BACKENDS = ("kannel", "modem", "console")
CONTACTS = 20_000
CHUNK = 50_000
WORDS = [
    "register",
    "report",
    "stock",
    "malaria",
    "clinic",
    "visit",
    "stop",
    "help",
    "join",
    "yes",
    "no",
    "ping",
]


def rows(count: int, start: datetime):
    """Yield message rows: ids in time order, a mix of directions and statuses."""
    rng = random.Random(5)
    step = timedelta(days=30) / count
    for i in range(1, count + 1):
        created = start + step * i
        inbound = i % 2 == 1
        status = "H" if inbound else rng.choices("QSDFE", weights=(2, 30, 60, 6, 2))[0]
        contact = rng.randrange(CONTACTS)
        backend = contact % len(BACKENDS) + 1
        text = f"{rng.choice(WORDS)} {rng.choice(WORDS)} {i}"
        yield (
            i,
            "I" if inbound else "O",
            status,
            text,
            contact + 1,
            backend,
            None if inbound else i - 1,
            created,
        )


def fill(url: str, count: int) -> float:
    """Create the schema and insert `count` messages; return the seconds it took."""
    engine = make_engine(url)
    upgrade(engine)
    began = time.perf_counter()
    start = datetime.now(UTC) - timedelta(days=30)
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        sqlite = is_sqlite(url)
        if sqlite:
            cur.execute("BEGIN IMMEDIATE")
        fmt = "%Y-%m-%d %H:%M:%S.%f"
        now = start.strftime(fmt) if sqlite else start
        cur.executemany(
            "INSERT INTO backends (id, name, created_at) VALUES (?, ?, ?)"
            if sqlite
            else "INSERT INTO backends (id, name, created_at) VALUES (%s, %s, %s)",
            [(i + 1, name, now) for i, name in enumerate(BACKENDS)],
        )
        contacts = [(c + 1, c % len(BACKENDS) + 1, f"+2507{c:08d}", now) for c in range(CONTACTS)]
        if sqlite:
            cur.executemany(
                "INSERT INTO connections (id, backend_id, identity, created_at) VALUES (?,?,?,?)",
                contacts,
            )
            insert = (
                "INSERT INTO messages (id, direction, status, text, connection_id, backend_id,"
                " in_response_to_id, created_at, updated_at, priority, attempts)"
                " VALUES (?,?,?,?,?,?,?,?,?,0,0)"
            )
            batch = []
            for row in rows(count, start):
                stamp = row[7].astimezone(UTC).replace(tzinfo=None).strftime(fmt)
                batch.append((*row[:7], stamp, stamp))
                if len(batch) >= CHUNK:
                    cur.executemany(insert, batch)
                    batch.clear()
            cur.executemany(insert, batch)
            cur.execute("COMMIT")
        else:
            with cur.copy(
                "COPY connections (id, backend_id, identity, created_at) FROM STDIN"
            ) as copy:
                for contact in contacts:
                    copy.write_row(contact)
            with cur.copy(
                "COPY messages (id, direction, status, text, connection_id, backend_id,"
                " in_response_to_id, created_at, updated_at, priority, attempts) FROM STDIN"
            ) as copy:
                for row in rows(count, start):
                    copy.write_row((*row, row[7], 0, 0))
            for table in ("backends", "connections", "messages"):
                cur.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                    f" (SELECT max(id) FROM {table}))"
                )
            cur.execute("ANALYZE")
            raw.commit()
    finally:
        raw.close()
    create_user(engine, "bench", "bench password")
    engine.dispose()
    return time.perf_counter() - began


def timed(client, path: str, runs: int) -> tuple[float, float, int]:
    """Fetch `path` `runs` times; return median and p95 in milliseconds, and the row count."""
    samples = []
    body = ""
    for _ in range(runs):
        began = time.perf_counter()
        answer = client.get(path)
        samples.append((time.perf_counter() - began) * 1000)
        assert answer.status_code == 200, (path, answer.status_code, answer.text[:200])
        body = answer.text
    samples.sort()
    p95 = samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]
    return statistics.median(samples), p95, body.count("<tr data-id=")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", help="an EMPTY database (default: a new SQLite file)")
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument(
        "--skip-fill", action="store_true", help="time a database this script filled before"
    )
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.sqlite3'}"
    if not args.skip_fill:
        print(f"filling {url.rsplit('@', 1)[-1]} with {args.messages:,} messages ...")
        print(f"  inserted in {fill(url, args.messages):.1f} s")

    app = create_app({"DATABASE_URL": url, "LOG_LEVEL": "WARNING"})
    client = app.test_client()
    page = client.get("/router/console/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    login = client.post(
        "/router/console/login",
        data={"username": "bench", "password": "bench password", "csrf_token": token.group(1)},
    )
    assert login.status_code == 302
    half = args.messages // 2
    pages = [
        ("log, first page", "/router/console"),
        ("log, refresh fragment", "/router/console?partial=1"),
        ("log, deep keyset page", f"/router/console?before={half}"),
        ("log, outbound failed", "/router/console?direction=O&status=F"),
        ("log, backend + contact", "/router/console?backend=modem&contact=2507000012"),
        ("log, text search", "/router/console?q=malaria+stop"),
        ("log, last day", "/router/console?since=" + datetime.now(UTC).strftime("%Y-%m-%d")),
        ("queues dashboard", "/router/console/queues"),
    ]
    print(f"{'page':28} {'median ms':>10} {'p95 ms':>8} {'rows':>5}  ({args.runs} runs each)")
    for label, path in pages:
        median, p95, count = timed(client, path, args.runs if "queues" not in label else 5)
        print(f"{label:28} {median:10.1f} {p95:8.1f} {count:5}")
    app.extensions["httprouter"].engine.dispose()


if __name__ == "__main__":
    main()
