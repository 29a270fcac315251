"""android-sms-gateway: `POST {url}/messages` as the official client (android-sms-gateway 4.3)
writes it (tests/test_android_sms_gateway.py checks these bodies against the client itself),
the message state answered with a state per recipient, and the webhooks signed with X-Signature
(hex HMAC-SHA256 of the body followed by X-Timestamp) on the backend's receive URL."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import replace

from httprouter.gateways.base import Outcome

from ..support.engine_table import (
    PEER,
    Answer,
    Call,
    InboundRow,
    OutboundRow,
    Reply,
    ReportRow,
    Sent,
)

SIGNING_KEY = "hook-key"
LOGIN, APP_PASSWORD = "sms", "app-pw"
BASIC = "Basic c21zOmFwcC1wdw=="  # base64("sms:app-pw")
ASG = {
    "ENGINE": "android-sms-gateway",
    "url": "http://phone:8080",
    "gateway_user": LOGIN,
    "gateway_password": APP_PASSWORD,
    "signing_key": SIGNING_KEY,
}
HEADERS = {"Authorization": BASIC, "Content-Type": "application/json"}
SENDER = "+255711222333"
TEXT = "Habari 😀 & = + % ✓"
PHONE_ID = "3YBnB_c8H2nGMKLdRDdna"
ERRORS = {"Failed": "RESULT_ERROR_GENERIC_FAILURE"}


def sign(body: bytes, stamp: str, key: str = SIGNING_KEY) -> str:
    """The app's X-Signature: hex HMAC-SHA256 of the body followed by the timestamp."""
    return hmac.new(key.encode(), body + stamp.encode(), hashlib.sha256).hexdigest()


def _signed(call: Call, age: int = 0, key: str = SIGNING_KEY) -> Call:
    stamp = str(int(time.time()) - age)
    headers = {**call.headers, "X-Timestamp": stamp, "X-Signature": sign(call.body, stamp, key)}
    return replace(call, headers=headers)


def webhook(event: str, payload: dict, *, age: int = 0, key: str = SIGNING_KEY) -> Call:
    """A webhook as the phone posts it: JSON, signed when filled (so the timestamp is fresh)."""
    body = {
        "deviceId": "ffffffffceb0b1db0000018e937c815b",
        "event": event,
        "id": "Ey6ECgOkVVFjz3CL48B8C",
        "payload": payload,
        "webhookId": "LreFUt-Z3sSq0JufY9uWB",
    }
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    return Call(
        "POST",
        "",
        data,
        {"Content-Type": "application/json"},
        finish=lambda c: _signed(c, age, key),
    )


def received(text: str, message_id: str = PHONE_ID) -> dict:
    return {
        "messageId": message_id,
        "message": text,
        "phoneNumber": SENDER,
        "simNumber": 1,
        "receivedAt": "2024-06-22T15:46:11.000+07:00",
    }


def body(*recipients: str, text: str = "hello", id_: str = "42", **more) -> bytes:
    """The JSON requests writes for the client's Message.asdict() (ASCII-escaped)."""
    value = {
        "phoneNumbers": list(recipients),
        "textMessage": {"text": text},
        **more,
        "withDeliveryReport": True,
        "isEncrypted": False,
        "id": id_,
    }
    value.setdefault("priority", 0)
    return json.dumps(value).encode()


def state(*recipients: tuple[str, str], id_: str = "42") -> str:
    return json.dumps(
        {
            "id": id_,
            "state": "Pending",
            "isHashed": False,
            "isEncrypted": False,
            "recipients": [
                {"phoneNumber": p, "state": s, "error": ERRORS.get(s)} for p, s in recipients
            ],
            "states": {},
        }
    )


OK = Answer(200, json={"status": "ok"})

INBOUND = [
    InboundRow(
        "sms:received: stored once by the app's messageId; text exact; a repeat stores nothing",
        ASG,
        webhook("sms:received", received(TEXT)),
        OK,
        [(SENDER, TEXT, PHONE_ID)],
        repeat=True,
    ),
    InboundRow(
        "Swahili and & = + % kept exactly",
        ASG,
        webhook("sms:received", received("Nakupenda sana & 100% = +1")),
        OK,
        [(SENDER, "Nakupenda sana & 100% = +1", PHONE_ID)],
    ),
    InboundRow(
        "a wrong X-Signature: 403, nothing stored",
        ASG,
        webhook("sms:received", received("ping"), key="not-the-key"),
        Answer(403),
        [],
    ),
    InboundRow(
        "no X-Signature: 401, nothing stored",
        ASG,
        replace(webhook("sms:received", received("ping")), finish=None),
        Answer(401),
        [],
    ),
    InboundRow(
        "a stale X-Timestamp (10 minutes old, signed right): 403, nothing stored",
        ASG,
        webhook("sms:received", received("ping"), age=600),
        Answer(403),
        [],
    ),
    InboundRow(
        "an event we do not use (system:ping) is acknowledged and ignored",
        ASG,
        webhook("system:ping", {"health": {}}),
        Answer(200, json={"status": "ignored", "event": "system:ping"}),
        [],
    ),
    InboundRow(
        "sms:received without a message: 400 JSON, nothing stored",
        ASG,
        webhook("sms:received", {"messageId": "x", "phoneNumber": SENDER}),
        Answer(400, pattern="message"),
        [],
    ),
    InboundRow(
        "a body that is not JSON (signed): 400, never a 5xx",
        ASG,
        Call("POST", "", b"{not json", {"Content-Type": "application/json"}, finish=_signed),
        Answer(400),
        [],
    ),
]

