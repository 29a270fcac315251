"""The dispatcher against real HTTP gateways on loopback: outcomes, retries, the attempt log."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from httprouter import build_router, clock
from httprouter.delivery.dispatcher import Dispatcher
from httprouter.store.schema import delivery_attempts, messages, status_changes
from httprouter.store.tokens import message_token

from ...support.gateway import TEMPLATE, Answer
from ...support.servers import free_port

FAST = {"backoff_base": 5, "backoff_max": 10, "timeout": 5}


def history(router, message_id):
    with router.engine.connect() as conn:
        rows = conn.execute(
            select(status_changes.c.new_status)
            .where(status_changes.c.message_id == message_id)
            .order_by(status_changes.c.id)
        )
        return "".join(r.new_status for r in rows)


def attempts(router, message_id):
    with router.engine.connect() as conn:
        return conn.execute(
            select(delivery_attempts)
            .where(delivery_attempts.c.message_id == message_id)
            .order_by(delivery_attempts.c.number)
        ).all()


def message(router, message_id):
    with router.engine.connect() as conn:
        return conn.execute(select(messages).where(messages.c.id == message_id)).one()


def later(seconds):
    """Pin the clock `seconds` ahead, so retries scheduled before then are due."""
    clock.pin(lambda: datetime.now(UTC) + timedelta(seconds=seconds))


@pytest.fixture(autouse=True)
def _real_clock():
    yield
    clock.pin(None)


def push_app(make_app, url, **options):
    app = make_app(ROUTER_URL=url + TEMPLATE, BACKENDS={"default": {**FAST, **options}})
    return app.extensions["httprouter"]


def send_one(router, text="hello"):
    return router.send(text, [("k", "+15550001")])[0].id


def drain(dispatcher, rounds=5):
    """Run the dispatcher until nothing is due, letting short backoffs pass between rounds."""
    for i in range(rounds):
        dispatcher.run_until_idle()
        later(60 * (i + 1))


def test_accepted_push_is_sent_with_exact_url_and_attempt_log(make_app, gateway):
    gw = gateway()
    router = push_app(make_app, gw.url)
    mid = send_one(router, "hi & bye +5% café €")
    assert message(router, mid).next_attempt_at is not None
    assert Dispatcher(router).run_until_idle() == 1
    assert gw.seen[0].path == "/cgi-bin/sendsms"
    assert gw.seen[0].query == {
        "to": "+15550001",
        "text": "hi & bye +5% café €",
        "smsc": "k",
        "id": str(mid),
    }
    row = message(router, mid)
    assert (row.status, row.attempts, row.lease_owner, row.error) == ("S", 1, None, None)
    assert row.sent_at is not None
    assert history(router, mid) == "PQS"
    [attempt] = attempts(router, mid)
    assert (attempt.outcome, attempt.response_status) == ("sent", 202)
    assert attempt.response_body == "0: Accepted for delivery"
    assert "text=hi+%26+bye+%2B5%25+caf%C3%A9+%E2%82%AC" in attempt.request


def test_500_then_202_errors_once_then_sends(make_app, gateway):
    gw = gateway([Answer(500, "boom")])
    router = push_app(make_app, gw.url)
    mid = send_one(router)
    dispatcher = Dispatcher(router)
    dispatcher.run_until_idle()
    row = message(router, mid)
    assert (row.status, row.attempts, row.error) == ("E", 1, "HTTP 500")
    drain(dispatcher)
    assert history(router, mid) == "PQES"
    assert [(a.outcome, a.response_status) for a in attempts(router, mid)] == [
        ("retry", 500),
        ("sent", 202),
    ]


def test_403_fails_at_once_without_retry(make_app, gateway):
    gw = gateway([Answer(403, "Not routable. Do not try again.")])
    router = push_app(make_app, gw.url)
    mid = send_one(router)
    drain(Dispatcher(router))
    assert len(gw.seen) == 1
    assert history(router, mid) == "PQF"
    row = message(router, mid)
    assert (row.status, row.error, row.next_attempt_at) == ("F", "HTTP 403", None)
    [attempt] = attempts(router, mid)
    assert (attempt.outcome, attempt.response_body) == ("failed", "Not routable. Do not try again.")


def test_three_failures_make_it_failed_like_the_legacy_router(make_app, gateway):
    gw = gateway(default=Answer(503, "Temporal failure, try again later."))
    router = push_app(make_app, gw.url)
    mid = send_one(router)
    drain(Dispatcher(router))
    assert len(gw.seen) == 3
    assert history(router, mid) == "PQEEF"
    assert [a.outcome for a in attempts(router, mid)] == ["retry", "retry", "failed"]


def test_429_waits_for_retry_after(make_app, gateway):
    gw = gateway([Answer(429, "slow down", {"Retry-After": "30"})])
    router = push_app(make_app, gw.url)
    mid = send_one(router)
    dispatcher = Dispatcher(router)
    before = clock.now()
    dispatcher.run_until_idle()
    row = message(router, mid)
    assert row.status == "E"
    assert timedelta(seconds=29) < row.next_attempt_at - before < timedelta(seconds=40)
    assert dispatcher.run_until_idle() == 0  # not due yet
    later(31)
    assert dispatcher.run_until_idle() == 1
    assert history(router, mid) == "PQES"


def test_refused_connection_is_retried_then_failed(make_app):
    router = push_app(make_app, f"http://127.0.0.1:{free_port()}")
    mid = send_one(router)
    drain(Dispatcher(router))
    assert history(router, mid) == "PQEEF"
    errors = [a.error for a in attempts(router, mid)]
    assert all(e.startswith("ConnectionError") for e in errors), errors
    assert all(a.response_status is None for a in attempts(router, mid))


def test_timeout_is_retried_and_slow_answer_within_timeout_is_sent(make_app, gateway):
    gw = gateway([Answer(delay=3)], default=Answer(delay=0.3))
    router = push_app(make_app, gw.url, timeout=0.5)
    mid = send_one(router)
    dispatcher = Dispatcher(router)
    dispatcher.run_until_idle()
    [first] = attempts(router, mid)
    assert first.outcome == "retry" and first.error.startswith("ReadTimeout")
    router.engine.dispose()
    slow = push_app(make_app, gw.url, timeout=10)
    drain(Dispatcher(slow))
    assert history(slow, mid) == "PQES"


def test_pull_backends_are_not_touched(make_app, gateway):
    gw = gateway()
    app = make_app(ROUTER_URL={"k": gw.url + TEMPLATE, "modem": None})
    router = app.extensions["httprouter"]
    pulled = router.send("x", [("modem", "+1555")])[0].id
    pushed = router.send("y", [("k", "+1555")])[0].id
    Dispatcher(router).run_until_idle()
    assert message(router, pulled).status == "Q" and message(router, pulled).lease_owner is None
    assert message(router, pushed).status == "S"


def test_worker_backends_option_limits_what_it_claims(make_app, gateway):
    gw = gateway()
    router = push_app(make_app, gw.url)
    a = router.send("x", [("a", "+1555")])[0].id
    b = router.send("y", [("b", "+1555")])[0].id
    Dispatcher(router, backends_only=["b"]).run_until_idle()
    assert (message(router, a).status, message(router, b).status) == ("Q", "S")


def test_kannel_password_never_reaches_the_attempt_log(make_app, gateway):
    gw = gateway()
    app = make_app(
        BACKENDS={
            "k": {
                "ENGINE": "kannel",
                "url": gw.url + "/cgi-bin/sendsms",
                "method": "GET",
                "sendsms_user": "router",
                "sendsms_password": "kannel-pw-9",
            }
        }
    )
    router = app.extensions["httprouter"]
    mid = send_one(router)
    Dispatcher(router).run_until_idle()
    assert gw.seen[0].query["password"] == "kannel-pw-9"
    [attempt] = attempts(router, mid)
    assert "kannel-pw-9" not in attempt.request
    assert "password=***" in attempt.request
    # the signed DLR token is a credential too
    token = message_token(router.store.signing_key, mid)
    assert token in gw.seen[0].query["dlr-url"]
    assert token not in attempt.request and "token%3D***" in attempt.request


def test_dlr_url_is_signed_per_message(make_app, gateway):
    from urllib.parse import parse_qs, urlsplit

    from httprouter.store.tokens import verify_token

    gw = gateway()
    router = push_app(make_app, gw.url, timeout=5)
    router.config["ROUTER_URL"] = gw.url + "/s?dlr=%(dlr_url)s&id=%(id)s"
    router.config["PUBLIC_URL"] = "https://router.example"
    mid = send_one(router)
    Dispatcher(router).run_until_idle()
    dlr = gw.seen[0].query["dlr"]
    assert dlr.startswith("https://router.example/router/backends/k/delivered?message_id=")
    query = parse_qs(urlsplit(dlr).query)
    assert query["message_id"] == [str(mid)]
    assert verify_token(router.store.signing_key, mid, query["token"][0])


def test_rate_limit_spaces_sends_through_the_shared_slot_table(make_app, gateway):
    gw = gateway()
    router = push_app(make_app, gw.url, rate_limit=20)
    for i in range(6):
        send_one(router, f"m{i}")
    Dispatcher(router, concurrency=3).run_until_idle()
    times = [s.at for s in gw.seen]
    assert len(times) == 6
    # 6 sends at 20/s cannot all start within 5 slot intervals of each other
    assert times[-1] - times[0] >= 0.2


def test_idle_dispatcher_wakes_on_commit_from_another_process_engine(make_app, gateway):
    gw = gateway()
    router = push_app(make_app, gw.url)
    dispatcher = Dispatcher(router)
    thread = threading.Thread(target=dispatcher.run, daemon=True)
    thread.start()
    try:
        time.sleep(0.3)  # let it go idle
        other = build_router(router.config)  # another engine, like a gunicorn worker
        try:
            mid = send_one(other)
        finally:
            other.engine.dispose()
        assert gw.wait_for(1, timeout=30)
    finally:
        dispatcher.stop.set()
        thread.join(30)
    assert not thread.is_alive()
    assert message(router, mid).status == "S"


def test_an_errored_message_whose_backend_became_pulled_goes_back_to_the_queue(make_app, gateway):
    gw = gateway(default=Answer(503))
    router = push_app(make_app, gw.url, max_attempts=5)
    mid = send_one(router)
    Dispatcher(router).run_until_idle()
    assert message(router, mid).status == "E"
    router.config["ROUTER_URL"] = {"k": None}  # the backend is pulled from now on
    router.gateways = type(router.gateways)(router.config)
    later(60)
    Dispatcher(router).run_until_idle()
    row = message(router, mid)
    assert (row.status, row.next_attempt_at) == ("Q", None)  # what the outbox hands out
    assert router.store.read_message(mid).status == "Q"
