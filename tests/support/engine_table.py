"""The engine table harness: every gateway engine is tested by rows of one of three kinds.

- `InboundRow`: a gateway's call to `/router/backends/<name>/receive` → the answer it gets
  (status and body) and the inbound messages stored (sender, text, gateway id). With
  `repeat=True` the same call is made again: same answer, nothing stored twice, no app run twice.
- `OutboundRow`: a message → the exact request the engine prepares; then the gateway's answer →
  the outcome (sent / retry / failed, and the gateway's id kept as `external_id`).
- `ReportRow`: a report call to `/router/backends/<name>/delivered` about a message in status
  `before` → the answer and the status after (a refused report changes nothing and records
  nothing).

Rows live beside each other in `tests/gateways/<engine>.py` as INBOUND, OUTBOUND and REPORTS;
`tests/test_engine_table.py` runs every module it finds there, on SQLite and PostgreSQL. In a
request, `{id}` and `{token}` stand for the message's id and signed token, `{external_id}` for
the gateway id the row gave the message.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import requests

from httprouter.gateways.base import OutboundMessage, Outcome

BACKEND = "gw"  # the name every row's backend has
PASSWORD = "table-pw"  # ROUTER_PASSWORD in every row's app
PEER = "+255700000001"  # the recipient of report rows' messages


@dataclass(frozen=True)
class Call:
    """An HTTP request as a gateway makes it."""

    method: str = "GET"
    query: str = ""  # the raw query string, exactly as the gateway writes it
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def fill(self, **values: Any) -> Call:
        """The call with {id}, {token} and {external_id} replaced."""

        def put(text: str) -> str:
            for key, value in values.items():
                text = text.replace("{" + key + "}", str(value))
            return text

        body = self.body
        if body is not None:
            body = put(body.decode("latin-1")).encode("latin-1")
        return Call(
            self.method, put(self.query), body, {k: put(v) for k, v in self.headers.items()}
        )


def form(**fields: str) -> dict[str, str]:
    """A form body's Content-Type header."""
    return {"Content-Type": "application/x-www-form-urlencoded", **fields}


@dataclass(frozen=True)
class Answer:
    """What the gateway must get back: a status, and the exact body, a regular expression
    (`pattern`) or a JSON subset (`json`)."""

    status: int = 200
    body: bytes | None = None
    pattern: str | None = None
    json: dict[str, Any] | None = None

    def check(self, response: Any) -> None:
        data = response.get_data()
        assert response.status_code == self.status, (response.status_code, data[:500])
        if self.body is not None:
            assert data == self.body, data[:500]
        if self.pattern is not None:
            assert re.search(self.pattern, data.decode("utf-8", "replace")), data[:500]
        if self.json is not None:
            assert response.mimetype == "application/json", response.mimetype
            found = json.loads(data)
            for key, value in self.json.items():
                assert found.get(key) == value, (key, found)


@dataclass(frozen=True)
class InboundRow:
    label: str
    backend: dict[str, Any]
    call: Call
    answer: Answer
    stored: list[tuple[str, str, str | None]]  # (sender, text, gateway id) of each message
    repeat: bool = False


@dataclass(frozen=True)
class Sent:
    """The request an engine must prepare."""

    method: str
    url: str
    headers: dict[str, str] | None = None  # None: not checked
    body: bytes | None = None
    form: dict[str, str] | None = None  # a form body, compared as pairs in order


@dataclass(frozen=True)
class Reply:
    """The gateway's answer to a push."""

    status: int
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)

    def response(self) -> requests.Response:
        response = requests.Response()
        response.status_code = self.status
        response._content = self.body.encode("utf-8")
        response.headers.update(self.headers)
        response.encoding = "utf-8"
        return response


@dataclass(frozen=True)
class OutboundRow:
    label: str
    backend: dict[str, Any]
    message: dict[str, Any]  # OutboundMessage fields besides id, backend, token, public_url
    sent: Sent
    reply: Reply | None  # None: the engine sends nothing over HTTP (it is asked to send)
    outcome: Outcome
    external_id: str | None = None


MESSAGE_ID = 42
TOKEN = "tok42"
PUBLIC_URL = "http://router.test"


def outbound_message(row: OutboundRow) -> OutboundMessage:
    values = {"recipient": PEER, "text": "hello", **row.message}
    return OutboundMessage(
        id=MESSAGE_ID, backend=BACKEND, token=TOKEN, public_url=PUBLIC_URL, **values
    )


@dataclass(frozen=True)
class ReportRow:
    label: str
    backend: dict[str, Any]
    call: Call
    answer: Answer
    before: str  # the message's status when the report comes
    after: str  # and after it (a refused report: the same, and nothing recorded)
    external_id: str | None = None  # the gateway's id the message was given when sent
    signed: bool = True  # False: the call carries no token, so it needs the password
