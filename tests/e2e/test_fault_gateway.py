"""A gateway outage: messages go E with growing delays and reach S when the gateway returns;
with a long enough max_attempts none end F. And hostile texts and recipients never change the
request the gateway sees."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from httprouter.delivery.dispatcher import Dispatcher
from httprouter.errors import ValidationError
from httprouter.store.schema import delivery_attempts, messages

from ..support.gateway import TEMPLATE, Answer


def test_outage_longer_than_the_first_retries_ends_sent_not_failed(make_app, gateway):
    down = Answer(503, "Temporal failure, try again later.")
    gw = gateway(script=[down] * 5)
    app = make_app(
        ROUTER_URL=gw.url + TEMPLATE,
        BACKENDS={
            "default": {"backoff_base": 0.2, "backoff_max": 1.5, "max_attempts": 30, "timeout": 5}
        },
    )
    router = app.extensions["httprouter"]
    ids = [m.id for m in router.send("outage", [("k", f"+1555000{i}") for i in range(3)])]
    dispatcher = Dispatcher(router, concurrency=2)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        dispatcher.run_until_idle(timeout=2)
        with router.read() as conn:
            statuses = (
                conn.execute(select(messages.c.status).where(messages.c.id.in_(ids)))
                .scalars()
                .all()
            )
        if set(statuses) == {"S"}:
            break
        time.sleep(0.1)
    with router.read() as conn:
        rows = conn.execute(
            select(
                delivery_attempts.c.message_id,
                delivery_attempts.c.started_at,
                delivery_attempts.c.response_status,
            ).order_by(delivery_attempts.c.message_id, delivery_attempts.c.number)
        ).all()
    assert set(statuses) == {"S"}, statuses
    assert [r.response_status for r in rows].count(503) == 5
    assert [r.response_status for r in rows].count(202) == 3
    # per message, the waits between attempts grow: attempt n waits at least half of
    # base * 2^(n-1) (0.1 s, then 0.2 s, ...), whatever else the machine is doing
    for mid in ids:
        times = [r.started_at for r in rows if r.message_id == mid]
        gaps = [(b - a).total_seconds() for a, b in zip(times, times[1:], strict=False)]
        for n, gap in enumerate(gaps, 1):
            assert gap >= 0.2 * 2 ** (n - 1) / 2 * 0.95, gaps
        assert len(times) <= 4


HOSTILE_TEXTS = [
    "a&to=+999&smsc=evil",
    "line\r\nX-Evil: 1",
    "%0d%0aX-Evil:%201",
    "100% & = +",
    "é€😀",
]


@pytest.mark.parametrize("text", HOSTILE_TEXTS)
def test_hostile_text_never_changes_the_gateway_query(make_app, gateway, text):
    gw = gateway()
    router = make_app(ROUTER_URL=gw.url + TEMPLATE).extensions["httprouter"]
    message = router.send(text, [("kannel", "+15550001")])[0]
    Dispatcher(router).run_until_idle(timeout=10)
    assert len(gw.seen) == 1
    assert gw.seen[0].query == {
        "to": "+15550001",
        "text": text,
        "smsc": "kannel",
        "id": str(message.id),
    }
    assert "X-Evil" not in gw.seen[0].headers


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("text", HOSTILE_TEXTS)
def test_hostile_text_through_kannel_backend(make_app, gateway, method, text):
    gw = gateway()
    router = make_app(
        BACKENDS={
            "kannel": {
                "ENGINE": "kannel",
                "url": gw.url + "/cgi-bin/sendsms",
                "sendsms_user": "router",
                "sendsms_password": "kpass",
                "method": method,
            }
        }
    ).extensions["httprouter"]
    router.send(text, [("kannel", "+15550001")])
    Dispatcher(router).run_until_idle(timeout=10)
    seen = gw.seen[0]
    assert "X-Evil" not in seen.headers
    if method == "GET":
        assert seen.query["text"] == text and seen.query["to"] == "+15550001"
        assert seen.query["smsc"] == "kannel"
    else:
        assert seen.body.decode("utf-8") == text
        assert seen.headers["X-Kannel-To"] == "+15550001"


@pytest.mark.parametrize("recipient", ["+1&to=+999", "Info\r\nX-Evil: 1", "Info\tX"])
def test_recipient_with_separators_or_controls(make_app, gateway, recipient):
    gw = gateway()
    router = make_app(ROUTER_URL=gw.url + TEMPLATE).extensions["httprouter"]
    if any(ch in recipient for ch in "\r\n\t"):
        with pytest.raises(ValidationError) as exc:
            router.send("x", [("kannel", recipient)])
        assert exc.value.field == "to"
        return
    router.send("x", [("kannel", recipient)])
    Dispatcher(router).run_until_idle(timeout=10)
    assert gw.seen[0].query["to"] == recipient
    assert set(gw.seen[0].query) == {"to", "text", "smsc", "id"}


def test_send_api_refuses_control_characters_in_recipients(client):
    r = client.post("/router/send", json={"backend": "k", "to": ["+1\r\nX-Evil: 1"], "text": "x"})
    assert r.status_code == 400 and r.get_json()["field"] == "to"
