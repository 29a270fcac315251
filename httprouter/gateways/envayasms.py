"""EnvayaSMS 3: one server URL takes every `action` (gateways.md §4; the app's source, version 3,
where it and its web page differ: the app wins).

Every call is a POST (a form; an MMS comes as multipart) with `action` = `incoming`, `outgoing`,
`send_status`, `device_status` or `test` (3.0 also sends `forward_sent` and `amqp_started`),
plus `version`, `phone_number`, `phone_id`, `phone_token`, `send_limit`, `now`,
`settings_version`, `battery`, `power`, `network` and `log`.
- `X-Request-Signature` is base64(SHA-1 of the server URL, then every form field but file
  uploads as `name=value`, sorted by name, then the password, joined with commas), in UTF-8.
  Empty fields are signed too. A missing or wrong one is refused with 403 and nothing is stored.
- `incoming` adds `from`, `message`, `message_type` (`sms`, `mms`, `call`), `timestamp` (the
  SMS's own, in ms) and `age`. It carries no id of its own, so a retry is recognised by the
  sender, the timestamp and the text. A call notification stores nothing.
- `send_status` adds `id` (ours, from the `send` event), `status` (`queued`, `failed`,
  `cancelled`, `sent`) and `error`.
- Answers are 200 `application/json` (the app ignores anything else): version 3's
  `{"events": [{"event": "send", "messages": [{"id", "to", "message"}]}]}`. Every action is
  answered with the queued messages, leased as the outbox leases them; the app skips a message id
  it already has, and re-reports one it has sent. A 4xx (`{"error": {"message"}}`) is a failure
  to the app, which retries.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from collections.abc import Sequence
from typing import Any

from ..domain.params import required_text, text_param
from ..domain.statuses import CANCELLED, FAILED, SENT
from ..errors import AuthError, ConfigError, HttpRouterError, ValidationError
from ..store.reports import Report
from . import legacy
from .base import RECEIVE, Answer, Call, Exchange, GatewayEngine, Handled, Inbound, parse_id

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Request-Signature"
ACTIONS = (
    "incoming",
    "outgoing",
    "send_status",
    "device_status",
    "test",
    "forward_sent",
    "amqp_started",
)
# send_status → the status it reports (None: recorded only). `failed` is final here, though the
# app retries a failed send itself (4 more times, the last a day later): a later `sent` is
# recorded and changes nothing, as status only moves forward.
SEND_STATUS: dict[str, str | None] = {
    "sent": SENT,
    "failed": FAILED,
    "cancelled": CANCELLED,
    "queued": None,
}
KEPT_FIELDS = {"phone_number": "to", "message_type": "message_type", "timestamp": "timestamp"}


def signature(url: str, form: Sequence[tuple[str, str]], password: str) -> str:
    """EnvayaSMS's X-Request-Signature of a post to `url` with these form fields."""
    pairs = sorted(form, key=lambda pair: pair[0])  # stable, as Java's Collections.sort
    text = ",".join([url, *(f"{name}={value}" for name, value in pairs), password])
    digest = hashlib.sha1(text.encode("utf-8"), usedforsecurity=False).digest()
    return base64.b64encode(digest).decode("ascii")


