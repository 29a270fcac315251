"""http: any HTTP API by configuration — a commercial API that takes `phone`/`text`, posts
inbound messages as `phone`/`text`/`ref` and reports `ref`/`state` needs no code."""

from __future__ import annotations

import json

from httprouter.gateways.base import Outcome

from ..support.engine_table import (
    PASSWORD,
    Answer,
    Call,
    InboundRow,
    OutboundRow,
    Reply,
    ReportRow,
    Sent,
    form,
)

API = {
    "ENGINE": "http",
    "url": "https://api.test/v1/send",
    "method": "POST",
    "headers": {"Authorization": "Bearer api-secret"},
    "body_format": "json",
    "body": {
        "phone": "%(recipient)s",
        "text": "%(text)s",
        "ref": "%(id)s",
        "callback": "%(dlr_url)s",
    },
    "answer_id_field": "data.id",
    "receive_params": {"sender": "phone", "message": "text", "id": "ref"},
    "receive_answer": {"status": 200, "body": "OK"},
    "report_params": {"id": "ref", "status": "state"},
    "report_statuses": {"SENT": "sent", "DONE": "delivered", "FAIL": "failed", "QUEUED": None},
}
BY_THEIR_ID = {**API, "report_params": {"external_id": "msgid", "status": "state"}}
LEGACY = {"ENGINE": "http", "url": "http://gw.test/send?to=%(recipient)s&text=%(text)s"}
CALLBACK = "http://router.test/router/backends/gw/delivered?ref=42&token=tok42"

INBOUND = [
    InboundRow(
        "the gateway's names mapped onto ours; its fixed answer after the commit",
        API,
        Call(
            "POST",
            "password=" + PASSWORD,
            b"phone=%2B255700111222&text=habari+%E2%82%AC&ref=r-1",
            form(),
        ),
        Answer(200, body=b"OK"),
        [("+255700111222", "habari €", "r-1")],
        repeat=True,
    ),
    InboundRow(
        "JSON body with the gateway's names",
        API,
        Call(
            "POST",
            "",
            json.dumps({"phone": "255700111222", "text": "😀 ok", "password": PASSWORD}).encode(),
            {"Content-Type": "application/json"},
        ),
        Answer(200, body=b"OK"),
        [("255700111222", "😀 ok", None)],
    ),
    InboundRow(
        "its sender field missing: 400 naming the gateway's field",
        API,
        Call("POST", "password=" + PASSWORD, b"text=hi", form()),
        Answer(400, json={"field": "phone"}),
        [],
    ),
    InboundRow(
        "without a mapping: the legacy names and the legacy JSON answer",
        LEGACY,
        Call("GET", "sender=%2B1555&message=hi&id=7&password=" + PASSWORD),
        Answer(200, json={"status": "Message handled."}),
        [("+1555", "hi", "7")],
    ),
    InboundRow(
        '"empty" answers 200 with no body',
        {**LEGACY, "receive_answer": "empty"},
        Call("GET", "sender=1555&message=hi&password=" + PASSWORD),
        Answer(200, body=b""),
        [("1555", "hi", None)],
    ),
]

OUTBOUND = [
    OutboundRow(
        "JSON body from templates, our report URL as the callback; its id from the answer",
        API,
        {"text": 'say "hi" €'},
        Sent(
            "POST",
            "https://api.test/v1/send",
            {"Authorization": "Bearer api-secret", "Content-Type": "application/json"},
            json.dumps(
                {"phone": "+255700000001", "text": 'say "hi" €', "ref": "42", "callback": CALLBACK},
                ensure_ascii=False,
            ).encode(),
        ),
        Reply(200, '{"data": {"id": "A-1"}, "ok": true}'),
        Outcome.SENT,
        external_id="A-1",
    ),
    OutboundRow(
        "5xx is tried again",
        API,
        {"text": "hi"},
        Sent("POST", "https://api.test/v1/send"),
        Reply(502, "bad gateway"),
        Outcome.RETRY,
    ),
    OutboundRow(
        "a legacy ROUTER_URL-style template: GET, UTF-8 quote_plus",
        LEGACY,
        {"text": "a & b +5% café"},
        Sent("GET", "http://gw.test/send?to=%2B255700000001&text=a+%26+b+%2B5%25+caf%C3%A9", {}),
        Reply(200, "ok"),
        Outcome.SENT,
    ),
]


def _report(state: str) -> Call:
    return Call("GET", "ref={id}&token={token}&state=" + state)


REPORTS = [
    ReportRow("its SENT → sent", API, _report("SENT"), Answer(200), "Q", "S"),
    ReportRow("its DONE → delivered", API, _report("DONE"), Answer(200), "S", "D"),
    ReportRow("its FAIL → failed", API, _report("FAIL"), Answer(200), "S", "F"),
    ReportRow(
        "a value mapped to None: recorded, no change", API, _report("QUEUED"), Answer(200), "S", "S"
    ),
    ReportRow(
        "a value it does not map: refused",
        API,
        _report("WHAT"),
        Answer(400, json={"field": "state"}),
        "S",
        "S",
    ),
    ReportRow(
        "no status: refused, never taken as delivered",
        API,
        Call("GET", "ref={id}&token={token}"),
        Answer(400, json={"field": "state"}),
        "S",
        "S",
    ),
    ReportRow(
        "matched by the gateway's own id, with the password",
        BY_THEIR_ID,
        Call("POST", "password=" + PASSWORD, b"msgid={external_id}&state=FAIL", form()),
        Answer(200),
        "S",
        "F",
        external_id="A-9",
        signed=False,
    ),
    ReportRow(
        "without report_statuses: the legacy DLR types and words",
        LEGACY,
        Call("GET", "message_id={id}&token={token}&status=delivered"),
        Answer(200),
        "S",
        "D",
    ),
]
