"""The engine table harness: every gateway engine is tested by rows of one of four kinds.

- `InboundRow`: a gateway's call to `/router/backends/<name>/receive` → the answer it gets
  (status and body) and the inbound messages stored (sender, text, gateway id). With
  `repeat=True` the same call is made again: same answer, nothing stored twice, no app run twice.
- `OutboundRow`: a message → the exact request the engine prepares; then the gateway's answer →
  the outcome (sent / retry / failed, and the gateway's id kept as `external_id`).
- `ReportRow`: a report call to `/router/backends/<name>/delivered` (or, for a one-URL protocol,
  `…/receive`) about a message in status `before` → the answer and the status after (a refused
  report changes nothing and records nothing).
- `PollRow`: queued messages, and a pull gateway's poll → the answer that hands them out and
  their status after; the same poll again at once → not handed out again while leased; the same
  poll once the lease has run out → handed out again.

Rows live beside each other in `tests/gateways/<engine>.py` as INBOUND, OUTBOUND, REPORTS and
POLLS; `tests/unit/gateways/test_engine_table.py` runs every module it finds there, on SQLite and PostgreSQL.
In a request, `{id}` and `{token}` stand for the message's id and signed token, `{external_id}`
for the gateway id the row gave the message; in a poll row `{id1}`, `{token1}`, `{id2}`… for the
queued messages', in the call and in the answers. A call's `finish` completes it once filled
(say, signs it as the gateway does). A row's `path` replaces the backend's own URL for gateways
that call the legacy ones.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import requests

from httprouter.gateways.base import Outbound, Outcome

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
    finish: Callable[[Call], Call] | None = None  # completes the filled call (a signature)

    def fill(self, **values: Any) -> Call:
        """The call with {id}, {token}, {external_id}… replaced, then finished."""
        body = self.body
        if body is not None:
            body = put(body.decode("latin-1"), values).encode("latin-1")
        filled = Call(
            self.method,
            put(self.query, values),
            body,
            {k: put(v, values) for k, v in self.headers.items()},
        )
        return self.finish(filled) if self.finish is not None else filled


def put(text: str, values: dict[str, Any]) -> str:
    """`text` with each {name} of `values` replaced by its value."""
    for key, value in values.items():
        text = text.replace("{" + key + "}", str(value))
    return text


@dataclass(frozen=True)
class Value:
    """In an expected JSON answer: the value itself of {name} (a number stays a number)."""

    name: str


def put_all(value: Any, values: dict[str, Any]) -> Any:
    """`put` in every string of a JSON value, and each `Value` replaced by its value."""
    if isinstance(value, Value):
        return values[value.name]
    if isinstance(value, str):
        return put(value, values)
    if isinstance(value, list):
        return [put_all(item, values) for item in value]
    if isinstance(value, dict):
        return {key: put_all(item, values) for key, item in value.items()}
    return value


def form(**fields: str) -> dict[str, str]:
    """A form body's Content-Type header."""
    return {"Content-Type": "application/x-www-form-urlencoded", **fields}


def contains(found: Any, expected: Any) -> bool:
    """Tell whether JSON `found` has `expected` in it: objects by the keys expected (others may
    be there), lists item by item (as many), anything else equal."""
    if isinstance(expected, dict):
        return isinstance(found, dict) and all(
            key in found and contains(found[key], value) for key, value in expected.items()
        )
    if isinstance(expected, list):
        return (
            isinstance(found, list)
            and len(found) == len(expected)
            and all(contains(f, e) for f, e in zip(found, expected, strict=True))
        )
    return bool(found == expected)


@dataclass(frozen=True)
class Answer:
    """What the gateway must get back: a status, and the exact body, a regular expression
    (`pattern`), a JSON object whose top-level keys are as given (`json`) or a JSON value the
    answer contains (`json_has`, see `contains`)."""

    status: int = 200
    body: bytes | None = None
    pattern: str | None = None
    json: dict[str, Any] | None = None
    json_has: dict[str, Any] | None = None

    def fill(self, **values: Any) -> Answer:
        """The answer with {id1}, {token1}… replaced in its body, pattern and JSON."""
        return replace(
            self,
            body=None if self.body is None else put(self.body.decode(), values).encode(),
            pattern=None if self.pattern is None else put(self.pattern, values),
            json=put_all(self.json, values),
            json_has=put_all(self.json_has, values),
        )

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
        if self.json_has is not None:
            assert response.mimetype == "application/json", response.mimetype
            found = json.loads(data)
            assert contains(found, self.json_has), (self.json_has, found)


@dataclass(frozen=True)
class InboundRow:
    label: str
    backend: dict[str, Any]
    call: Call
    answer: Answer
    stored: list[tuple[str, str, str | None]]  # (sender, text, gateway id) of each message
    repeat: bool = False
    path: str | None = None  # the URL called instead of the backend's own (a legacy one)


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
    message: dict[str, Any]  # Outbound fields besides id, backend, token, public_url
    sent: Sent
    reply: Reply | None  # None: the engine sends nothing over HTTP (it is asked to send)
    outcome: Outcome
    external_id: str | None = None


MESSAGE_ID = 42
TOKEN = "tok42"
PUBLIC_URL = "http://router.test"


def outbound_message(row: OutboundRow) -> Outbound:
    values = {"recipient": PEER, "text": "hello", **row.message}
    return Outbound(id=MESSAGE_ID, backend=BACKEND, token=TOKEN, public_url=PUBLIC_URL, **values)


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
    endpoint: str = "delivered"  # "receive": a one-URL protocol reports there
    recorded: int = 1  # history entries an accepted call adds (0: it only asks, reports nothing)
    path: str | None = None  # the URL called instead of the backend's own (a legacy one)


@dataclass(frozen=True)
class PollRow:
    """A pull gateway's poll while `queued` texts wait for PEER on the backend, oldest first."""

    label: str
    backend: dict[str, Any]
    queued: list[str]
    call: Call
    answer: Answer  # the poll's answer, handing them out
    after: str = "Q"  # their status after the poll (S: the hand-out is the send)
    again: Answer | None = None  # the same poll at once (None: not made)
    expired: Answer | None = None  # the same poll once the lease has run out (None: not made)
    path: str | None = None  # the URL polled instead of the backend's own (a legacy one)
