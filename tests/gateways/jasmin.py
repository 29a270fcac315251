"""jasmin: the HTTP client connector inbound, `/send` outbound, `message_status` reports; every
answer to Jasmin's own calls is exactly `ACK/Jasmin` (gateways.md §1)."""

from __future__ import annotations

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

JASMIN = {
    "ENGINE": "jasmin",
    "url": "http://j:1401/send",
    "gateway_user": "router",
    "gateway_password": "jpw",
}
ACK = Answer(200, body=b"ACK/Jasmin")
CONNECTOR = "password=" + PASSWORD
REPORT_URL = "http://router.test/router/backends/gw/delivered?message_id=42&token=tok42"
UUID = "e3b4c6a2-1f0d-4c8e-9a57-3d2f1b0c9e11"


def _mo(coding: str, binary: bytes, content: str = "", mid: str = UUID) -> bytes:
    """An MO as Jasmin posts it: `coding` a raw byte, `binary` the SMSC's bytes as hex."""
    return (
        f"id={mid}&from=255700111222&to=8080&origin-connector=smsc1&priority=0"
        f"&coding={coding}&validity=&content={content}&binary={binary.hex()}"
    ).encode("ascii")


def _gsm(*codes: int) -> bytes:
    return bytes(codes)


INBOUND = [
    InboundRow(
        "GSM text: ACK only after the commit, and again for a repeat (apps run once)",
        JASMIN,
        Call("POST", CONNECTOR, _mo("%00", b"ping", "ping"), form()),
        ACK,
        [("255700111222", "ping", UUID)],
        repeat=True,
    ),
    InboundRow(
        "GSM 03.38 bytes decoded as GSM (@ is 00, € the escape 1B 65), not as Latin-1",
        JASMIN,
        Call(
            "POST",
            CONNECTOR,
            _mo("%00", _gsm(0x00, 0x20, 0x1B, 0x65, 0x20, 0x26, 0x3D, 0x2B, 0x25, 0x20, 0x11)),
            form(),
        ),
        ACK,
        [("255700111222", "@ € &=+% _", UUID)],
    ),
    InboundRow(
        "UCS-2 (coding 08): UTF-16BE bytes, emoji, Swahili and Hindi exact",
        JASMIN,
        Call("POST", CONNECTOR, _mo("%08", "नमस्ते 😀 habari".encode("utf-16-be")), form()),
        ACK,
        [("255700111222", "नमस्ते 😀 habari", UUID)],
    ),
    InboundRow(
        "GET: the connector URL's own query merged with Jasmin's",
        JASMIN,
        Call("GET", CONNECTOR + "&" + _mo("%00", b"hi", "hi").decode()),
        ACK,
        [("255700111222", "hi", UUID)],
    ),
    InboundRow(
        "wrong password: not ACK (403), nothing stored",
        JASMIN,
        Call("POST", "password=nope", _mo("%00", b"hi"), form()),
        Answer(403, pattern=r'^Error "wrong password"$'),
        [],
    ),
    InboundRow(
        "no from: not ACK (400) naming it, nothing stored",
        JASMIN,
        Call("POST", CONNECTOR, b"id=x&coding=%00&binary=6869", form()),
        Answer(400, pattern=r'^Error "from is required"$'),
        [],
    ),
    InboundRow(
        "binary that is not hex: not ACK (400), nothing stored",
        JASMIN,
        Call("POST", CONNECTOR, b"id=x&from=1&coding=%00&binary=zz", form()),
        Answer(400, pattern="binary must be hexadecimal"),
        [],
    ),
    InboundRow(
        "UCS-2 bytes that are not UTF-16: not ACK (400), nothing stored",
        JASMIN,
        Call("POST", CONNECTOR, b"id=x&from=1&coding=%08&binary=d800", form()),
        Answer(400, pattern="not valid utf-16-be"),
        [],
    ),
]


def _send_form(coding_and_text: list[tuple[str, str]], **extra: str) -> dict[str, str]:
    head = {"username": "router", "password": "jpw", "to": "255700000001", **extra}
    tail = {"dlr": "yes", "dlr-url": REPORT_URL, "dlr-level": "3", "dlr-method": "POST"}
    return {**head, **dict(coding_and_text), **tail}


SEND = "http://j:1401/send"

