"""Prometheus metrics: what the router counts as it works, and the queue depth read at scrape time.

Metric names (every counter is exposed with the `_total` suffix):

    httprouter_messages_received_total{backend}     inbound messages stored
    httprouter_messages_handled_total{backend}      inbound messages the apps ran over
    httprouter_messages_sent_total{backend}         outbound messages a gateway accepted (S)
    httprouter_messages_delivered_total{backend}    outbound messages reported delivered (D)
    httprouter_messages_failed_total{backend}       outbound messages that failed for good (F)
    httprouter_app_errors_total{app}                exceptions raised by a handler app
    httprouter_receive_duration_seconds{backend}    histogram: storing a message and running apps
    httprouter_push_duration_seconds{backend}       histogram: one push to a gateway
    httprouter_queue_depth{backend,status}          outbound messages waiting (from the database)
    httprouter_database_up                          1 when the scrape's database query worked

Multiprocess mode: when PROMETHEUS_MULTIPROC_DIR names a folder (`httprouter serve` makes one
when it is unset), every process writes its values to files there and a scrape adds them up, so
one /metrics answer covers every gunicorn worker and dispatcher sharing that folder. No Flask here.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import socket
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    values,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import Connection, event
from sqlalchemy.exc import SQLAlchemyError

from ..domain.statuses import DELIVERED, FAILED, SENT, STATUS_NAMES
from ..errors import StorageUnavailable
from .counts import waiting_counts
from .seen import last_seen, seconds_ago

log = logging.getLogger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_LATEST


_TIME_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


def _process_id() -> str:
    """Name this process's value files: host and pid, so containers sharing a folder differ."""
    host = re.sub(r"[^A-Za-z0-9]", "", socket.gethostname())[:40] or "host"
    return f"{host}-{os.getpid()}"


def use_multiprocess_dir(path: str) -> None:
    """Write this process's (and its children's) values under `path` from now on."""
    os.environ[MULTIPROC_ENV] = path
    values.ValueClass = values.MultiProcessValue(_process_id)  # type: ignore[no-untyped-call]


if os.environ.get(MULTIPROC_ENV):
    values.ValueClass = values.MultiProcessValue(_process_id)  # type: ignore[no-untyped-call]


RECEIVED = Counter(
    "httprouter_messages_received", "Inbound messages stored, per backend.", ["backend"]
)
HANDLED = Counter(
    "httprouter_messages_handled", "Inbound messages the apps ran over, per backend.", ["backend"]
)
STATUS_COUNTERS = {
    SENT: Counter(
        "httprouter_messages_sent",
        "Outbound messages a gateway accepted, per backend.",
        ["backend"],
    ),
    DELIVERED: Counter(
        "httprouter_messages_delivered",
        "Outbound messages reported delivered to the handset, per backend.",
        ["backend"],
    ),
    FAILED: Counter(
        "httprouter_messages_failed",
        "Outbound messages that failed permanently, per backend.",
        ["backend"],
    ),
}
APP_ERRORS = Counter(
    "httprouter_app_errors", "Exceptions raised by handler apps, per app.", ["app"]
)
RECEIVE_SECONDS = Histogram(
    "httprouter_receive_duration_seconds",
    "Seconds to store an inbound message and run the apps over it, per backend.",
    ["backend"],
    buckets=_TIME_BUCKETS,
)
PUSH_SECONDS = Histogram(
    "httprouter_push_duration_seconds",
    "Seconds one push to a gateway took (answer or error), per backend.",
    ["backend"],
    buckets=_TIME_BUCKETS,
)


# -- counting -----------------------------------------------------------------------------------


def observe_receive(backend: str, seconds: float) -> None:
    """Count one stored and handled inbound message and how long it took."""
    RECEIVED.labels(backend).inc()
    HANDLED.labels(backend).inc()
    RECEIVE_SECONDS.labels(backend).observe(seconds)


def observe_push(backend: str, seconds: float) -> None:
    """Record how long one push to `backend`'s gateway took, whatever its outcome."""
    PUSH_SECONDS.labels(backend).observe(seconds)


def count_app_error(app: str) -> None:
    """Count one exception raised by the handler app `app`."""
    APP_ERRORS.labels(app).inc()


def count_status(conn: Connection, backend: str, new: str, count: int = 1) -> None:
    """Count `count` moves to sent, delivered or failed once the transaction on `conn` commits."""
    counter = STATUS_COUNTERS.get(new)
    if counter is not None:
        after_commit(conn, lambda: counter.labels(backend).inc(count))


_PENDING = "httprouter_metrics_after_commit"


def after_commit(conn: Connection, action: Callable[[], None]) -> None:
    """Run `action` when the transaction on `conn` commits; forget it if it rolls back."""
    engine = conn.engine
    if not event.contains(engine, "commit", _run_pending):
        event.listen(engine, "commit", _run_pending)
        event.listen(engine, "rollback", _drop_pending)
    conn.info.setdefault(_PENDING, []).append(action)


def _run_pending(conn: Connection) -> None:
    for action in conn.info.pop(_PENDING, ()):
        try:
            action()
        except Exception:  # a metric must never break a commit
            log.exception("metric update failed")


def _drop_pending(conn: Connection) -> None:
    with contextlib.suppress(SQLAlchemyError):  # a dead connection's info goes with it
        conn.info.pop(_PENDING, None)


# -- scraping -----------------------------------------------------------------------------------


class QueueDepthCollector:
    """Read the outbound queue's depth per backend and status from the database at scrape time."""

    def __init__(self, read: Callable[[], AbstractContextManager[Connection]]) -> None:
        self.read = read

    def collect(self) -> Iterator[Metric]:
        depth = GaugeMetricFamily(
            "httprouter_queue_depth",
            "Outbound messages waiting to leave, per backend and status.",
            labels=["backend", "status"],
        )
        seen_metric = GaugeMetricFamily(
            "httprouter_backend_last_seen_seconds",
            "Seconds since the backend's gateway last called (a phone's poll or webhook).",
            labels=["backend"],
        )
        up = GaugeMetricFamily(
            "httprouter_database_up", "1 when the database answered the metrics query, else 0."
        )
        try:
            with self.read() as conn:
                counts = waiting_counts(conn)
                seen = last_seen(conn)
            for name, at in seen.items():
                seen_metric.add_metric([name], seconds_ago(at))
            for (name, status), count in counts.items():
                depth.add_metric([name, STATUS_NAMES[status]], count)
        except (SQLAlchemyError, StorageUnavailable) as exc:
            log.warning("metrics: database unavailable (%s)", type(exc).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield depth
        yield seen_metric
        yield up


class _ThisProcess:
    """The metrics of this process alone (single-process mode)."""

    def collect(self) -> Iterable[Metric]:
        return REGISTRY.collect()


def render(read: Callable[[], AbstractContextManager[Connection]]) -> bytes:
    """Return one scrape in Prometheus text format: every process's values and the queue."""
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get(MULTIPROC_ENV):
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry.register(_ThisProcess())
    registry.register(QueueDepthCollector(read))
    return generate_latest(registry)
