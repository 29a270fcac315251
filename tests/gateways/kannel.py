"""kannel: an sms-service get-url inbound, sendsms outbound, DLR types as `%d` in the report URL."""

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
)

KANNEL = {"ENGINE": "kannel", "url": "http://k:13013/cgi-bin/sendsms"}
USER = {**KANNEL, "sendsms_user": "r", "sendsms_password": "pw"}
GET_URL = "sender=%2B255700111222&to=8080&id=kannel-1&coding=0&charset=UTF-8&password=" + PASSWORD
REPORT_URL = "http://router.test/router/backends/gw/delivered?message_id=42&token=tok42&status=%d"
ENCODED_REPORT_URL = (
    "http%3A%2F%2Frouter.test%2Frouter%2Fbackends%2Fgw%2Fdelivered"
    "%3Fmessage_id%3D42%26token%3Dtok42%26status%3D%25d"
)
HANDLED = Answer(200, json={"status": "Message handled."})

INBOUND = [
    InboundRow(
        "GSM text, stored once however often Kannel retries",
        KANNEL,
        Call("GET", GET_URL + "&message=echo+hello"),
        HANDLED,
        [("+255700111222", "echo hello", "kannel-1")],
        repeat=True,
    ),
    InboundRow(
        "URL specials exact",
        KANNEL,
        Call("GET", GET_URL + "&message=a+%26+b+%3D+c+%2B+5%25+%E2%82%AC"),
        HANDLED,
        [("+255700111222", "a & b = c + 5% €", "kannel-1")],
    ),
    InboundRow(
        "UCS-2 from the raw %b bytes (coding 2, charset UTF-16BE)",
        KANNEL,
        Call(
            "GET",
            "sender=255700111222&coding=2&charset=UTF-16BE&message=%00h%00i%00+%D8%3D%DE%00"
            "&password=" + PASSWORD,
        ),
        HANDLED,
        [("255700111222", "hi 😀", None)],
    ),
    InboundRow(
        "POST form works as GET",
        KANNEL,
        Call(
            "POST",
            "password=" + PASSWORD,
            b"sender=%2B255700111222&message=habari",
            {"Content-Type": "application/x-www-form-urlencoded"},
        ),
        HANDLED,
        [("+255700111222", "habari", None)],
    ),
    InboundRow(
        "no sender: 400 naming it, nothing stored",
        KANNEL,
        Call("GET", "message=hi&password=" + PASSWORD),
        Answer(400, json={"field": "sender"}),
        [],
    ),
    InboundRow(
        "bytes that are not UTF-8: 400, nothing stored",
        KANNEL,
        Call("GET", "sender=1&message=%FF%FE&password=" + PASSWORD),
        Answer(400, json={"field": "message"}),
        [],
    ),
    InboundRow(
        "wrong password: 403, nothing stored",
        KANNEL,
        Call("GET", "sender=1&message=hi&password=nope"),
        Answer(403, json={"field": "password"}),
        [],
    ),
]