class EnvayaSmsEngine(GatewayEngine):
    """An EnvayaSMS phone: every action on its server URL, answered with its queued messages.

    The password is the backend's `password` option, else ROUTER_PASSWORD (the app's Settings →
    Password). Options: `server_url` (the URL exactly as the phone is configured with, when a
    proxy changes what the router sees; default: the URL as requested), `batch_size` (messages
    per answer, 20). ::

        BACKENDS = {"hotline": {"ENGINE": "envayasms", "password": "envaya-pw"}}

    The app's Server URL: `https://router.example.org/router/backends/hotline/receive`.
    """

    push = False

    def configure(self, server_url: str | None = None, batch_size: int = 20) -> None:
        """Take the URL the phone signs and the batch size."""
        where = f"BACKENDS[{self.name!r}]"
        if server_url is not None and (
            not isinstance(server_url, str) or not server_url.startswith(("http://", "https://"))
        ):
            raise ConfigError(f"{where}: server_url must be an http(s) URL", field="BACKENDS")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ConfigError(f"{where}: batch_size must be at least 1", field="BACKENDS")
        self.server_url = server_url
        self.batch_size = batch_size

    def authenticate(self, call: Call, secrets: list[str]) -> None:
        """Check X-Request-Signature against every password that opens this backend."""
        if not secrets:
            return
        supplied = call.header(SIGNATURE_HEADER).strip()
        if not supplied:
            raise AuthError(f"{SIGNATURE_HEADER} required", field=SIGNATURE_HEADER, status_code=403)
        url = self.server_url or call.url
        given = supplied.encode("utf-8", "replace")
        ok = False
        for password in secrets:
            expected = signature(url, call.form, password).encode("ascii")
            ok |= hmac.compare_digest(given, expected)
        if not ok:
            raise AuthError(f"wrong {SIGNATURE_HEADER}", field=SIGNATURE_HEADER, status_code=403)

    def read_call(self, call: Call, endpoint: str) -> Exchange:
        """Read one action; every one of them is answered with the queued messages."""
        if endpoint != RECEIVE:
            return super().read_call(call, endpoint)
        if call.method != "POST":
            raise ValidationError("EnvayaSMS posts every action", field="action")
        action = text_param(call.params, "action") or ""
        if action not in ACTIONS:
            raise ValidationError(f"action must be one of {', '.join(ACTIONS)}", field="action")
        phone_log = text_param(call.params, "log")
        if phone_log:
            log.info(
                "log of %s's phone: %s", self.name, phone_log[:2000], extra={"backend": self.name}
            )
        inbound: list[Inbound] = []
        reports: list[Report] = []
        if action == "incoming":
            found = _incoming(call)
            inbound = [found] if found is not None else []
        elif action == "send_status":
            reports = [_send_status(call)]
        elif action == "device_status":
            status = text_param(call.params, "status") or ""
            log.info("%s's phone: %s", self.name, status[:100], extra={"backend": self.name})
        return Exchange(inbound=inbound, reports=reports, hand_out=self.batch_size, state=action)

    def answer_call(self, call: Call, endpoint: str, handled: Handled) -> Answer:
        """Version 3's events: one `send` event with the messages handed out, if any."""
        events = []
        if handled.handed_out:
            messages = [
                {"id": str(m.id), "to": m.recipient, "message": m.text} for m in handled.handed_out
            ]
            events.append({"event": "send", "messages": messages})
        return Answer.json({"events": events})

    def answer_error(self, call: Call | None, error: HttpRouterError) -> Answer | None:
        """EnvayaSMS's error form, which the app shows in its log."""
        return Answer.json({"error": {"message": error.message}}, error.status_code)


def _incoming(call: Call) -> Inbound | None:
    params = call.params
    kind = (text_param(params, "message_type") or "sms").lower()
    if kind == "call":
        return None  # a call notification: no message to store
    sender = required_text(params, "from")
    text = legacy.message_text(call, "message", None, None)
    fields = {
        ours: value
        for theirs, ours in KEPT_FIELDS.items()
        if (value := text_param(params, theirs)) not in (None, "")
    }
    timestamp = text_param(params, "timestamp")
    external_id = None
    if timestamp:
        digest = hashlib.sha256(f"{sender}\n{text}".encode()).hexdigest()[:24]
        external_id = f"{timestamp[:40]}-{digest}"
    return Inbound(sender=sender, text=text, external_id=external_id, fields=fields)


def _send_status(call: Call) -> Report:
    params = call.params
    raw = text_param(params, "status") or ""
    if raw not in SEND_STATUS:
        raise ValidationError(
            f"status must be one of {', '.join(SEND_STATUS)}", field="status", value=raw[:40]
        )
    kept: dict[str, Any] = {k: params[k] for k in ("id", "status", "error") if k in params}
    return Report(parse_id(params.get("id")), SEND_STATUS[raw], kept, raw_status=raw)


# The short names of this module's engines, for BACKENDS' ENGINE.
ENGINES = {"envayasms": EnvayaSmsEngine}
