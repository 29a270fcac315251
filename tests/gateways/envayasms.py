"""envayasms: EnvayaSMS 3's posts to its one server URL, as the app builds them (its HttpTask and
ForwarderTask; gateways.md §4), each signed with X-Request-Signature over the URL, the sorted
form fields and the password."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import replace
from urllib.parse import parse_qsl, quote_plus

from ..support.engine_table import PASSWORD, PEER, Answer, Call, InboundRow, PollRow, ReportRow

ENVAYA = {"ENGINE": "envayasms"}
URL = "http://localhost/router/backends/gw/receive"  # the Server URL the phone signs
SENDER = "+16505551234"
TIMESTAMP = "1317506831000"
TEXT = "Habari 😀 & = + % ✓"
BOUNDARY = "i66xAht5IMn1Tfk7tL9DgY8ZHZxq0d0RG"


def _sign(fields: list[tuple[str, str]], url: str = URL, password: str = PASSWORD) -> str:
    """The app's getSignature(): the URL, each field as name=value sorted by name, the password,
    joined with commas; SHA-1 of that in UTF-8, base64."""
    pairs = sorted(fields, key=lambda pair: pair[0])
    text = ",".join([url, *(f"{k}={v}" for k, v in pairs), password])
    return base64.b64encode(
        hashlib.sha1(text.encode("utf-8"), usedforsecurity=False).digest()
    ).decode()


def _signed(call: Call) -> Call:
    """Sign a filled form post as the phone does."""
    fields = parse_qsl(call.body.decode("ascii"), keep_blank_values=True)
    return replace(call, headers={**call.headers, "X-Request-Signature": _sign(fields)})


def _common() -> list[tuple[str, str]]:
    """What HttpTask adds to every post (version comes first, from BaseHttpTask)."""
    return [
        ("version", "30"),
        ("phone_number", "16505551212"),
        ("phone_id", ""),
        ("phone_token", ""),
        ("send_limit", "100"),
        ("now", "1317506835000"),
        ("settings_version", "0"),
        ("battery", "80"),
        ("power", "2"),
        ("network", "WIFI"),
        ("log", ""),
    ]


def _form(pairs: list[tuple[str, str]]) -> bytes:
    """UrlEncodedFormEntity(params, "UTF-8"): UTF-8, space as + (braces kept: placeholders)."""
    return "&".join(f"{quote_plus(k)}={quote_plus(v, safe='*{}')}" for k, v in pairs).encode()


def _post(pairs: list[tuple[str, str]], *, sign: bool = True) -> Call:
    body = _form(pairs)
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    return Call("POST", "", body, headers, finish=_signed if sign else None)


def _incoming(message: str, kind: str = "sms", sender: str = SENDER) -> list[tuple[str, str]]:
    """ForwarderTask's fields, in its order, then HttpTask's."""
    return [
        ("message_type", kind),
        ("message", message),
        ("timestamp", TIMESTAMP),
        *_common()[:1],
        ("action", "incoming"),
        ("from", sender),
        *_common()[1:],
    ]


def _action(action: str, *more: tuple[str, str]) -> list[tuple[str, str]]:
    return [*more, ("action", action), *_common()]


def _gateway_id(sender: str, text: str) -> str:
    """An incoming SMS carries no id: a retry is known by its sender, timestamp and text."""
    digest = hashlib.sha256((sender + "\n" + text).encode()).hexdigest()
    return f"{TIMESTAMP}-{digest[:24]}"


def _forged(call: Call, value: str = "bm9wZQ==") -> Call:
    """The call with a signature that is not the phone's."""
    return replace(call, finish=None, headers={**call.headers, "X-Request-Signature": value})


