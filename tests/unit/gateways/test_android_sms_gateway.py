"""android-sms-gateway against its official Python client (PyPI `android-sms-gateway` 4.3) as the
oracle, and through the dispatcher with a loopback gateway answering a state per recipient:
one request for many recipients, the failed recipient retried on its own, webhooks matched to
each recipient, and a whole conversation."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from android_sms_gateway import APIClient, MessagePriority
from android_sms_gateway import domain as asg

from httprouter import clock
from httprouter.config import load_config
from httprouter.delivery.dispatcher import Dispatcher
from httprouter.gateways.base import Outbound
from httprouter.gateways.registry import build_engine

from ...gateways.android_sms_gateway import APP_PASSWORD, LOGIN, SIGNING_KEY, TEXT, sign, state
from ...support.gateway import Answer

RECIPIENTS = ["+255700000001", "+255700000002", "+255700000003"]
COMPARED_HEADERS = ("Authorization", "Content-Type", "Content-Length")


@pytest.fixture(autouse=True)
def _real_clock():
    yield
    clock.pin(None)


def _engine(url: str, **options):
    backend = {"ENGINE": "android-sms-gateway", "url": url, **options}
    return build_engine(load_config({"BACKENDS": {"phone": backend}}, environ={}), "phone")


def _messages(texts_to, *, priority=0):
    return [
        Outbound(id=42 + n, backend="phone", recipient=to, text=text, priority=priority)
        for n, (text, to) in enumerate(texts_to)
    ]


@pytest.mark.parametrize(
    ("text", "recipients", "priority", "credentials"),
    [
        ("hello", RECIPIENTS[:1], 0, {"gateway_user": LOGIN, "gateway_password": APP_PASSWORD}),
        (TEXT, RECIPIENTS, 0, {"gateway_user": LOGIN, "gateway_password": APP_PASSWORD}),
        ("Nakupenda & 100% = +1", RECIPIENTS[:2], 1, {"token": "tkn"}),
    ],
    ids=["one recipient, Basic", "emoji to three recipients", "Swahili, priority, token"],
)
def test_engine_sends_exactly_what_the_official_client_sends(
    gateway, text, recipients, priority, credentials
):
    gw = gateway(default=Answer(202, state(*((r, "Pending") for r in recipients))))
    login = credentials.get("gateway_user")
    password = credentials.get("gateway_password") or credentials["token"]
    with APIClient(login, password, base_url=gw.url) as client:
        client.send(
            asg.Message(
                phone_numbers=list(recipients),
                text_message=asg.TextMessage(text=text),
                id="42",
                priority=MessagePriority.BYPASS_THRESHOLD if priority else None,
            )
        )
    engine = _engine(gw.url, **credentials)
    messages = _messages([(text, r) for r in recipients], priority=priority)
    request = engine.prepare_batch(messages)
    results = engine.send_batch(request, messages)
    assert [(r.outcome.value, r.external_id) for r in results] == [("sent", "42")] * len(messages)

    theirs, ours = gw.seen
    assert (ours.method, ours.path, ours.query) == (theirs.method, theirs.path, theirs.query)
    assert (ours.method, ours.path) == ("POST", "/messages")
    assert ours.body == theirs.body  # byte for byte, key order and escaping included
    assert json.loads(ours.body)["phoneNumbers"] == recipients
    assert json.loads(ours.body)["textMessage"] == {"text": text}
    for name in COMPARED_HEADERS:
        assert ours.headers.get(name) == theirs.headers.get(name), name


def _push_app(make_app, url, **options):
    backend = {
        "ENGINE": "android-sms-gateway",
        "url": url,
        "gateway_user": LOGIN,
        "gateway_password": APP_PASSWORD,
        "signing_key": SIGNING_KEY,
        "backoff_base": 5,
        "backoff_max": 10,
        "timeout": 5,
        **options,
    }
    return make_app(ROUTER_PASSWORD="router-pw", BACKENDS={"phone": backend})


def _webhook(client, event, payload):
    body = json.dumps({"event": event, "id": "evt", "payload": payload}).encode()
    stamp = str(int(datetime.now(UTC).timestamp()))
    headers = {"X-Timestamp": stamp, "X-Signature": sign(body, stamp)}
    return client.post(
        "/router/backends/phone/receive",
        data=body,
        headers=headers,
        content_type="application/json",
    )


def test_one_request_many_recipients_the_failed_one_retried_on_its_own(make_app, gateway):
    gw = gateway()
    app = _push_app(make_app, gw.url)
    router = app.extensions["httprouter"]
    ids = [m.id for m in router.send(TEXT, [("phone", r) for r in RECIPIENTS])]
    other = router.send("another text", [("phone", RECIPIENTS[0])])[0].id
    # The gateway answers with the id it was given, and a state per recipient.
    states = [(RECIPIENTS[0], "Pending"), (RECIPIENTS[1], "Failed"), (RECIPIENTS[2], "Pending")]
    gw.script += [
        Answer(202, state(*states, id_=str(ids[0]))),
        Answer(202, state((RECIPIENTS[0], "Pending"), id_=str(other))),
        Answer(202, state((RECIPIENTS[1], "Pending"), id_=str(ids[1]))),
    ]

    Dispatcher(router).run_until_idle()
    assert len(gw.seen) == 2  # one request for the three with one text, one for the other
    grouped = json.loads(gw.seen[0].body)
    assert grouped["phoneNumbers"] == RECIPIENTS
    assert grouped["id"] == str(ids[0])
    assert json.loads(gw.seen[1].body)["phoneNumbers"] == [RECIPIENTS[0]]
    sent = [router.read_message(i) for i in ids]
    assert [m.status for m in sent] == ["S", "E", "S"]
    assert router.read_message(other).status == "S"

    clock.pin(lambda: datetime.now(UTC) + timedelta(seconds=60))
    Dispatcher(router).run_until_idle()
    assert len(gw.seen) == 3
    retried = json.loads(gw.seen[2].body)
    assert retried["phoneNumbers"] == [RECIPIENTS[1]]  # alone: the others were sent
    assert retried["id"] == str(ids[1])
    assert router.read_message(ids[1]).status == "S"

    # The phone's reports name the id it was given and the recipient.
    phone = app.test_client()
    clock.pin(None)
    for recipient, event in ((RECIPIENTS[0], "sms:delivered"), (RECIPIENTS[2], "sms:failed")):
        payload = {"messageId": str(ids[0]), "phoneNumber": recipient, "reason": "NO_SERVICE"}
        assert _webhook(phone, event, payload).status_code == 200
    payload = {"messageId": str(ids[1]), "phoneNumber": RECIPIENTS[1]}
    assert _webhook(phone, "sms:delivered", payload).status_code == 200
    assert [router.read_message(i).status for i in ids] == ["D", "D", "F"]


def test_whole_conversation_through_the_phone(make_app, gateway):
    gw = gateway(default=Answer(202, state((RECIPIENTS[0], "Pending"), id_="x")))
    app = _push_app(make_app, gw.url)
    router = app.extensions["httprouter"]
    phone = app.test_client()
    sms = {
        "messageId": "phone-1",
        "message": "echo Habari 😀 & = + %",
        "phoneNumber": RECIPIENTS[0],
        "simNumber": 1,
        "receivedAt": "2024-06-22T15:46:11.000+07:00",
    }
    answer = _webhook(phone, "sms:received", sms)
    assert answer.status_code == 200, answer.get_data()
    inbound_id = answer.get_json()["id"]
    assert _webhook(phone, "sms:received", sms).get_json()["id"] == inbound_id  # a retry
    assert router.read_message(inbound_id).text == "echo Habari 😀 & = + %"

    Dispatcher(router).run_until_idle()
    [request] = gw.seen
    body = json.loads(request.body)
    assert body["phoneNumbers"] == [RECIPIENTS[0]]
    assert body["textMessage"] == {"text": "Habari 😀 & = + %"}
    reply_id = int(body["id"])
    assert router.read_message(reply_id).status == "S"

    for event in ("sms:sent", "sms:delivered", "sms:delivered"):
        payload = {"messageId": "x", "phoneNumber": RECIPIENTS[0]}
        assert _webhook(phone, event, payload).status_code == 200
    assert router.read_message(reply_id).status == "D"
    assert router.read_message(reply_id).external_id == "x"
