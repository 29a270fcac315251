"""Is the phone alive? Each backend's gateway calling in (a poll, a webhook, a legacy call) is
recorded, cheaply, and shown on /router/status?format=json, the console's queues page and
/metrics; a refused call is not a sign of life."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from httprouter import clock
from httprouter.store.schema import backend_seen
from httprouter.store.seen import SeenRecorder, last_seen

from ...gateways.android_sms_gateway import SIGNING_KEY, sign
from ...support.console_support import add_user, log_in
from ..web.test_metrics import samples

AUTH = {"Authorization": "Bearer router-pw"}
BACKENDS = {
    "clinic": {"ENGINE": "smssync", "secret": "sync-secret"},
    "phone": {
        "ENGINE": "android-sms-gateway",
        "url": "http://127.0.0.1:9/",
        "token": "tkn",
        "signing_key": SIGNING_KEY,
    },
    "relay": {"ENGINE": "relayer"},
}


@pytest.fixture(autouse=True)
def _real_clock():
    yield
    clock.pin(None)


def _app(make_app):
    app = make_app(ROUTER_PASSWORD="router-pw", BACKENDS=BACKENDS)
    return app, app.test_client(), app.extensions["httprouter"]


def _seen(router):
    with router.read() as conn:
        return last_seen(conn)


def test_polls_webhooks_and_legacy_calls_are_seen_and_shown(make_app):
    app, client, router = _app(make_app)
    clock.pin(lambda: datetime.now(UTC) - timedelta(minutes=3))
    poll = client.get("/router/backends/clinic/receive?task=send&secret=sync-secret")
    assert poll.status_code == 200
    body = json.dumps({"event": "system:ping", "payload": {}}).encode()
    stamp = str(int(datetime.now(UTC).timestamp()))
    hook = client.post(
        "/router/backends/phone/receive",
        data=body,
        content_type="application/json",
        headers={"X-Timestamp": stamp, "X-Signature": sign(body, stamp)},
    )
    assert hook.status_code == 200, hook.get_data()
    assert client.get("/router/outbox?backend=relay&password=router-pw").status_code == 200
    clock.pin(None)
    assert set(_seen(router)) == {"clinic", "phone", "relay"}

    status = client.get("/router/status?format=json", headers=AUTH).get_json()
    clinic = status["last_seen"]["clinic"]
    assert 175 <= clinic["seconds_ago"] <= 240
    assert clinic["date"].endswith(("Z", "+00:00"))

    metrics = samples(client.get("/metrics", headers=AUTH).get_data(as_text=True))
    age = metrics[("httprouter_backend_last_seen_seconds", (("backend", "clinic"),))]
    assert 175 <= age <= 240

    add_user(app)
    log_in(client)
    page = client.get("/router/console/queues").get_data(as_text=True)
    assert "last seen 3 min ago" in page


def test_a_refused_call_is_not_seen(make_app):
    _app_, client, router = _app(make_app)
    assert client.get("/router/backends/clinic/receive?task=send&secret=wrong").status_code == 403
    body = b'{"event": "sms:sent", "payload": {}}'
    forged = client.post(
        "/router/backends/phone/receive",
        data=body,
        content_type="application/json",
        headers={"X-Timestamp": "1", "X-Signature": "00"},
    )
    assert forged.status_code == 403
    assert _seen(router) == {}


def test_a_backend_is_written_at_most_once_per_interval(make_app):
    _app_, _client, router = _app(make_app)
    recorder = SeenRecorder(router.engine, every=30)
    assert recorder.seen("clinic") is True
    assert recorder.seen("clinic") is False  # remembered: no statement at all
    first = _seen(router)["clinic"]

    other = SeenRecorder(router.engine, every=30)  # another worker, a moment later
    clock.pin(lambda: datetime.now(UTC) + timedelta(seconds=5))
    other.seen("clinic")
    assert _seen(router)["clinic"] == first  # the row was too fresh to rewrite

    later = SeenRecorder(router.engine, every=30)
    clock.pin(lambda: datetime.now(UTC) + timedelta(seconds=60))
    later.seen("clinic")
    assert _seen(router)["clinic"] > first
    with router.read() as conn:
        assert conn.execute(select(func.count()).select_from(backend_seen)).scalar_one() == 1