def _mms(text: str) -> Call:
    """An MMS as the app posts it: multipart, the text fields and a file part (not signed)."""
    fields = [
        ("from", SENDER),
        ("timestamp", TIMESTAMP),
        ("message", text),
        ("message_type", "mms"),
        (
            "mms_parts",
            '[{"type":"image/jpeg","filename":"Image0001.jpg","cid":"<570>","name":"part0"}]',
        ),
        ("action", "incoming"),
        *_common(),
    ]
    parts = []
    for name, value in fields:
        parts.append(
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n'
            "Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
            f"{value}\r\n".encode()
        )
    parts.append(
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="part0"; '
        'filename="Image0001.jpg"\r\nContent-Type: image/jpeg\r\n'
        "Content-Transfer-Encoding: binary\r\n\r\n".encode()
        + b"\xff\xd8\xff\xe0 not really a jpeg\r\n"
    )
    body = b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()
    headers = {
        "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
        "X-Request-Signature": _sign(fields),
    }
    return Call("POST", "", body, headers)


def _error(message: str) -> dict:
    return {"error": {"message": message}}


NONE = {"events": []}
# The answer to an SMS: the echo app's reply as a send event (none on a repeat: it is leased).
REPLY = (
    r'^\{"events": \[(\{"event": "send", "messages": \[\{"id": "\d+", "to": "\+16505551234", '
    r'"message": "%s"\}\]\})?\]\}$'
)

INBOUND = [
    InboundRow(
        "an SMS as the app forwards it: stored once however often it retries (known by sender, "
        "timestamp and text), the reply in the answer as a send event",
        ENVAYA,
        _post(_incoming("echo habari")),
        Answer(200, pattern=REPLY % "habari"),
        [(SENDER, "echo habari", _gateway_id(SENDER, "echo habari"))],
        repeat=True,
    ),
    InboundRow(
        "text exact: emoji, Swahili, & = + %",
        ENVAYA,
        _post(_incoming(TEXT)),
        Answer(200, pattern=REPLY % "Habari 😀 & = \\+ % ✓"),
        [(SENDER, TEXT, _gateway_id(SENDER, TEXT))],
    ),
    InboundRow(
        "an MMS (multipart): its text stored, the file part not signed",
        ENVAYA,
        _mms(TEXT),
        Answer(200, pattern=REPLY % "Habari 😀 & = \\+ % ✓"),
        [(SENDER, TEXT, _gateway_id(SENDER, TEXT))],
    ),
    InboundRow(
        "a call notification: nothing to store, answered",
        ENVAYA,
        _post(_incoming("", kind="call")),
        Answer(200, json=NONE),
        [],
    ),
    InboundRow(
        "a wrong signature: 403, nothing stored",
        ENVAYA,
        _forged(_post(_incoming("hi"))),
        Answer(403, json=_error("wrong X-Request-Signature")),
        [],
    ),
    InboundRow(
        "no signature: 403, nothing stored",
        ENVAYA,
        _post(_incoming("hi"), sign=False),
        Answer(403, json=_error("X-Request-Signature required")),
        [],
    ),
    InboundRow(
        "signed for another server URL: 403, nothing stored",
        ENVAYA,
        replace(
            _post(_incoming("hi"), sign=False),
            finish=lambda call: replace(
                call,
                headers={
                    **call.headers,
                    "X-Request-Signature": _sign(_incoming("hi"), url="http://other/receive"),
                },
            ),
        ),
        Answer(403, json=_error("wrong X-Request-Signature")),
        [],
    ),
    InboundRow(
        "a field changed after signing: 403, nothing stored",
        ENVAYA,
        replace(
            _post(_incoming("hi")),
            finish=lambda call: replace(
                _signed(call), body=call.body.replace(b"message=hi", b"message=ho")
            ),
        ),
        Answer(403, json=_error("wrong X-Request-Signature")),
        [],
    ),
    InboundRow(
        "no from: 400 naming it, nothing stored",
        ENVAYA,
        _post(_action("incoming", ("message_type", "sms"), ("message", "hi"))),
        Answer(400, json=_error("from is required")),
        [],
    ),
    InboundRow(
        "an unknown action: 400",
        ENVAYA,
        _post(_action("dance")),
        Answer(400, pattern="action must be one of incoming, outgoing"),
        [],
    ),
    InboundRow(
        "a GET, even signed: 400 (the app posts every action)",
        ENVAYA,
        Call(
            "GET",
            "action=outgoing",
            headers={"X-Request-Signature": _sign([], url=URL + "?action=outgoing")},
        ),
        Answer(400, json=_error("EnvayaSMS posts every action")),
        [],
    ),
    InboundRow(
        "test (Test Connection): 200 JSON",
        ENVAYA,
        _post(_action("test")),
        Answer(200, json=NONE),
        [],
    ),
    InboundRow(
        "device_status: 200 JSON",
        ENVAYA,
        _post(_action("device_status", ("status", "battery_low"))),
        Answer(200, json=NONE),
        [],
    ),
]


