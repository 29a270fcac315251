"""The API and the console read the store through the same queries, so they show the same thing."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import insert

from httprouter import clock
from httprouter.domain.statuses import FAILED
from httprouter.store.history import change_status, requeue
from httprouter.store.schema import delivery_attempts

from ...support.console_support import add_user, log_in


@pytest.fixture
def console(app):
    add_user(app)
    client = app.test_client()
    log_in(client)
    return client


def attempt(router, message_id, number, worker):
    with router.engine.begin() as conn:
        conn.execute(
            insert(delivery_attempts).values(
                message_id=message_id,
                number=number,
                worker=worker,
                started_at=clock.now(),
                outcome="retry",
            )
        )


def test_detail_lists_attempts_and_history_in_the_order_they_happened(client, console, router):
    [sent] = router.send("hello", [("modem", "+15550002")])
    attempt(router, sent.id, 1, "round-one-a")
    attempt(router, sent.id, 2, "round-one-b")
    with router.engine.begin() as conn:
        change_status(conn, sent.id, FAILED, "push")
        requeue(conn, sent.id, push=False)  # attempt numbers start at 1 again
    attempt(router, sent.id, 1, "round-two-a")
    expected = ["round-one-a", "round-one-b", "round-two-a"]

    api = client.get(f"/router/messages/{sent.id}").get_json()
    assert [a["worker"] for a in api["attempts"]] == expected
    page = console.get(f"/router/console/messages/{sent.id}").text
    assert re.findall(r"round-\w+-\w", page) == expected
    causes = [h["cause"] for h in api["history"]]
    assert causes == ["created", "queued", "push", "resend"]
    history = page[page.index('id="history"') :]
    assert [c for c in re.findall(r"<td>(\w+)</td>", history) if c in causes] == causes


def api_ids(client, **params):
    answer = client.get("/router/messages", query_string=params)
    assert answer.status_code == 200, answer.get_json()
    return [m["id"] for m in answer.get_json()["messages"]]


def console_ids(console, **params):
    answer = console.get("/router/console", query_string=params)
    assert answer.status_code == 200, answer.text
    return [int(i) for i in re.findall(r'<tr data-id="(\d+)"', answer.text)]


@pytest.fixture
def traffic(client, router):
    """Inbound messages on backends spelled two ways, their echo replies, a failed message."""
    for backend, sender, text in [
        ("modem", "+15550001", "Hello clinic"),
        ("Modem", "+15550002", "hello again 100%"),
        ("kannel", "+15550001", "other"),
    ]:
        client.get(
            "/router/receive", query_string={"backend": backend, "sender": sender, "message": text}
        )
    [failed] = router.send("to fail", [("kannel", "+15550003")])
    with router.engine.begin() as conn:
        change_status(conn, failed.id, FAILED, "push")


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"direction": "I"},
        {"direction": "outgoing"},
        {"status": "Q"},
        {"status": "queued,F"},
        {"status": "H,Q", "direction": "I"},
        {"backend": "MODEM"},
        {"backend": "modem", "status": "Q"},
        {"contact": "+15550001"},
        {"q": "HELLO"},
        {"q": "100%"},
        {"q": "_"},
        {"since": "2000-01-01T00:00:00Z", "until": "2999-01-01T00:00:00+02:00"},
        {"until": "2000-01-01T00:00:00Z"},
        {"limit": "3"},
    ],
    ids=lambda p: "&".join(f"{k}={v}" for k, v in p.items()) or "all",
)
def test_the_same_filter_gives_the_same_rows(client, console, traffic, params):
    assert api_ids(client, **params) == console_ids(console, **params)


def test_the_same_pages_walked_either_way(client, console, router):
    router.send("m", [("modem", f"+1555{i:04d}") for i in range(7)])
    api, before = [], None
    while True:
        body = client.get(
            "/router/messages",
            query_string={"limit": 3, "status": "Q,F"} | ({"before_id": before} if before else {}),
        ).get_json()
        api.append([m["id"] for m in body["messages"]])
        before = body["next_before_id"]
        if before is None:
            break
    pages = [console_ids(console, limit=3, status="Q,F")]
    while len(pages[-1]) == 3:
        pages.append(console_ids(console, limit=3, status="Q,F", before=pages[-1][-1]))
    assert api == pages == [[7, 6, 5], [4, 3, 2], [1]]
    assert console_ids(console, limit=3, status="Q,F", after=4) == [7, 6, 5]


def test_contact_is_exact_in_the_api_and_part_of_a_number_in_the_console(client, console, traffic):
    assert console_ids(console, contact="0001") == api_ids(client, contact="+15550001")
    assert api_ids(client, contact="0001") == []


def test_a_to_date_includes_that_day_in_the_console_and_is_its_midnight_in_the_api(
    client, console, router
):
    clock.pin(lambda: datetime(2024, 5, 31, 13, 0, tzinfo=UTC))
    try:
        router.send("on the 31st", [("modem", "+15550001")])
    finally:
        clock.pin(None)
    assert console_ids(console, until="2024-05-31") == [1]
    assert api_ids(client, until="2024-05-31") == []
    assert api_ids(client, until="2024-06-01") == console_ids(console, until="2024-05-31")


def test_status_json_the_queues_page_and_metrics_count_alike(client, console, router):
    router.receive("ping", ("console", "+15550001"))  # H, and its reply Q
    sent = router.send("hi", [("modem", "+15550002"), ("modem", "+15550003"), ("modem", "+1")])
    with router.engine.begin() as conn:
        change_status(conn, sent[0].id, FAILED, "push")
        change_status(conn, sent[1].id, "E", "push")
    expected = {"console": {"H": 1, "Q": 1}, "modem": {"E": 1, "F": 1, "Q": 1}}

    status = client.get("/router/status?format=json").get_json()
    assert status["backends"] == expected
    assert status["totals"] == {"H": 1, "Q": 2, "E": 1, "F": 1}
    page = console.get("/router/console/queues").text
    shown = re.findall(r'href="/router/console\?backend=(\w+)&amp;status=(\w)">(\d+)</a>', page)
    assert {(b, s): int(n) for b, s, n in shown} == {
        (b, s): n for b, row in expected.items() for s, n in row.items()
    }
    metrics = client.get("/metrics").get_data(as_text=True)
    depth = dict(
        re.findall(r'httprouter_queue_depth\{(backend="\w+",status="\w+")\} (\S+)', metrics)
    )
    assert {k: float(v) for k, v in depth.items() if float(v)} == {
        'backend="console",status="queued"': 1.0,
        'backend="modem",status="errored"': 1.0,
        'backend="modem",status="queued"': 1.0,
    }
