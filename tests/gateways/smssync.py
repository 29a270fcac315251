"""smssync: Ushahidi SMSSync's calls to its one sync URL, as the app (2.x/3.x source) sends them
(gateways.md §3): inbound SMS as an OkHttp form or JSON, `?task=send` polls, `?task=sent`
confirmations (no secret), `?task=result` GET and POST (`message_result` a JSON string)."""

from __future__ import annotations

import json
from urllib.parse import quote

from ..support.engine_table import PEER, Answer, Call, InboundRow, PollRow, ReportRow

SECRET = "sync-secret"
SMSSYNC = {"ENGINE": "smssync", "secret": SECRET}
RESULTS_API = {**SMSSYNC, "message_results": True}  # the app's "Message Results API" on
PHONE_UUID = "0d6b1bbe-6a7f-4d7e-8a0b-3c0f2f9a1b11"  # the phone's id of an inbound SMS
SENDER = "+255700111222"
TEXT = "Habari 😀 & = + % ✓"
JSON_TYPE = {"Content-Type": "application/json; charset=utf-8"}  # OkHttp's for the Results API
FORM_TYPE = {"Content-Type": "application/x-www-form-urlencoded"}


def _okhttp(pairs: list[tuple[str, str]]) -> bytes:
    """A form body as OkHttp's FormEncodingBuilder writes it: UTF-8, space as %20, + as %2B."""
    return "&".join(f"{quote(k, safe='*-._')}={quote(v, safe='*-._')}" for k, v in pairs).encode()


def _sms(message: str, *, secret: str | None = SECRET, sender: str = SENDER) -> list[tuple]:
    """An inbound SMS's fields in the order MessageHttpClient adds them."""
    pairs = [] if secret is None else [("secret", secret)]
    return [
        *pairs,
        ("from", sender),
        ("message", message),
        ("sent_timestamp", "1700000000000"),
        ("sent_to", "+255766000000"),
        ("message_id", PHONE_UUID),
        ("device_id", "01234"),
    ]


def _post(pairs: list[tuple], query: str = "") -> Call:
    return Call("POST", query, _okhttp(pairs), FORM_TYPE)


def _payload(messages: list[dict] | None = None, **more) -> dict:
    payload = {"success": True, "error": None, "task": "send", "secret": SECRET}
    return {"payload": {**payload, "messages": messages or [], **more}}


def _failure(error: str) -> dict:
    return {"payload": {"success": False, "error": error}}


# The answer to an SMS: success, and the app's reply handed out with it (none on a repeat: the
# reply was sent with the first answer).
REPLY = (
    r'^\{"payload": \{"success": true, "error": null, "task": "send", "secret": "sync-secret", '
    r'"messages": \[(\{"to": "\+255700111222", "message": "%s", "uuid": "\d+-[\w-]{24}"\})?\]\}\}$'
)