OUTBOUND = [
    OutboundRow(
        "GSM text as content (Jasmin makes it GSM 03.38); Success gives Jasmin's id",
        JASMIN,
        {"text": "a & b = c + 5% €"},
        Sent(
            "POST",
            SEND,
            form(),
            form=_send_form([("coding", "0"), ("content", "a & b = c + 5% €")]),
        ),
        Reply(200, f'Success "{UUID}"'),
        Outcome.SENT,
        external_id=UUID,
    ),
    OutboundRow(
        "other text as coding 8 + hex-content (UTF-16BE)",
        JASMIN,
        {"text": "नमस्ते 😀"},
        Sent(
            "POST",
            SEND,
            form(),
            form=_send_form(
                [("coding", "8"), ("hex-content", "नमस्ते 😀".encode("utf-16-be").hex())]
            ),
        ),
        Reply(200, 'Success "abc"'),
        Outcome.SENT,
        external_id="abc",
    ),
    OutboundRow(
        "sender, priority and validity; keep_plus keeps the +",
        {**JASMIN, "keep_plus": True, "validity_period": 60},
        {"text": "hi", "sender": "8080", "priority": 5},
        Sent(
            "POST",
            SEND,
            form(),
            form={
                "username": "router",
                "password": "jpw",
                "to": "+255700000001",
                "from": "8080",
                "coding": "0",
                "content": "hi",
                "priority": "3",
                "validity-period": "60",
                "dlr": "yes",
                "dlr-url": REPORT_URL,
                "dlr-level": "3",
                "dlr-method": "POST",
            },
        ),
        Reply(200, 'Success "x1"'),
        Outcome.SENT,
        external_id="x1",
    ),
    OutboundRow(
        "dlr_level 0 asks for no report; 403 bad credentials fail at once",
        {**JASMIN, "dlr_level": 0},
        {"text": "hi"},
        Sent(
            "POST",
            SEND,
            form(),
            form={
                "username": "router",
                "password": "jpw",
                "to": "255700000001",
                "coding": "0",
                "content": "hi",
            },
        ),
        Reply(403, 'Error "Authentication failure for username:router"'),
        Outcome.FAILED,
    ),
    OutboundRow(
        "412 no route fails at once",
        JASMIN,
        {"text": "hi"},
        Sent("POST", SEND, form()),
        Reply(412, 'Error "No route found"'),
        Outcome.FAILED,
    ),
    OutboundRow(
        "400 (an argument it refuses) fails at once",
        JASMIN,
        {"text": "hi"},
        Sent("POST", SEND),
        Reply(400, 'Error "Argument [foo] is unknown."'),
        Outcome.FAILED,
    ),
    OutboundRow(
        "500 is tried again",
        JASMIN,
        {"text": "hi"},
        Sent("POST", SEND),
        Reply(500, 'Error "Cannot send submit_sm, check SMPPClientManagerPB log file for details"'),
        Outcome.RETRY,
    ),
    OutboundRow(
        "a 200 without Success is tried again, with no id",
        JASMIN,
        {"text": "hi"},
        Sent("POST", SEND),
        Reply(200, "<html>proxy page</html>"),
        Outcome.RETRY,
    ),
]


def _dlr(body: str) -> Call:
    return Call("POST", "message_id={id}&token={token}", body.encode(), form())


LEVEL2 = "id=" + UUID + "&id_smsc=0ab1&sub=001&dlvrd=001&subdate=2612041200&donedate=2612041201"
LEVEL2 += "&err=000&text=hi&level=2&connector=smsc1&message_status="

REPORTS = [
    ReportRow(
        "level 1 ESME_ROK → sent",
        JASMIN,
        _dlr(f"id={UUID}&message_status=ESME_ROK&level=1&connector=smsc1"),
        ACK,
        "Q",
        "S",
    ),
    ReportRow(
        "level 1 ESME_RSUBMITFAIL → failed",
        JASMIN,
        _dlr(f"id={UUID}&message_status=ESME_RSUBMITFAIL&level=1&connector=smsc1"),
        ACK,
        "Q",
        "F",
    ),
    ReportRow("level 2 DELIVRD → delivered", JASMIN, _dlr(LEVEL2 + "DELIVRD"), ACK, "S", "D"),
    ReportRow("level 2 ACCEPTD → sent", JASMIN, _dlr(LEVEL2 + "ACCEPTD"), ACK, "Q", "S"),
    ReportRow("level 2 UNDELIV → failed", JASMIN, _dlr(LEVEL2 + "UNDELIV"), ACK, "S", "F"),
    ReportRow("level 2 REJECTD → failed", JASMIN, _dlr(LEVEL2 + "REJECTD"), ACK, "S", "F"),
    ReportRow("level 2 EXPIRED → failed", JASMIN, _dlr(LEVEL2 + "EXPIRED"), ACK, "S", "F"),
    ReportRow("level 2 DELETED → failed", JASMIN, _dlr(LEVEL2 + "DELETED"), ACK, "S", "F"),
    ReportRow(
        "level 2 UNKNOWN: recorded, no change", JASMIN, _dlr(LEVEL2 + "UNKNOWN"), ACK, "S", "S"
    ),
    ReportRow(
        "a late level 1 after DELIVRD changes nothing",
        JASMIN,
        _dlr(f"id={UUID}&message_status=ESME_ROK&level=1"),
        ACK,
        "D",
        "D",
    ),
    ReportRow(
        "no message_status: refused (not ACK), never taken as delivered",
        JASMIN,
        _dlr(f"id={UUID}&level=2"),
        Answer(400, pattern='^Error "message_status is required"$'),
        "S",
        "S",
    ),
    ReportRow(
        "a status of no level: refused",
        JASMIN,
        _dlr(LEVEL2 + "WHATEVER"),
        Answer(400, pattern="not a level 2 status"),
        "S",
        "S",
    ),
    ReportRow(
        "matched by Jasmin's id when the URL has none of ours (with the password)",
        JASMIN,
        Call(
            "POST",
            "password=" + PASSWORD,
            ("id={external_id}&" + LEVEL2.split("&", 1)[1] + "DELIVRD").encode(),
            form(),
        ),
        ACK,
        "S",
        "D",
        external_id="jasmin-77",
        signed=False,
    ),
]
