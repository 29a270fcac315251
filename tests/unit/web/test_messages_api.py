"""/router/messages: filters, keyset paging, and one message with its history and responses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert

from httprouter import clock
from httprouter.store.schema import delivery_attempts


def get(client, path="/router/messages", **params):
    r = client.get(path, query_string=params)
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def texts(body):
    return [m["text"] for m in body["messages"]]


@pytest.fixture
def traffic(client, router):
    """Two inbound messages on two backends, their echo replies, and one sent message."""
    client.get("/router/receive?backend=modem&sender=%2B250788111&message=Hello 100%25")
    client.get("/router/receive?backend=Kannel&sender=%2B250788222&message=other")
    router.send("broadcast_x", [("kannel", "+250788111")])


def test_newest_first_with_legacy_keys(client, traffic):
    body = get(client)
    assert texts(body) == ["broadcast_x", "other", "other", "Hello 100%", "Hello 100%"]
    assert [m["direction"] for m in body["messages"]] == ["O", "O", "I", "O", "I"]
    assert body["next_before_id"] is None
    assert {"id", "contact", "backend", "direction", "status", "text", "date"} <= set(
        body["messages"][0]
    )


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"direction": "I"}, ["other", "Hello 100%"]),
        ({"direction": "out"}, ["broadcast_x", "other", "Hello 100%"]),
        ({"status": "H"}, ["other", "Hello 100%"]),
        (
            {"status": "queued,handled"},
            ["broadcast_x", "other", "other", "Hello 100%", "Hello 100%"],
        ),
        ({"backend": "MODEM"}, ["Hello 100%", "Hello 100%"]),
        ({"contact": "+250 788 111"}, ["broadcast_x", "Hello 100%", "Hello 100%"]),
        ({"q": "100%"}, ["Hello 100%", "Hello 100%"]),
        ({"q": "HELLO"}, ["Hello 100%", "Hello 100%"]),
        ({"q": "_x"}, ["broadcast_x"]),
        ({"q": "%"}, ["Hello 100%", "Hello 100%"]),
        ({"direction": "O", "backend": "modem", "status": "Q"}, ["Hello 100%"]),
        ({"backend": "nowhere"}, []),
        ({"contact": "+999"}, []),
    ],
)
def test_filters(client, traffic, params, expected):
    assert texts(get(client, **params)) == expected


def test_backend_filter_matches_every_spelling(client, traffic):
    # "Kannel" (receive) and "kannel" (send) are two backends; the filter ignores case.
    assert texts(get(client, backend="kannel")) == ["broadcast_x", "other", "other"]


def test_since_until(client, router):
    start = datetime(2024, 1, 1, 8, 0, tzinfo=UTC)
    for hour in range(4):
        clock.pin(lambda h=hour: start + timedelta(hours=h))
        try:
            router.send(f"at {8 + hour}", [("modem", "1")])
        finally:
            clock.pin(None)
    body = get(client, since="2024-01-01T09:00:00+00:00", until="2024-01-01T11:00:00Z")
    assert texts(body) == ["at 10", "at 9"]
    # "+hh:mm" that a query string turned into a space, and a naive time taken as UTC
    r = client.get("/router/messages?since=2024-01-01T10:00:00+00:00")
    assert texts(r.get_json()) == ["at 11", "at 10"]
    assert texts(get(client, since="2024-01-01 11:00")) == ["at 11"]
    assert texts(get(client, until="2024-01-01T10:30:00+02:00")) == ["at 8"]


def test_keyset_paging_walks_everything_once(client, router):
    router.send("m", [("modem", f"+1{i:03d}") for i in range(23)])
    seen, before, pages = [], None, 0
    while True:
        params = {"limit": 10} | ({"before_id": before} if before else {})
        body = get(client, **params)
        seen += [m["id"] for m in body["messages"]]
        pages += 1
        before = body["next_before_id"]
        if before is None:
            break
    assert pages == 3 and len(seen) == 23 and seen == sorted(seen, reverse=True)


def test_several_statuses_page_newest_first_across_them(client, router):
    # Each receive stores the inbound message (H) and its echo reply (Q): ids alternate.
    for i in range(5):
        client.get(f"/router/receive?backend=modem&sender=%2B25078800{i}&message=m{i}")
    router.send("elsewhere", [("kannel", "+250788999")])
    seen, before = [], None
    while True:
        params = {"status": "Q,handled,H", "backend": "modem", "limit": 3}
        body = get(client, **params | ({"before_id": before} if before else {}))
        assert len(body["messages"]) <= 3
        seen += [(m["id"], m["status"]) for m in body["messages"]]
        before = body["next_before_id"]
        if before is None:
            break
    assert [status for _, status in seen] == ["Q", "H"] * 5
    assert [i for i, _ in seen] == sorted((i for i, _ in seen), reverse=True)
    inbound = get(client, status="Q,H", direction="I", limit=2)["messages"]
    assert [m["text"] for m in inbound] == ["m4", "m3"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"direction": "sideways"}, "direction"),
        ({"status": "Q,zzz"}, "status"),
        ({"since": "yesterday"}, "since"),
        ({"until": "2024-13-01"}, "until"),
        ({"before_id": "x"}, "before_id"),
        ({"limit": "501"}, "limit"),
        ({"limit": "0"}, "limit"),
    ],
)
def test_bad_filters_are_400_naming_the_field(client, params, field):
    r = client.get("/router/messages", query_string=params)
    assert r.status_code == 400 and r.get_json()["field"] == field


def test_detail_has_history_attempts_responses_and_parent(client, router):
    inbound = client.get("/router/receive?backend=modem&sender=1&message=ping").get_json()
    reply_id = inbound["responses"][0]["id"]
    client.get(f"/router/delivered?message_id={reply_id}&status=8&smsc=x")
    with router.engine.begin() as conn:
        conn.execute(
            insert(delivery_attempts).values(
                message_id=reply_id,
                number=1,
                worker="w1",
                started_at=clock.now(),
                outcome="sent",
                response_status=202,
            )
        )
    parent = get(client, f"/router/messages/{inbound['message']['id']}")
    assert parent["message"]["text"] == "ping"
    assert [r["id"] for r in parent["responses"]] == [reply_id]
    assert parent["in_response_to"] is None
    assert [(h["old_status"], h["new_status"]) for h in parent["history"]] == [
        (None, "R"),
        ("R", "H"),
    ]
    reply = get(client, f"/router/messages/{reply_id}/")
    assert reply["in_response_to"]["id"] == inbound["message"]["id"]
    assert [h["cause"] for h in reply["history"]] == ["created", "queued", "report"]
    assert reply["history"][-1]["detail"]["params"]["smsc"] == "x"
    assert [(a["number"], a["outcome"], a["response_status"]) for a in reply["attempts"]] == [
        (1, "sent", 202)
    ]


def test_detail_unknown_id_is_404_json(client):
    r = client.get("/router/messages/424242")
    assert r.status_code == 404 and r.get_json()["field"] == "message_id"


def test_password_required_when_set(make_app):
    client = make_app(ROUTER_PASSWORD="s3cret").test_client()
    assert client.get("/router/messages").status_code == 401
    assert client.get("/router/messages/1").status_code == 401
    assert client.get("/router/messages?password=s3cret").status_code == 200
