"""/router/outbox: legacy answer, oldest first, backend filter, limits, leases, pull only."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from httprouter import clock
from httprouter.store.schema import messages, status_changes
from tests.support.clocks import pinned_clock


@pytest.fixture
def pinned():
    with pinned_clock() as pinned:
        yield pinned


def queue(router, backend="modem", count=1, text="hello"):
    sent = router.send(text, [(backend, f"+25078800{i:04d}") for i in range(count)])
    return [m.id for m in sent]


def poll(client, **params):
    r = client.get("/router/outbox", query_string=params)
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def test_empty_outbox_has_the_legacy_answer(client):
    body = poll(client)
    assert body["outbox"] == [] and body["status"] == "Outbox follows."


@pytest.mark.parametrize("path", ["/router/outbox", "/router/outbox/"])
def test_queued_reply_is_handed_out_oldest_first_with_legacy_keys(client, router, path):
    first = client.get("/router/receive?backend=modem&sender=%2B250788111&message=one")
    client.get("/router/receive?backend=modem&sender=%2B250788222&message=two")
    r = client.get(path)
    assert r.status_code == 200 and r.mimetype == "application/json"
    out = r.get_json()["outbox"]
    assert [(m["text"], m["direction"], m["status"]) for m in out] == [
        ("one", "O", "Q"),
        ("two", "O", "Q"),
    ]
    assert out[0]["id"] == first.get_json()["responses"][0]["id"]
    assert {"id", "contact", "backend", "direction", "status", "text", "date"} <= set(out[0])
    assert out[0]["contact"] == "+250788111" and out[0]["backend"] == "modem"


def test_backend_filter_ignores_case(client, router):
    modem = queue(router, "Modem", 2)
    queue(router, "android", 1)
    body = poll(client, backend="MODEM")
    assert [m["id"] for m in body["outbox"]] == modem
    assert [m["backend"] for m in poll(client, backend="android")["outbox"]] == ["android"]


def test_limit_default_and_bounds(client, router):
    ids = queue(router, count=120)
    assert [m["id"] for m in poll(client)["outbox"]] == ids[:100]
    assert [m["id"] for m in poll(client, limit=5)["outbox"]] == ids[100:105]
    for bad in ("0", "1001", "many", "-3"):
        r = client.get("/router/outbox", query_string={"limit": bad})
        assert r.status_code == 400 and r.get_json()["field"] == "limit"


def test_a_handed_out_message_is_not_handed_out_again_while_leased(client, router):
    ids = queue(router, count=3)
    assert [m["id"] for m in poll(client, limit=2)["outbox"]] == ids[:2]
    assert [m["id"] for m in poll(client)["outbox"]] == ids[2:]
    assert poll(client)["outbox"] == []


def test_lease_expiry_hands_the_message_out_again_after_the_lease_not_before(make_app, pinned):
    app = make_app(OUTBOX_LEASE_SECONDS=60)
    client, router = app.test_client(), app.extensions["httprouter"]
    [message_id] = queue(router)
    body = poll(client)
    assert [m["id"] for m in body["outbox"]] == [message_id]
    assert body["lease_expires"] == (pinned.now + timedelta(seconds=60)).isoformat()
    pinned.advance(seconds=59)
    assert poll(client)["outbox"] == []
    pinned.advance(seconds=1)
    again = poll(client)["outbox"]
    assert [m["id"] for m in again] == [message_id]
    assert again[0]["attempts"] == 2  # handed out twice
    pinned.advance(seconds=30)
    assert poll(client)["outbox"] == []  # the second lease runs from the second hand-out


def test_acknowledged_message_does_not_come_back_after_the_lease(make_app, pinned):
    app = make_app(OUTBOX_LEASE_SECONDS=10)
    client, router = app.test_client(), app.extensions["httprouter"]
    [message_id] = queue(router)
    poll(client)
    r = client.get(f"/router/delivered?message_id={message_id}&status=sent")
    assert r.status_code == 200 and r.get_json()["message"]["status"] == "S"
    pinned.advance(minutes=5)
    assert poll(client)["outbox"] == []


def test_push_messages_and_other_statuses_never_appear(client, router):
    pull, push, cancelled = queue(router, count=3)
    with router.engine.begin() as conn:
        conn.execute(
            update(messages).where(messages.c.id == push).values(next_attempt_at=clock.now())
        )
        conn.execute(update(messages).where(messages.c.id == cancelled).values(status="C"))
    assert [m["id"] for m in poll(client)["outbox"]] == [pull]


def test_push_backend_messages_are_not_in_the_outbox(make_app):
    app = make_app(ROUTER_URL={"kannel": "http://127.0.0.1:9/send?to=%(recipient)s"})
    router = app.extensions["httprouter"]
    queue(router, "kannel", 2)
    pull = queue(router, "modem", 1)
    assert [m["id"] for m in poll(app.test_client())["outbox"]] == pull


def test_hand_out_is_recorded_in_the_history(client, router):
    [message_id] = queue(router)
    poll(client)
    with router.read() as conn:
        causes = conn.execute(
            select(status_changes.c.cause, status_changes.c.new_status, status_changes.c.detail)
            .where(status_changes.c.message_id == message_id)
            .order_by(status_changes.c.id)
        ).all()
    assert [(c.cause, c.new_status) for c in causes] == [
        ("created", "P"),
        ("queued", "Q"),
        ("outbox", "Q"),
    ]
    assert set(causes[-1].detail) == {"lease_owner", "lease_expires"}


def test_password_is_required_when_set(make_app):
    app = make_app(ROUTER_PASSWORD="s3cret", BACKENDS={"modem": {"password": "modem-pw"}})
    client = app.test_client()
    assert client.get("/router/outbox").status_code == 401
    assert client.get("/router/outbox?password=wrong").status_code == 403
    assert client.get("/router/outbox?password=s3cret").status_code == 200
    assert (
        client.get("/router/outbox", headers={"Authorization": "Bearer s3cret"}).status_code == 200
    )
    assert client.get("/router/outbox?backend=modem&password=modem-pw").status_code == 200
    assert client.get("/router/outbox?password=modem-pw").status_code == 403


def test_a_handed_out_message_is_the_stored_message_with_its_lease(client, router):
    reply = client.get("/router/receive?backend=modem&sender=%2B250788111&message=hi").get_json()
    queue(router, "Modem", 2)
    out = poll(client, backend="modem", limit=5)["outbox"]
    assert [m["id"] for m in out] == sorted(m["id"] for m in out) and len(out) == 3
    assert out[0]["in_response_to"] == reply["message"]["id"]
    assert {m["backend"] for m in out} == {"modem", "Modem"}
    for message in out:
        assert message == router.read_message(message["id"]).to_json()
        assert message["attempts"] == 1
    with router.read() as conn:
        recorded = conn.execute(
            select(status_changes).where(status_changes.c.cause == "outbox")
        ).all()
    assert sorted(r.message_id for r in recorded) == [m["id"] for m in out]
    assert {(r.old_status, r.new_status) for r in recorded} == {("Q", "Q")}
    assert len({r.detail["lease_owner"] for r in recorded}) == 1
