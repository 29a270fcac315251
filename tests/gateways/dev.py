"""dummy, log, file: development engines; every message is sent, no HTTP at all."""

from __future__ import annotations

from httprouter.gateways.base import Outcome

from ..support.engine_table import PASSWORD, Answer, Call, InboundRow, OutboundRow, ReportRow, Sent

OUTBOUND = [
    OutboundRow(
        f"{name}: accepted as sent, nothing leaves the process",
        {"ENGINE": name},
        {"text": "hello €"},
        Sent("SEND", f"{cls}:gw"),
        None,
        Outcome.SENT,
    )
    for name, cls in (("dummy", "DummyEngine"), ("log", "LogEngine"))
]

INBOUND = [
    InboundRow(
        "dummy takes no inbound calls: 404 naming the backend",
        {"ENGINE": "dummy"},
        Call("GET", "sender=1&message=hi&password=" + PASSWORD),
        Answer(404, json={"field": "backend"}),
        [],
    ),
]

REPORTS = [
    ReportRow(
        "file takes no reports: 404, nothing changed",
        {"ENGINE": "file", "path": "/tmp/httprouter-table-file.jsonl"},
        Call("GET", "message_id={id}&token={token}&status=1"),
        Answer(404, json={"field": "backend"}),
        "S",
        "S",
    ),
]