INBOUND = [
    InboundRow(
        "an SMS as the app posts it: stored once however often the phone retries, reply handed out",
        SMSSYNC,
        _post(_sms("habari")),
        Answer(200, pattern=REPLY % "habari"),
        [(SENDER, "habari", PHONE_UUID)],
        repeat=True,
    ),
    InboundRow(
        "text exact: emoji, Swahili, & = + %",
        SMSSYNC,
        _post(_sms(TEXT)),
        Answer(200, pattern=REPLY % "Habari 😀 & = \\+ % ✓"),
        [(SENDER, TEXT, PHONE_UUID)],
    ),
    InboundRow(
        "the JSON data format works as the form",
        SMSSYNC,
        Call("POST", "", json.dumps(dict(_sms(TEXT))).encode(), JSON_TYPE),
        Answer(200, pattern=REPLY % "Habari 😀 & = \\+ % ✓"),
        [(SENDER, TEXT, PHONE_UUID)],
    ),
    InboundRow(
        "PUT (the app's HTTP Method) works as POST",
        SMSSYNC,
        Call("PUT", "", _okhttp(_sms("habari")), FORM_TYPE),
        Answer(200, pattern=REPLY % "habari"),
        [(SENDER, "habari", PHONE_UUID)],
    ),
    InboundRow(
        "with the Message Results API on, the answer hands out nothing (the phone would send it "
        "unconfirmed): the reply waits for the next poll",
        RESULTS_API,
        _post(_sms("habari")),
        Answer(200, json=_payload([])),
        [(SENDER, "habari", PHONE_UUID)],
    ),
    InboundRow(
        "wrong secret: the protocol's failure, nothing stored",
        SMSSYNC,
        _post(_sms("habari", secret="nope")),
        Answer(403, json=_failure("wrong secret")),
        [],
    ),
    InboundRow(
        "no secret: the protocol's failure, nothing stored",
        SMSSYNC,
        _post(_sms("habari", secret=None)),
        Answer(401, json=_failure("secret required")),
        [],
    ),
    InboundRow(
        "no from: the protocol's failure naming it, nothing stored",
        SMSSYNC,
        _post([("secret", SECRET), ("message", "hi")]),
        Answer(400, json=_failure("from is required")),
        [],
    ),
    InboundRow(
        "the XML data format: refused, nothing stored",
        SMSSYNC,
        Call(
            "POST",
            f"secret={SECRET}",
            b"<payload><from>1</from><message>hi</message></payload>",
            {"Content-Type": "text/xml"},
        ),
        Answer(400, pattern="XML is not read"),
        [],
    ),
    InboundRow(
        "a GET of the sync URL without a task: the protocol's failure",
        SMSSYNC,
        Call("GET", f"secret={SECRET}"),
        Answer(400, json=_failure("a GET of the sync URL needs task=send or task=result")),
        [],
    ),
    InboundRow(
        "an unknown task: the protocol's failure",
        SMSSYNC,
        Call("GET", f"task=dance&secret={SECRET}"),
        Answer(400, json=_failure("task 'dance' is not send, sent or result")),
        [],
    ),
]


def _queued(*numbers: int) -> list[dict]:
    texts = {1: "hello", 2: TEXT}
    return [{"to": PEER, "message": texts[n], "uuid": f"{{id{n}}}-{{token{n}}}"} for n in numbers]


POLL = Call("GET", f"task=send&secret={quote(SECRET)}")  # the app appends ?task=send&secret=…

POLLS = [
    PollRow(
        "task=send, Results API off (the app's default): handed out once and sent at once, "
        "since the phone never confirms",
        SMSSYNC,
        ["hello", TEXT],
        POLL,
        Answer(200, json=_payload(_queued(1, 2))),
        after="S",
        again=Answer(200, json=_payload([])),
        expired=Answer(200, json=_payload([])),
    ),
    PollRow(
        "task=send, Results API on: leased, not handed out again while leased, handed out again "
        "once the lease ran out unconfirmed",
        RESULTS_API,
        ["hello", TEXT],
        POLL,
        Answer(200, json=_payload(_queued(1, 2))),
        after="Q",
        again=Answer(200, json=_payload([])),
        expired=Answer(200, json=_payload(_queued(1, 2))),
    ),
    PollRow(
        "task=send with a wrong secret: the protocol's failure, nothing handed out",
        RESULTS_API,
        ["hello"],
        Call("GET", "task=send&secret=nope"),
        Answer(403, json=_failure("wrong secret")),
        after="Q",
        again=Answer(403, json=_failure("wrong secret")),
        expired=Answer(403, json=_failure("wrong secret")),
    ),
]

UUID = "{id}-{token}"  # the uuid a message was handed out with


def _sent(*uuids: str) -> Call:
    """`POST ?task=sent` as the app sends it: no secret, JSON of the uuids about to be sent."""
    return Call(
        "POST", "task=sent", json.dumps({"queued_messages": list(uuids)}).encode(), JSON_TYPE
    )


