"""Ushahidi SMSSync: one "sync URL" per phone takes every call (gateways.md §3, and the app's
source where it and its web page differ: the app wins).

The sync URL is `/router/backends/<name>/receive`, with no `?` in it: the app appends its own
`?task=…`.
- An inbound SMS: POST (or PUT, the app's "HTTP Method") of `from`, `message`, `message_id` (the
  phone's uuid for it), `sent_to`, `secret`, `device_id`, `sent_timestamp`, as a form or as JSON
  (the app's "Data Format"; XML is refused). Success is 200 with
  `{"payload": {"success": true, "error": null, …}}`; anything else is retried. The app reads
  `payload.messages` of that answer without checking it is there, so it always is.
- `GET ?task=send&secret=…`: the poll. The answer's payload must carry `"task": "send"` and the
  phone's own secret, or the phone ignores it; `messages` are `{"to", "message", "uuid"}`.
- `POST ?task=sent` with JSON `{"queued_messages": [uuid, …]}`, sent by a phone with the
  "Message Results API" on before it sends them; it sends only the uuids the answer
  `{"message_uuids": [...]}` lists. This call carries no secret: the uuids we hand out carry the
  message's signed token, which is what authorises it.
- `GET ?task=result&secret=…`: which uuids the phone should report on (`{"message_uuids"}`); it
  reports only those, in `POST ?task=result&secret=…` with JSON `{"message_result": "<text>"}`,
  the list of results written as a JSON *string*. `delivered_result_code` is Android's result
  code: −1 (RESULT_OK) delivered, 0 not delivered — the reverse of the web page's sample; a
  `sent_result_code` above 0 is a send failure.

Without the Message Results API a phone never confirms what it is given, so by default the
messages an answer hands out are sent at once; with `message_results = True` they are leased,
`task=sent` makes them sent, and a lease that runs out hands them out again. Either way the
phone sends the messages in the answer to an inbound SMS without confirming them, so with the
Results API on that answer carries none (they wait for the next poll).
"""

from __future__ import annotations

import json
from typing import Any

from ..auth import matches
from ..domain.params import int_param, text_param
from ..domain.statuses import DELIVERED, FAILED, SENT
from ..errors import AuthError, ConfigError, HttpRouterError, ValidationError
from ..store.reports import Report, ReportOutcome
from . import legacy
from .base import (
    RECEIVE,
    Answer,
    Call,
    Exchange,
    GatewayEngine,
    Handled,
    Inbound,
    Outbound,
    parse_id,
)

RESULT_OK = -1  # Android's Activity.RESULT_OK: sent, or delivered
RESULT_CANCELED = 0  # Android's Activity.RESULT_CANCELED; also Java's 0 for "no result yet"
KEPT_FIELDS = {"sent_to": "to", "device_id": "device_id", "sent_timestamp": "sent_timestamp"}
XML_TYPES = ("text/xml", "application/xml")


class SmsSyncEngine(GatewayEngine):
    """An SMSSync phone: its inbound messages, its polls, its confirmations and its results.

    Options: `secret` (the sync URL's "Secret Key" in the app; default: the backend's password,
    else ROUTER_PASSWORD), `message_results` (True when the app's "Message Results API" is on:
    hand-outs are leased until `task=sent`), `batch_size` (messages per answer, 20). ::

        BACKENDS = {"clinic": {"ENGINE": "smssync", "secret": "s3cret"}}

    The app's sync URL: `https://router.example.org/router/backends/clinic/receive`.
    """

    push = False

    def configure(
        self, secret: str | None = None, message_results: bool = False, batch_size: int = 20
    ) -> None:
        """Take the phone's secret, its Message Results API setting and the batch size."""
        where = f"BACKENDS[{self.name!r}]"
        if secret is not None and (not isinstance(secret, str) or not secret):
            raise ConfigError(f"{where}: secret must be a non-empty string", field="BACKENDS")
        if not isinstance(message_results, bool):
            raise ConfigError(f"{where}: message_results must be true or false", field="BACKENDS")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ConfigError(f"{where}: batch_size must be at least 1", field="BACKENDS")
        self.secret = secret
        self.message_results = message_results
        self.batch_size = batch_size

    # -- reading ------------------------------------------------------------------------------

    def authenticate(self, call: Call, secrets: list[str]) -> None:
        """Check `secret` (query or body) against the backend's; `task=sent` carries none."""
        if _task(call) == "sent":
            return  # its uuids carry the messages' signed tokens (checked when applied)
        expected = [self.secret] if self.secret else secrets
        if not expected:
            return
        supplied = call.params.get("secret")
        if not isinstance(supplied, str) or not supplied:
            raise AuthError("secret required", field="secret", status_code=401)
        if not matches(supplied, expected):
            raise AuthError("wrong secret", field="secret", status_code=403)

    def read_call(self, call: Call, endpoint: str) -> Exchange:
        """Read the sync URL's call by its `task`: none (an inbound SMS), send, sent or result."""
        if endpoint != RECEIVE:
            return super().read_call(call, endpoint)
        task = _task(call)
        if task == "send":
            return Exchange(
                hand_out=self.batch_size, sent_on_hand_out=not self.message_results, state=task
            )
        if task == "sent":
            return Exchange(reports=_confirmations(call), state=task)
        if task == "result":
            if call.method == "GET":
                return Exchange(list_sent=1000, state="results wanted")
            return Exchange(reports=_results(call), state=task)
        if task:
            raise ValidationError(f"task {task[:20]!r} is not send, sent or result", field="task")
        if call.method == "GET":
            raise ValidationError(
                "a GET of the sync URL needs task=send or task=result", field="task"
            )
        inbound = _inbound(call)
        return Exchange(
            inbound=[inbound],
            hand_out=0 if self.message_results else self.batch_size,
            sent_on_hand_out=True,
            state="incoming",
        )

    # -- answering ----------------------------------------------------------------------------

    def answer_call(self, call: Call, endpoint: str, handled: Handled) -> Answer:
        """The payload SMSSync reads for each task."""
        state = handled.exchange.state
        if state == "sent":
            accepted = [
                uuid(report.message_id, report.token)
                for report, outcome in zip(handled.exchange.reports, handled.reported, strict=True)
                if isinstance(outcome, ReportOutcome) and outcome.new == SENT
            ]
            return Answer.json({"message_uuids": accepted})
        if state == "results wanted":
            return Answer.json({"message_uuids": [_uuid(m) for m in handled.sent]})
        payload: dict[str, Any] = {"success": True, "error": None}
        if state in ("send", "incoming"):
            secret = call.params.get("secret")
            payload.update(
                task="send",
                secret=secret if isinstance(secret, str) else None,
                messages=[
                    {"to": m.recipient, "message": m.text, "uuid": _uuid(m)}
                    for m in handled.handed_out
                ],
            )
        return Answer.json({"payload": payload})

    def answer_error(self, call: Call | None, error: HttpRouterError) -> Answer | None:
        """SMSSync's failure: `success: false` with the error (the phone tries again later)."""
        return Answer.json(
            {"payload": {"success": False, "error": error.message}}, error.status_code
        )


