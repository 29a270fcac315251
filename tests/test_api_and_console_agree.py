"""The API and the console read the store through the same queries, so they show the same thing."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import insert

from httprouter import clock
from httprouter.domain.statuses import FAILED
from httprouter.store.history import change_status, requeue
from httprouter.store.schema import delivery_attempts

from .console_support import add_user, log_in


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
