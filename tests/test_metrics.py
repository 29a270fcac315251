"""/metrics: Prometheus counters, histograms and the queue depth, protected by the password."""

from __future__ import annotations

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from httprouter import create_app
from httprouter.apps import AppBase
from httprouter.domain.statuses import DELIVERED, FAILED, SENT
from httprouter.store import metrics
from httprouter.store.history import change_status
from tests.servers import ServedRouter, free_port

ECHO = "httprouter.apps.echo.EchoApp"


class BrokenApp(AppBase):
    """Raises in handle, to be counted as an app error."""

    def handle(self, msg):
        raise RuntimeError("broken on purpose")


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a scrape, keyed by (name, sorted labels)."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(text: str, name: str, **labels: str) -> float:
    return samples(text).get((name, tuple(sorted(labels.items()))), 0.0)


def scrape(client, **kwargs) -> str:
    r = client.get("/metrics", **kwargs)
    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.headers["Content-Type"].startswith("text/plain")
    return r.get_data(as_text=True)


def test_metrics_need_the_router_password(make_app):
    client = make_app(ROUTER_PASSWORD="s3cret-metrics").test_client()
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics?password=wrong").status_code == 403
    assert client.get("/metrics/?password=s3cret-metrics").status_code == 200
    r = client.get("/metrics", headers={"Authorization": "Bearer s3cret-metrics"})
    assert r.status_code == 200
    assert "httprouter_database_up 1.0" in r.get_data(as_text=True)


def test_metrics_public_setting_opens_them(make_app):
    client = make_app(ROUTER_PASSWORD="s3cret-metrics", METRICS_PUBLIC=True).test_client()
    assert client.get("/metrics").status_code == 200
    assert client.get("/router/receive?backend=b&sender=1").status_code == 401


def test_receive_counts_messages_time_and_queue_depth(make_app):
    client = make_app().test_client()
    before = scrape(client)
    for i in range(3):
        r = client.get(f"/router/receive?backend=metrics-rx&sender=+1555{i}&message=ping")
        assert r.status_code == 200
    client.get("/router/receive?backend=metrics-rx&sender=+15550&message=ping&id=gw-1")
    client.get("/router/receive?backend=metrics-rx&sender=+15550&message=ping&id=gw-1")  # repeat
    after = scrape(client)
    for name in ("httprouter_messages_received_total", "httprouter_messages_handled_total"):
        assert (
            value(after, name, backend="metrics-rx") - value(before, name, backend="metrics-rx")
            == 4
        )
    count = "httprouter_receive_duration_seconds_count"
    assert (
        value(after, count, backend="metrics-rx") - value(before, count, backend="metrics-rx") == 4
    )
    # four echo replies wait in the (pull) outbox
    assert value(after, "httprouter_queue_depth", backend="metrics-rx", status="queued") == 4
    assert value(after, "httprouter_queue_depth", backend="metrics-rx", status="errored") == 0


def test_app_errors_are_counted_per_app(make_app):
    client = make_app(SMS_APPS=["tests.test_metrics.BrokenApp", ECHO]).test_client()
    name = "httprouter_app_errors_total"
    before = value(scrape(client), name, app="BrokenApp")
    assert client.get("/router/receive?backend=b&sender=1&message=x").status_code == 200
    assert value(scrape(client), name, app="BrokenApp") - before == 1


def test_status_moves_are_counted_per_backend_only_when_committed(make_app):
    app = make_app()
    router = app.extensions["httprouter"]
    client = app.test_client()
    replies = []
    for i in range(3):
        body = client.get(f"/router/receive?backend=metrics-st&sender=+1666{i}&message=x").json
        replies.append(body["responses"][0]["id"])
    before = scrape(client)
    with router.engine.begin() as conn:
        change_status(conn, replies[0], SENT, "test")
        change_status(conn, replies[0], DELIVERED, "test")
        change_status(conn, replies[0], SENT, "late report")  # ignored: no count
        change_status(conn, replies[1], FAILED, "test")
    with pytest.raises(RuntimeError), router.engine.begin() as conn:
        change_status(conn, replies[2], SENT, "test")
        raise RuntimeError("rolled back")
    after = scrape(client)

    def delta(kind: str) -> float:
        name = f"httprouter_messages_{kind}_total"
        return value(after, name, backend="metrics-st") - value(before, name, backend="metrics-st")

    assert (delta("sent"), delta("delivered"), delta("failed")) == (1, 1, 1)
    assert value(after, "httprouter_queue_depth", backend="metrics-st", status="queued") == 1


def test_observe_push_feeds_the_push_histogram(make_app):
    client = make_app().test_client()
    name = "httprouter_push_duration_seconds_count"
    before = value(scrape(client), name, backend="kannel-x")
    metrics.observe_push("kannel-x", 0.2)
    assert value(scrape(client), name, backend="kannel-x") - before == 1


def test_unreachable_database_is_reported_not_a_500():
    app = create_app(
        {"DATABASE_URL": f"postgresql://postgres@127.0.0.1:{free_port()}/none", "SMS_APPS": []}
    )
    try:
        text = scrape(app.test_client())
    finally:
        app.extensions["httprouter"].engine.dispose()
    assert "httprouter_database_up 0.0" in text


def test_served_router_adds_up_every_gunicorn_worker(tmp_path):
    server = ServedRouter(
        tmp_path, {"SMS_APPS": [ECHO], "ROUTER_PASSWORD": "scrape-pw"}, "--workers", "3"
    )
    try:
        with requests.Session() as http:
            for i in range(30):
                r = http.get(
                    server.url + "/router/receive",
                    params={"backend": "multi", "sender": f"+1777{i}", "password": "scrape-pw"},
                    headers={"Connection": "close"},  # spread requests over the workers
                    timeout=30,
                )
                assert r.status_code == 200
        text = requests.get(
            server.url + "/metrics", headers={"Authorization": "Bearer scrape-pw"}, timeout=30
        ).text
    finally:
        server.stop()
    (tmp_path / "scrape.txt").write_text(text)
    assert value(text, "httprouter_messages_received_total", backend="multi") == 30
    assert value(text, "httprouter_receive_duration_seconds_count", backend="multi") == 30
    assert value(text, "httprouter_queue_depth", backend="multi", status="queued") == 30
    assert value(text, "httprouter_database_up") == 1