def uuid(message_id: int | None, token: str | None) -> str:
    """The uuid SMSSync is given for a message: our id and the message's signed token."""
    return f"{message_id}-{token}"


def _uuid(message: Outbound) -> str:
    return uuid(message.id, message.token)


def _task(call: Call) -> str:
    value = call.args.get("task")
    return value.strip().lower() if isinstance(value, str) else ""


def _inbound(call: Call) -> Inbound:
    if call.content_type in XML_TYPES:
        raise ValidationError(
            "XML is not read: choose URLEncoded or JSON as the sync URL's data format",
            field="body",
        )
    params = call.params
    sender = text_param(params, "from", required=True) or ""
    text = legacy.message_text(call, "message", None, None)
    fields = {
        ours: value
        for theirs, ours in KEPT_FIELDS.items()
        if (value := text_param(params, theirs)) not in (None, "")
    }
    external_id = text_param(params, "message_id") or None
    return Inbound(sender=sender, text=text, external_id=external_id, fields=fields)


def _ours(value: Any) -> tuple[int, str] | None:
    """Our message id and token from a uuid we gave (None: not one of ours)."""
    if not isinstance(value, str):
        return None
    number, _, token = value.strip().partition("-")
    message_id = parse_id(number)
    if message_id is None or not token:
        return None
    return message_id, token


def _body(call: Call) -> dict[str, Any]:
    body = call.json if call.json is not None else dict(call.params)
    if not isinstance(body, dict):
        raise ValidationError("the body must be a JSON object", field="body")
    return body


def _confirmations(call: Call) -> list[Report]:
    """`task=sent`: the uuids the phone is about to send; each one of ours becomes sent."""
    uuids = _body(call).get("queued_messages")
    if not isinstance(uuids, list):
        raise ValidationError("queued_messages must be a list of uuids", field="queued_messages")
    reports = []
    for value in uuids:
        found = _ours(value)
        if found is not None:
            params = {"task": "sent", "uuid": found[0]}
            reports.append(Report(found[0], SENT, params, raw_status="sent", token=found[1]))
    return reports


def _results(call: Call) -> list[Report]:
    """`POST task=result`: `message_result`, a JSON text of per-uuid results."""
    raw = _body(call).get("message_result")
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise ValidationError("message_result is not JSON", field="message_result") from None
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        raise ValidationError("message_result must be a list of results", field="message_result")
    reports = []
    for item in raw:
        found = _ours(item.get("uuid"))
        if found is None:
            continue
        status, code = _result_status(item)
        params = {k: v for k, v in item.items() if k != "uuid" and isinstance(v, str | int)}
        params["task"] = "result"
        reports.append(Report(found[0], status, params, raw_status=code, token=found[1]))
    return reports


def _result_status(item: dict[str, Any]) -> tuple[str | None, Any]:
    """The status one result reports, and the code it came as; an unreadable one is refused.

    −1 delivered; a send failure (`sent_result_code` above 0) or a 0 with a delivery result
    (its message or timestamp) failed; a 0 with neither is Java's default before any delivery
    report arrived: recorded, no change.
    """
    sent = _code(item, "sent_result_code")
    delivered = _code(item, "delivered_result_code")
    if delivered == RESULT_OK:
        return DELIVERED, delivered
    if sent is not None and sent > 0:
        return FAILED, sent
    if delivered == RESULT_CANCELED and (
        item.get("delivered_result_message") or item.get("delivered_timestamp")
    ):
        return FAILED, delivered
    if delivered in (None, RESULT_CANCELED):
        return None, delivered
    raise ValidationError(
        f"delivered_result_code {delivered} is not -1 or 0", field="delivered_result_code"
    )


def _code(item: dict[str, Any], name: str) -> int | None:
    return int_param(item, name, maximum=None)


# The short names of this module's engines, for BACKENDS' ENGINE.
ENGINES = {"smssync": SmsSyncEngine}