def _sends(*numbers: int) -> dict:
    texts = {1: "hello", 2: TEXT}
    messages = [{"id": f"{{id{n}}}", "to": PEER, "message": texts[n]} for n in numbers]
    return {"events": [{"event": "send", "messages": messages}]}


POLLS = [
    PollRow(
        "outgoing: the queued messages as one send event, leased; not again while leased; again "
        "once the lease ran out (the app skips an id it has)",
        ENVAYA,
        ["hello", TEXT],
        _post(_action("outgoing")),
        Answer(200, json=_sends(1, 2)),
        after="Q",
        again=Answer(200, json=NONE),
        expired=Answer(200, json=_sends(1, 2)),
    ),
    PollRow(
        "the answer to any action hands them out (here: test)",
        ENVAYA,
        ["hello"],
        _post(_action("test")),
        Answer(200, json=_sends(1)),
        after="Q",
        again=Answer(200, json=NONE),
    ),
    PollRow(
        "outgoing with a wrong signature: 403, nothing handed out",
        ENVAYA,
        ["hello"],
        _forged(_post(_action("outgoing"))),
        Answer(403, json=_error("wrong X-Request-Signature")),
        after="Q",
        expired=Answer(403, json=_error("wrong X-Request-Signature")),
    ),
]


def _status(status: str, message_id: str = "{id}", error: str = "") -> Call:
    """Outbox.notifyMessageStatus: id, status, error, action; then HttpTask's fields."""
    return _post(
        [("id", message_id), ("status", status), ("error", error), *_action("send_status")]
    )


def _report(label, call, answer, before, after, recorded=1):
    return ReportRow(
        label, ENVAYA, call, answer, before, after, endpoint="receive", recorded=recorded
    )


REPORTS = [
    _report("send_status sent: S", _status("sent"), Answer(200, json=NONE), "Q", "S"),
    _report(
        "send_status failed: F",
        _status("failed", error="Generic failure"),
        Answer(200, json=NONE),
        "Q",
        "F",
    ),
    _report("send_status cancelled: C", _status("cancelled"), Answer(200, json=NONE), "Q", "C"),
    _report(
        "send_status cancelled of a sent message: changes nothing (recorded)",
        _status("cancelled"),
        Answer(200, json=NONE),
        "S",
        "S",
    ),
    _report("send_status sent again: harmless", _status("sent"), Answer(200, json=NONE), "S", "S"),
    _report(
        "send_status queued: recorded, no change; the answer hands the message out",
        _status("queued"),
        Answer(
            200,
            json={
                "events": [
                    {"event": "send", "messages": [{"id": "{id}", "to": PEER, "message": "hello"}]}
                ]
            },
        ),
        "Q",
        "Q",
        recorded=2,  # the report, and the hand-out
    ),
    _report(
        "send_status of an id that is not ours: answered, nothing changed",
        _status("sent", message_id="abc"),
        Answer(200, json=NONE),
        "S",
        "S",
        recorded=0,
    ),
    _report(
        "send_status with an unknown status: 400, nothing changed",
        _status("exploded"),
        Answer(400, pattern="status must be one of sent, failed, cancelled, queued"),
        "S",
        "S",
    ),
    _report(
        "send_status with a wrong signature: 403, nothing changed",
        _forged(_status("sent")),
        Answer(403, json=_error("wrong X-Request-Signature")),
        "S",
        "S",
    ),
]