OUTBOUND = [
    OutboundRow(
        "POST keeps the password in a header; GSM text has no coding; 202 is sent",
        USER,
        {"text": "echo hello", "sender": "8080"},
        Sent(
            "POST",
            "http://k:13013/cgi-bin/sendsms",
            {
                "Content-Type": "text/plain; charset=UTF-8",
                "X-Kannel-Username": "r",
                "X-Kannel-Password": "pw",
                "X-Kannel-To": "+255700000001",
                "X-Kannel-From": "8080",
                "X-Kannel-SMSC": "gw",
                "X-Kannel-DLR-Mask": "31",
                "X-Kannel-DLR-Url": REPORT_URL,
            },
            b"echo hello",
        ),
        Reply(202, "0: Accepted for delivery"),
        Outcome.SENT,
    ),
    OutboundRow(
        "non-GSM text asks for UCS-2, the charset in Content-Type",
        {**USER, "smsc": "modem1", "dlr_mask": 27},
        {"text": "Habari yako? ñ € 👍"},
        Sent(
            "POST",
            "http://k:13013/cgi-bin/sendsms",
            {
                "Content-Type": "text/plain; charset=UTF-8",
                "X-Kannel-Username": "r",
                "X-Kannel-Password": "pw",
                "X-Kannel-To": "+255700000001",
                "X-Kannel-SMSC": "modem1",
                "X-Kannel-Coding": "2",
                "X-Kannel-DLR-Mask": "27",
                "X-Kannel-DLR-Url": REPORT_URL,
            },
            "Habari yako? ñ € 👍".encode(),
        ),
        Reply(202, "3: Queued for later delivery"),
        Outcome.SENT,
    ),
    OutboundRow(
        "GET puts everything in the query, the report URL encoded once",
        {**USER, "method": "GET", "sender": "1234"},
        {"text": "a & b + 5%"},
        Sent(
            "GET",
            "http://k:13013/cgi-bin/sendsms?username=r&password=pw&text=a+%26+b+%2B+5%25"
            "&to=%2B255700000001&from=1234&smsc=gw&dlr-mask=31&dlr-url=" + ENCODED_REPORT_URL,
        ),
        Reply(403, "Not routable. Do not try again."),
        Outcome.FAILED,
    ),
    OutboundRow(
        "no reports asked for with dlr_mask 0; 503 is tried again",
        {**KANNEL, "method": "GET", "dlr_mask": 0},
        {"text": "€uro ok 😀"},
        Sent(
            "GET",
            "http://k:13013/cgi-bin/sendsms?text=%E2%82%ACuro+ok+%F0%9F%98%80"
            "&to=%2B255700000001&smsc=gw&coding=2&charset=UTF-8",
        ),
        Reply(503, "Temporal failure, try again later."),
        Outcome.RETRY,
    ),
]


def _dlr(status: str) -> Call:
    return Call("GET", "message_id={id}&token={token}&status=" + status)


REPORTS = [
    ReportRow("8 SMSC accepted → sent", KANNEL, _dlr("8"), Answer(200), "Q", "S"),
    ReportRow("4 buffered → sent", KANNEL, _dlr("4"), Answer(200), "Q", "S"),
    ReportRow("1 delivered → delivered", KANNEL, _dlr("1"), Answer(200), "S", "D"),
    ReportRow("2 undelivered → failed", KANNEL, _dlr("2"), Answer(200), "S", "F"),
    ReportRow("16 SMSC rejected → failed", KANNEL, _dlr("16"), Answer(200), "Q", "F"),
    ReportRow("32 intermediate: recorded, no change", KANNEL, _dlr("32"), Answer(200), "S", "S"),
    ReportRow("a late 8 after 1 changes nothing", KANNEL, _dlr("8"), Answer(200), "D", "D"),
    ReportRow(
        "no status: refused, never taken as delivered",
        KANNEL,
        Call("GET", "message_id={id}&token={token}"),
        Answer(400, json={"field": "status"}),
        "S",
        "S",
    ),
    ReportRow(
        "an unfilled %d: refused",
        KANNEL,
        _dlr("%25d"),
        Answer(400, json={"field": "status"}),
        "S",
        "S",
    ),
    ReportRow(
        "a token of another message: the password is asked for",
        KANNEL,
        _dlr("1"),
        Answer(401, json={"field": "password"}),
        "S",
        "S",
        signed=False,
    ),
    ReportRow(
        "the password instead of the token",
        KANNEL,
        Call("GET", "message_id={id}&status=1&password=" + PASSWORD),
        Answer(200),
        "S",
        "D",
        signed=False,
    ),
    ReportRow(
        "an unknown message: 404",
        KANNEL,
        Call("GET", "message_id=99999&status=1&password=" + PASSWORD),
        Answer(404, json={"field": "message_id"}),
        "S",
        "S",
        signed=False,
    ),
]