OUTBOUND = [
    OutboundRow(
        "POST /messages with Basic auth, the client's body, our id as the gateway's id",
        ASG,
        {},
        Sent("POST", "http://phone:8080/messages", HEADERS, body(PEER)),
        Reply(202, state((PEER, "Pending"))),
        Outcome.SENT,
        "42",
    ),
    OutboundRow(
        "emoji and Swahili text: ASCII-escaped JSON, as requests writes the client's",
        ASG,
        {"text": TEXT},
        Sent("POST", "http://phone:8080/messages", HEADERS, body(PEER, text=TEXT)),
        Reply(202, state((PEER, "Pending"))),
        Outcome.SENT,
        "42",
    ),
    OutboundRow(
        "a token instead of the login: Bearer; a priority message bypasses the phone's limits",
        {
            "ENGINE": "android-sms-gateway",
            "url": "https://api.sms-gate.app/3rdparty/v1/",
            "token": "tkn",
        },
        {"priority": 1},
        Sent(
            "POST",
            "https://api.sms-gate.app/3rdparty/v1/messages",
            {"Authorization": "Bearer tkn", "Content-Type": "application/json"},
            json.dumps(
                {
                    "phoneNumbers": [PEER],
                    "textMessage": {"text": "hello"},
                    "priority": 100,
                    "withDeliveryReport": True,
                    "isEncrypted": False,
                    "id": "42",
                }
            ).encode(),
        ),
        Reply(202, state((PEER, "Pending"))),
        Outcome.SENT,
        "42",
    ),
    OutboundRow(
        "the recipient's state Failed: retried",
        ASG,
        {},
        Sent("POST", "http://phone:8080/messages", HEADERS, body(PEER)),
        Reply(202, state((PEER, "Failed"))),
        Outcome.RETRY,
    ),
    OutboundRow(
        "a 2xx without a message state: retried (the id we gave makes the repeat harmless)",
        ASG,
        {},
        Sent("POST", "http://phone:8080/messages", HEADERS, body(PEER)),
        Reply(202, "OK"),
        Outcome.RETRY,
    ),
    OutboundRow(
        "401 (wrong login): failed at once",
        ASG,
        {},
        Sent("POST", "http://phone:8080/messages", HEADERS, body(PEER)),
        Reply(401, '{"message": "Unauthorized"}'),
        Outcome.FAILED,
    ),
    OutboundRow(
        "500: retried",
        ASG,
        {},
        Sent("POST", "http://phone:8080/messages", HEADERS, body(PEER)),
        Reply(500, '{"message": "internal"}'),
        Outcome.RETRY,
    ),
]


def _report(event: str, **more) -> Call:
    payload = {"messageId": "{external_id}", "phoneNumber": PEER, **more}
    return webhook(event, payload)


REPORTS = [
    ReportRow(
        "sms:sent → S, matched by the id we gave (kept as the gateway's id)",
        ASG,
        _report("sms:sent", sentAt="2024-06-22T15:46:11.000+07:00"),
        OK,
        "Q",
        "S",
        external_id="42",
        signed=False,
        endpoint="receive",
    ),
    ReportRow(
        "sms:delivered → D",
        ASG,
        _report("sms:delivered", deliveredAt="2024-06-22T15:46:12.000+07:00"),
        OK,
        "S",
        "D",
        external_id="42",
        signed=False,
        endpoint="receive",
    ),
    ReportRow(
        "sms:failed → F, its reason recorded",
        ASG,
        _report("sms:failed", reason="RESULT_ERROR_NO_SERVICE"),
        OK,
        "S",
        "F",
        external_id="42",
        signed=False,
        endpoint="receive",
    ),
    ReportRow(
        "a repeated sms:delivered changes nothing (D stays D)",
        ASG,
        _report("sms:delivered"),
        OK,
        "D",
        "D",
        external_id="42",
        signed=False,
        endpoint="receive",
    ),
    ReportRow(
        "sms:sent before we know the id: 404 JSON, which the app retries",
        ASG,
        webhook("sms:sent", {"messageId": "43", "phoneNumber": PEER}),
        Answer(404),
        "Q",
        "Q",
        external_id="42",
        signed=False,
        endpoint="receive",
    ),
    ReportRow(
        "a report with a wrong X-Signature: 403, nothing changed",
        ASG,
        webhook("sms:delivered", {"messageId": "42", "phoneNumber": PEER}, key="nope"),
        Answer(403),
        "S",
        "S",
        external_id="42",
        signed=False,
        endpoint="receive",
    ),
]
