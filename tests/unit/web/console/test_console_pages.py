"""Console pages: message detail and "send again", the phone simulator, the send form, queues."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select

from httprouter import clock
from httprouter.domain.statuses import FAILED
from httprouter.store.history import change_status
from httprouter.store.schema import delivery_attempts, messages, status_changes

from ....support.console_support import add_user, log_in, token


@pytest.fixture
def console(app, client):
    add_user(app)
    log_in(client)
    return client


def fail(router, message_id, error="gateway said no"):
    with router.engine.begin() as conn:
        change_status(conn, message_id, FAILED, "push", values={"error": error, "attempts": 3})


def status_of(router, message_id):
    with router.engine.connect() as conn:
        return conn.execute(select(messages.c.status).where(messages.c.id == message_id)).scalar()


def test_detail_shows_history_attempts_parent_and_responses(console, router):
    router.receive("ping", ("console", "+15550001"))  # 1 in, 2 out "pong"
    with router.engine.begin() as conn:
        conn.execute(
            insert(delivery_attempts).values(
                message_id=2,
                number=1,
                worker="host:1",
                started_at=clock.now(),
                finished_at=clock.now(),
                request="GET http://gw/send?to=%2B15550001&password=hunter22&text=pong",
                response_status=503,
                response_body="busy, try later",
                outcome="retry",
            )
        )
    inbound = console.get("/router/console/messages/1")
    assert inbound.status_code == 200
    assert "ping" in inbound.text and "+15550001" in inbound.text
    assert "Responses" in inbound.text and 'href="/router/console/messages/2"' in inbound.text
    assert "received" in inbound.text and "apps" in inbound.text  # history: cause "apps"
    reply = console.get("/router/console/messages/2")
    assert "In reply to" in reply.text and 'href="/router/console/messages/1"' in reply.text
    assert "HTTP 503" in reply.text and "busy, try later" in reply.text
    assert "hunter22" not in reply.text and "password=***" in reply.text
    assert "queued" in reply.text and "created" in reply.text


def test_unknown_message_is_json_404(console):
    answer = console.get("/router/console/messages/999")
    assert answer.status_code == 404
    assert answer.json["field"] == "id"


def test_send_again_queues_a_failed_message_and_records_who(console, router):
    sent = router.send("hello", [("modem", "+15550002")])
    fail(router, sent[0].id)
    page = console.get(f"/router/console/messages/{sent[0].id}")
    assert "Send again" in page.text
    answer = console.post(
        f"/router/console/messages/{sent[0].id}/resend",
        data={"csrf_token": token(console), "next": "/router/console/queues"},
    )
    assert answer.status_code == 302 and answer.headers["Location"] == "/router/console/queues"
    assert status_of(router, sent[0].id) == "Q"
    with router.engine.connect() as conn:
        last = conn.execute(
            select(status_changes).order_by(status_changes.c.id.desc()).limit(1)
        ).one()
    assert (last.old_status, last.new_status, last.cause) == ("F", "Q", "resend")
    assert last.detail == {"by": "operator"}
    assert "is queued again" in console.get("/router/console/queues").text


def test_send_again_leaves_a_delivered_message_alone(console, router):
    sent = router.send("hello", [("modem", "+15550002")])
    with router.engine.begin() as conn:
        change_status(conn, sent[0].id, "D", "dlr")
    answer = console.post(
        f"/router/console/messages/{sent[0].id}/resend",
        data={"csrf_token": token(console)},
        follow_redirects=True,
    )
    assert "is delivered, not errored or failed" in answer.text
    assert status_of(router, sent[0].id) == "D"


def test_simulator_receives_and_shows_the_echo_reply(console):
    page = console.get("/router/console/simulator")
    assert page.status_code == 200 and "+12065551212" in page.text
    answer = console.post(
        "/router/console/simulator",
        data={"csrf_token": token(console), "sender": "+1 555 0003", "text": "echo hi there"},
    )
    assert answer.status_code == 302
    thread = console.get(answer.headers["Location"])
    assert 'class="bubble from-phone" data-id="1"' in thread.text
    assert 'class="bubble to-phone" data-id="2"' in thread.text
    assert "hi there" in thread.text and "+15550003" in thread.text
    newer = console.get("/router/console/simulator/thread?sender=%2B15550003&after=1")
    assert 'data-id="2"' in newer.text and 'data-id="1"' not in newer.text
    assert (
        console.get("/router/console/simulator/thread?sender=%2B15550003&after=2").text.strip()
        == ""
    )


def test_simulator_refuses_empty_text_and_bad_cursor(console):
    empty = console.post(
        "/router/console/simulator", data={"csrf_token": token(console), "text": "  "}
    )
    assert empty.status_code == 400 and empty.json["field"] == "text"
    bad = console.get("/router/console/simulator/thread?after=x")
    assert bad.status_code == 400 and bad.json["field"] == "after"


def test_send_form_queues_one_message_per_recipient(console, router):
    page = console.get("/router/console/send")
    assert 'data-counter="send-counter"' in page.text
    answer = console.post(
        "/router/console/send",
        data={
            "csrf_token": token(console),
            "backend": "modem",
            "to": "+15550001\n+15550002, +15550001",
            "text": "Clinic opens at 9 ✓",
        },
    )
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/router/console?direction=O&backend=modem"
    log = console.get(answer.headers["Location"])
    assert "Created 2 message(s) on modem: 1, 2." in log.text
    with router.engine.connect() as conn:
        rows = conn.execute(select(messages.c.status, messages.c.text)).all()
    assert rows == [("Q", "Clinic opens at 9 ✓")] * 2


@pytest.mark.parametrize(
    ("form", "field", "status"),
    [
        ({"to": "1", "text": "x"}, "backend", 400),
        ({"backend": "b", "to": " , ", "text": "x"}, "to", 400),
        ({"backend": "b", "to": "1", "text": ""}, "text", 400),
        ({"backend": "b", "to": "1", "text": "x" * 10_001}, "text", 413),
    ],
)
def test_send_form_names_the_bad_field(console, router, form, field, status):
    answer = console.post("/router/console/send", data={"csrf_token": token(console), **form})
    assert answer.status_code == status
    assert answer.json["field"] == field


def test_queues_dashboard_counts_ages_failures_and_chart(console, router):
    now = datetime(2024, 5, 1, 12, 30, tzinfo=UTC)
    clock.pin(lambda: now - timedelta(hours=2))
    try:
        router.receive("ping", ("console", "+15550001"))  # 1 H, 2 Q (console)
        sent = router.send("<b>hi</b>", [("modem", "+15550002"), ("modem", "+15550003")])
        fail(router, sent[0].id, error="HTTP 403 <forbidden>")
        clock.pin(lambda: now)
        page = console.get("/router/console/queues")
    finally:
        clock.pin(None)
    assert page.status_code == 200
    html = page.text
    assert 'href="/router/console?backend=console&amp;status=Q">1</a>' in html
    assert 'href="/router/console?backend=modem&amp;status=F">1</a>' in html
    assert "2 h 00 min" in html  # the oldest queued message on each backend
    assert "HTTP 403 &lt;forbidden&gt;" in html and "&lt;b&gt;hi&lt;/b&gt;" in html
    assert f'action="/router/console/messages/{sent[0].id}/resend"' in html
    assert html.count('class="bar bar-inbound"') == 24
    assert "10:00 UTC: 1 inbound" in html
    assert "10:00 UTC: 3 outbound" in html
    assert "10:00 UTC: 1 failed" in html


def test_first_id_since_finds_the_boundary_without_an_index(router):
    from httprouter.store.traffic import first_id_since

    start = datetime(2024, 5, 1, tzinfo=UTC)
    for i in range(7):
        clock.pin(lambda i=i: start + timedelta(hours=i))
        router.receive(f"m{i}", ("console", "+15550001"))  # ids 2i+1 (in), 2i+2 (reply)
    clock.pin(None)
    with router.read() as conn:
        assert first_id_since(conn, start - timedelta(days=1)) == 1
        assert first_id_since(conn, start + timedelta(hours=3)) == 7
        assert first_id_since(conn, start + timedelta(hours=2, minutes=30)) == 7
        assert first_id_since(conn, start + timedelta(days=1)) == 15
