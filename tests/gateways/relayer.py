"""relayer: nyaruka's android-sms-relay on the legacy URLs, each call exactly as the app builds it
(SettingsActivity: `http://H/router/<url>?backend=B&password=P&`, then RelayService appends
`&sender=…&message=…` or `&message_id=N` with Java's URLEncoder; gateways.md §2)."""

from __future__ import annotations

from ..support.engine_table import (
    PASSWORD,
    Answer,
    Call,
    InboundRow,
    PollRow,
    ReportRow,
    Value,
)

RELAYER = {"ENGINE": "relayer"}
BASE = f"backend=gw&password={PASSWORD}&"  # the app's receive, outbox and delivery URLs' query
SENDER = "+255700111222"
TEXT = "a & b = c + 5% 😀 habari"
ENCODED = "a+%26+b+%3D+c+%2B+5%25+%F0%9F%98%80+habari"  # java.net.URLEncoder.encode(TEXT)


def _sms(message: str, sender: str = "%2B255700111222", base: str = BASE) -> Call:
    """RelayService.sendMessageToServer: receive URL + "&sender=" + … + "&message=" + …"""
    return Call("GET", f"{base}&sender={sender}&message={message}")


def _reply(text: str, contact: str) -> dict:
    """What the app reads of a reply in `responses`: it sends those that are O and Q."""
    return {
        "responses": [{"contact": contact, "text": text, "direction": "O", "status": "Q"}],
        "status": "Message handled.",
    }


INBOUND = [
    InboundRow(
        "an SMS as the app sends it (password in the query, the empty && parameter): stored, the "
        "reply in responses as O/Q with its contact without the + (the app dials '+' + contact)",
        RELAYER,
        _sms("echo+habari"),
        Answer(200, json_has=_reply("habari", "255700111222")),
        [(SENDER, "echo habari", None)],
        path="/router/receive",
    ),
    InboundRow(
        "text exact: & = + % and emoji as Java's URLEncoder writes them",
        RELAYER,
        _sms(ENCODED),
        Answer(200, json_has=_reply(TEXT, "255700111222")),
        [(SENDER, TEXT, None)],
        path="/router/receive",
    ),
    InboundRow(
        "a sender stored without + (the legacy normaliser) is shown the same",
        RELAYER,
        _sms("hi", sender="255700111222"),
        Answer(200, json_has=_reply("hi", "255700111222")),
        [("255700111222", "hi", None)],
        path="/router/receive",
    ),
    InboundRow(
        "the same call for a backend of another engine keeps the + (the legacy contract)",
        {"ENGINE": "kannel"},
        _sms("echo+habari"),
        Answer(200, json_has=_reply("habari", SENDER)),
        [(SENDER, "echo habari", None)],
        path="/router/receive",
    ),
    InboundRow(
        "a wrong password: 403, nothing stored",
        RELAYER,
        _sms("hi", base="backend=gw&password=nope&"),
        Answer(403, json={"field": "password"}),
        [],
        path="/router/receive",
    ),
    InboundRow(
        "no sender: 400 naming it, nothing stored",
        RELAYER,
        Call("GET", f"{BASE}&message=hi"),
        Answer(400, json={"field": "sender"}),
        [],
        path="/router/receive",
    ),
]


def _outbox(*entries: tuple[int, str, str]) -> dict:
    """What the app reads of `outbox[]`: id, contact, text, direction O, status Q."""
    return {
        "outbox": [
            {
                "id": Value(f"id{n}"),
                "contact": contact,
                "text": text,
                "direction": "O",
                "status": "Q",
            }
            for n, contact, text in entries
        ],
        "status": "Outbox follows.",
    }


POLLS = [
    PollRow(
        "the outbox as the app polls it (trailing &): contacts without the +, leased, not again "
        "while leased, again once the lease ran out (the app skips an id it has)",
        RELAYER,
        ["hello", TEXT],
        Call("GET", BASE),
        Answer(200, json_has=_outbox((1, "255700000001", "hello"), (2, "255700000001", TEXT))),
        after="Q",
        again=Answer(200, json={"outbox": []}),
        expired=Answer(
            200, json_has=_outbox((1, "255700000001", "hello"), (2, "255700000001", TEXT))
        ),
        path="/router/outbox",
    ),
    PollRow(
        "another pull engine's backend keeps the + in the outbox (the legacy contract)",
        {"ENGINE": "smssync"},
        ["hello"],
        Call("GET", BASE),
        Answer(200, json_has=_outbox((1, "+255700000001", "hello"))),
        after="Q",
        path="/router/outbox",
    ),
    PollRow(
        "a wrong password: 403, nothing handed out",
        RELAYER,
        ["hello"],
        Call("GET", "backend=gw&password=nope&"),
        Answer(403, json={"field": "password"}),
        after="Q",
        expired=Answer(403, json={"field": "password"}),
        path="/router/outbox",
    ),
]


def _delivered(base: str = BASE) -> Call:
    """RelayService.markMessageDelivered: delivery URL + "&message_id=" + id, once sent."""
    return Call("GET", f"{base}&message_id={{id}}")


REPORTS = [
    ReportRow(
        "sent, as the app reports it (no status): delivered, the legacy answer",
        RELAYER,
        _delivered(),
        Answer(200, json={"status": "Message marked as sent."}),
        "Q",
        "D",
        signed=False,
        path="/router/delivered",
    ),
    ReportRow(
        "the same report again: harmless",
        RELAYER,
        _delivered(),
        Answer(200, json={"status": "Message marked as sent."}),
        "D",
        "D",
        signed=False,
        path="/router/delivered",
    ),
    ReportRow(
        "a wrong password: 403, nothing changed",
        RELAYER,
        _delivered("backend=gw&password=nope&"),
        Answer(403, json={"field": "password"}),
        "Q",
        "Q",
        signed=False,
        path="/router/delivered",
    ),
]
