"""Profile the pull outbox in process: where does one poll + acknowledgement cycle spend its time?

    .venv/bin/python -m bench.profile_outbox [--database-url URL] [--messages N] [--limit 100]

Queues N pull messages, then drains them as `bench/drains.py`'s pollers do — GET
/router/outbox?backend=bench-pull&limit=100, then one JSON POST of `[{"message_id", "status":
"sent"}, ...]` to /router/delivered — through Flask's test client (no sockets, no gunicorn).
The first half is timed without a profiler: wall and CPU per request, statements and commits per
cycle, time inside the database driver's execute and commit, and (SQLite) how long the write
gate is held. The second half runs under pyinstrument and its call tree is printed. Without
--database-url it uses a fresh SQLite file (WAL, synchronous=FULL).
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from pyinstrument import Profiler
from sqlalchemy import Engine, event

from httprouter import create_app
from httprouter.logsetup import configure_logging
from httprouter.store import engine as db

from .databases import migrated
from .drains import queue

BACKEND = "bench-pull"


class Meter:
    """Counts statements and commits, and the wall time spent in the driver, per phase."""

    def __init__(self, engine: Engine) -> None:
        self.phase = "setup"
        self.statements: Counter[str] = Counter()
        self.commits: Counter[str] = Counter()
        self.db_seconds: Counter[str] = Counter()
        self.kinds: Counter[tuple[str, str]] = Counter()
        self._started = 0.0
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)
        event.listen(engine, "commit", self._commit)

    def _before(self, *_args: Any) -> None:
        self._started = time.perf_counter()

    def _after(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.db_seconds[self.phase] += time.perf_counter() - self._started
        self.statements[self.phase] += 1
        self.kinds[(self.phase, " ".join(statement.split()[:3])[:40])] += 1

    def _commit(self, _conn: Any) -> None:
        self.commits[self.phase] += 1


def timed_commit(engine: Engine, meter: Meter) -> None:
    """Count the wall time of the DBAPI commit (the fsync on SQLite, the round trip on PG)."""

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_conn: Any, _record: Any, proxy: Any) -> None:
        if getattr(dbapi_conn, "_timed", False):
            return
        inner = dbapi_conn.commit

        def commit() -> None:
            started = time.perf_counter()
            try:
                inner()
            finally:
                meter.db_seconds[meter.phase + " commit"] += time.perf_counter() - started

        try:
            dbapi_conn.commit = commit
            dbapi_conn._timed = True
        except AttributeError:  # a C type without a __dict__: commit time stays unseparated
            pass


def timed_gate(meter: Meter) -> None:
    """SQLite: count how long each phase holds the write gate (BEGIN IMMEDIATE to COMMIT)."""
    acquire, release = db.WriteGate.acquire, db.WriteGate.release
    held: dict[int, tuple[float, float]] = {}

    def timed_acquire(gate: db.WriteGate) -> None:
        acquire(gate)
        held[threading.get_ident()] = (time.perf_counter(), time.thread_time())

    def timed_release(gate: db.WriteGate) -> None:
        started = held.pop(threading.get_ident(), None)
        if started is not None:
            meter.db_seconds[meter.phase + " gate"] += time.perf_counter() - started[0]
            meter.db_seconds[meter.phase + " gate cpu"] += time.thread_time() - started[1]
        release(gate)

    db.WriteGate.acquire = timed_acquire  # type: ignore[method-assign]
    db.WriteGate.release = timed_release  # type: ignore[method-assign]


def cycle(client: Any, limit: int, meter: Meter, clock: dict[str, list[float]]) -> int:
    """One poller cycle; returns how many messages it acknowledged."""
    meter.phase = "outbox"
    wall, cpu = time.perf_counter(), time.process_time()
    answer = client.get(f"/router/outbox?backend={BACKEND}&limit={limit}")
    clock["outbox"].append(time.perf_counter() - wall)
    clock["outbox cpu"].append(time.process_time() - cpu)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    batch = answer.get_json()["outbox"]
    if not batch:
        return 0
    meter.phase = "delivered"
    wall, cpu = time.perf_counter(), time.process_time()
    ack = client.post(
        "/router/delivered", json=[{"message_id": m["id"], "status": "sent"} for m in batch]
    )
    clock["delivered"].append(time.perf_counter() - wall)
    clock["delivered cpu"].append(time.process_time() - cpu)
    assert ack.status_code == 200, ack.get_data(as_text=True)
    assert ack.get_json()["errors"] == 0, ack.get_json()
    return len(batch)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url")
    parser.add_argument("--messages", type=int, default=4000)
    parser.add_argument("--limit", type=int, default=100)
    parser.add_argument("--html", help="also write the HTML report here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = migrated(args.database_url, Path(folder))
        settings = {"DATABASE_URL": url, "SMS_APPS": []}
        queue(settings, BACKEND, args.messages)
        # Log as the service does, but to a file: the request log is part of the cost.
        with open(Path(folder) / "log", "w") as log_file:
            configure_logging("INFO", "json", log_file)
            app = create_app(settings)
            client = app.test_client()
            engine = app.extensions["httprouter"].engine
            meter = Meter(engine)
            timed_commit(engine, meter)
            timed_gate(meter)
            clock: dict[str, list[float]] = {k: [] for k in ("outbox", "delivered")}
            clock.update({k + " cpu": [] for k in ("outbox", "delivered")})
            half = args.messages // 2
            done = cycles = 0
            while done < half:
                done += cycle(client, args.limit, meter, clock)
                cycles += 1
            statements, commits = dict(meter.statements), dict(meter.commits)
            db_seconds, kinds = dict(meter.db_seconds), dict(meter.kinds)
            profiler = Profiler(interval=0.0005)
            profiler.start()
            profiled = {k: [] for k in clock}
            while cycle(client, args.limit, meter, profiled):
                pass
            profiler.stop()
            logging.getLogger().handlers.clear()
        app.extensions["httprouter"].engine.dispose()
    print(f"{url.split(':')[0]}: {cycles} cycles, {done} messages acknowledged (unprofiled half)")
    per_message = 1000 / done
    for phase in ("outbox", "delivered"):
        wall, cpu = sum(clock[phase]), sum(clock[phase + " cpu"])
        gate = ""
        if phase + " gate" in db_seconds:
            gate = (
                f"write gate {db_seconds[phase + ' gate'] / cycles * 1000:5.1f} ms "
                f"({db_seconds.get(phase + ' gate cpu', 0) / cycles * 1000:.1f} ms CPU), "
            )
        print(
            f"  {phase:9}: wall {wall / cycles * 1000:6.1f} ms/cycle ({wall * per_message:.2f} "
            f"ms/message), CPU {cpu / cycles * 1000:6.1f} ms/cycle, driver execute "
            f"{db_seconds.get(phase, 0) / cycles * 1000:5.1f} ms, commit "
            f"{db_seconds.get(phase + ' commit', 0) / cycles * 1000:5.1f} ms, {gate}"
            f"{statements.get(phase, 0) / cycles:.1f} statements and "
            f"{commits.get(phase, 0) / cycles:.1f} commits/cycle"
        )
    total = sum(sum(clock[p]) for p in ("outbox", "delivered"))
    print(f"  one poller in process: {done / total:.0f} messages/s")
    print("  statements per cycle by kind:")
    for (phase, kind), n in sorted(kinds.items()):
        if phase != "setup":
            print(f"    {phase:9} {n / cycles:7.1f}  {kind}")
    print()
    print(profiler.output_text(unicode=True, color=False, show_all=False))
    if args.html:
        Path(args.html).write_text(profiler.output_html())


if __name__ == "__main__":
    main()
