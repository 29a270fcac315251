"""/router/status: legacy monitor text by queue time; JSON counts per backend and status."""

from __future__ import annotations

import pytest

from tests.support.clocks import pinned_clock


@pytest.fixture
def pinned():
    with pinned_clock() as pinned:
        yield pinned


def test_ok_when_nothing_waits(client):
    r = client.get("/router/status")
    assert r.status_code == 200 and r.mimetype == "text/plain"
    assert r.get_data(as_text=True) == "STATUS: OK\nPENDING: 0\n"
    assert client.get("/router/status/").status_code == 200


def test_error_counts_pull_and_push_messages_queued_too_long(make_app, pinned):
    app = make_app(ROUTER_URL={"kannel": "http://127.0.0.1:9/?t=%(text)s"})
    client, router = app.test_client(), app.extensions["httprouter"]
    router.send("pull", [("modem", "1")])
    router.send("push", [("kannel", "2")])
    pinned.advance(minutes=15)
    assert "PENDING: 0" in client.get("/router/status").get_data(as_text=True)
    pinned.advance(seconds=1)
    router.send("fresh", [("modem", "3")])
    assert client.get("/router/status").get_data(as_text=True) == "STATUS: ERROR\nPENDING: 2\n"


def test_pending_uses_queue_time_not_creation_time(client, router, pinned):
    [msg] = router.send("x", [("modem", "1")])
    client.get(f"/router/delivered?message_id={msg.id}&status=failed")
    pinned.advance(hours=2)
    from httprouter.store.history import requeue

    with router.engine.begin() as conn:
        requeue(conn, msg.id, push=False)  # created 2 hours ago, queued again just now
    assert "PENDING: 0" in client.get("/router/status").get_data(as_text=True)
    client.get("/router/outbox")  # a hand-out is not a new queue time
    pinned.advance(minutes=20)
    assert "PENDING: 1" in client.get("/router/status").get_data(as_text=True)


def test_pending_minutes_is_configurable(make_app, pinned):
    app = make_app(STATUS_PENDING_MINUTES=1)
    app.extensions["httprouter"].send("x", [("modem", "1")])
    pinned.advance(minutes=2)
    assert "STATUS: ERROR" in app.test_client().get("/router/status").get_data(as_text=True)


def test_json_form_counts_per_backend_and_status(client, router):
    client.get("/router/receive?backend=modem&sender=1&message=hi")
    router.send("x", [("kannel", "2"), ("kannel", "3")])
    for r in (
        client.get("/router/status?format=json"),
        client.get("/router/status", headers={"Accept": "application/json"}),
    ):
        assert r.status_code == 200 and r.mimetype == "application/json"
        body = r.get_json()
        assert body["status"] == "OK" and body["pending"] == 0
        assert body["backends"] == {"kannel": {"Q": 2}, "modem": {"H": 1, "Q": 1}}
        assert body["totals"] == {"H": 1, "Q": 3}
    browser = "text/html,application/xhtml+xml,*/*;q=0.8"
    assert client.get("/router/status", headers={"Accept": browser}).mimetype == "text/plain"


def test_text_is_public_json_needs_the_password(make_app):
    client = make_app(ROUTER_PASSWORD="s3cret").test_client()
    assert client.get("/router/status").status_code == 200
    assert client.get("/router/status?format=json").status_code == 401
    assert client.get("/router/status?format=json&password=s3cret").status_code == 200
