"""console: the phone simulator's engine; a push is the simulated phone's delivery report."""

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

# The simulated phone's report that message 42 reached it: the whole push.
REPORT = Sent(
    "GET",
    "http://router.test/router/backends/gw/delivered?message_id=42&token=tok42&status=delivered",
    headers={},
    body=None,
)

OUTBOUND = [
    OutboundRow(
        "the push is a GET of the message's own report URL saying delivered",
        {"ENGINE": "console"},
        {"text": "pong"},
        REPORT,
        Reply(200, '{"status": "Report recorded."}'),
        Outcome.SENT,
    ),
    OutboundRow(
        "the router not answering is retried, as any gateway that is down",
        {"ENGINE": "console"},
        {"text": "pong"},
        REPORT,
        Reply(503, '{"error": "database unavailable, try again later"}'),
        Outcome.RETRY,
    ),
]

INBOUND = [
    InboundRow(
        "takes no inbound calls (the simulator page stores its messages itself): 404",
        {"ENGINE": "console"},
        Call("GET", "sender=1&message=hi&password=" + PASSWORD),
        Answer(404, json={"field": "backend"}),
        [],
    ),
]

REPORTS = [
    ReportRow(
        "delivered, reported during the push: Q → D",
        {"ENGINE": "console"},
        Call("GET", "message_id={id}&token={token}&status=delivered"),
        Answer(200, json={"status": "Report recorded."}),
        "Q",
        "D",
    ),
    ReportRow(
        "delivered after sent: S → D",
        {"ENGINE": "console"},
        Call("GET", "message_id={id}&token={token}&status=delivered"),
        Answer(200),
        "S",
        "D",
    ),
    ReportRow(
        "any other status is refused: 400, nothing changed",
        {"ENGINE": "console"},
        Call("GET", "message_id={id}&token={token}&status=failed"),
        Answer(400, json={"field": "status"}),
        "S",
        "S",
    ),
    ReportRow(
        "without the message's token: refused, nothing changed",
        {"ENGINE": "console"},
        Call("GET", "message_id={id}&status=delivered"),
        Answer(401),
        "Q",
        "Q",
        signed=False,
    ),
]