def _result(sent: int, delivered: int, delivered_message: str = "", secret=SECRET) -> Call:
    """`POST ?task=result&secret=…`: `message_result` is the results' JSON *text* (Gson's)."""
    item = {
        "uuid": UUID,
        "sent_result_code": sent,
        "sent_result_message": "SMS sent" if sent == -1 else "",
        "delivered_result_code": delivered,
        "delivered_result_message": delivered_message,
    }
    body = json.dumps({"message_result": json.dumps([item], separators=(",", ":"))})
    query = "task=result" + (f"&secret={secret}" if secret else "")
    return Call("POST", query, body.encode(), JSON_TYPE)


OK = Answer(200, json={"payload": {"success": True, "error": None}})


def _report(label, call, answer, before, after, recorded=1, config=RESULTS_API):
    return ReportRow(
        label, config, call, answer, before, after, endpoint="receive", recorded=recorded
    )


REPORTS = [
    _report(
        "task=sent (no secret): the handed-out message becomes sent; its uuid is accepted",
        _sent(UUID),
        Answer(200, json={"message_uuids": [UUID]}),
        "Q",
        "S",
    ),
    _report(
        "task=sent again: harmless, still accepted (the phone had not got the first answer)",
        _sent(UUID),
        Answer(200, json={"message_uuids": [UUID]}),
        "S",
        "S",
    ),
    _report(
        "task=sent with a forged token: nothing changes, not accepted",
        _sent("{id}-forged0token0forged000"),
        Answer(200, json={"message_uuids": []}),
        "Q",
        "Q",
        recorded=0,
    ),
    _report(
        "task=sent for a cancelled message: not accepted, so the phone does not send it",
        _sent(UUID),
        Answer(200, json={"message_uuids": []}),
        "C",
        "C",
    ),
    _report(
        "task=sent with uuids that are not ours: ignored",
        _sent("0d6b1bbe-6a7f", "x"),
        Answer(200, json={"message_uuids": []}),
        "Q",
        "Q",
        recorded=0,
    ),
    _report(
        "task=sent without queued_messages: the protocol's failure",
        Call("POST", "task=sent", b"{}", JSON_TYPE),
        Answer(400, json=_failure("queued_messages must be a list of uuids")),
        "Q",
        "Q",
    ),
    _report(
        "GET task=result: the uuids of the sent messages waiting for a result",
        Call("GET", f"task=result&secret={SECRET}"),
        Answer(200, json={"message_uuids": [UUID]}),
        "S",
        "S",
        recorded=0,
    ),
    _report(
        "GET task=result: a delivered message is not asked about",
        Call("GET", f"task=result&secret={SECRET}"),
        Answer(200, json={"message_uuids": []}),
        "D",
        "D",
        recorded=0,
    ),
    _report(
        "POST task=result, delivered_result_code -1 (Android's RESULT_OK): delivered",
        _result(-1, -1, "SMS delivered"),
        OK,
        "S",
        "D",
    ),
    _report(
        "POST task=result, delivered_result_code 0 with its result message: failed",
        _result(-1, 0, "SMS not delivered"),
        OK,
        "S",
        "F",
    ),
    _report(
        "POST task=result, 0 before any delivery report came (Java's default): recorded, no change",
        _result(-1, 0),
        OK,
        "S",
        "S",
    ),
    _report(
        "POST task=result, sent_result_code 1 (the phone could not send it): failed",
        _result(1, 0),
        OK,
        "S",
        "F",
    ),
    _report(
        "POST task=result again: harmless",
        _result(-1, -1, "SMS delivered"),
        OK,
        "D",
        "D",
    ),
    _report(
        "POST task=result without the secret: the protocol's failure, nothing changed",
        _result(-1, -1, "SMS delivered", secret=None),
        Answer(401, json=_failure("secret required")),
        "S",
        "S",
    ),
    _report(
        "POST task=result, message_result not JSON: refused, nothing changed",
        Call("POST", f"task=result&secret={SECRET}", b'{"message_result": "[{"}', JSON_TYPE),
        Answer(400, json=_failure("message_result is not JSON")),
        "S",
        "S",
    ),
    _report(
        "POST task=result, a delivered_result_code that is not -1 or 0: refused, nothing changed",
        _result(-1, 7, "?"),
        Answer(400, json=_failure("delivered_result_code 7 is not -1 or 0")),
        "S",
        "S",
    ),
]
