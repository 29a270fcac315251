"""capcom6's SMS Gateway for Android: its API (`POST {url}/messages`) and its signed webhooks
(gateways.md §5; the official Python client, `android-sms-gateway` 4.3, is the wire oracle).

- Sending: `POST {url}/messages`, JSON, Basic auth with the login and password the app shows
  (or `Authorization: Bearer <token>` for a token). The body is the client's `Message.asdict()`:
  `phoneNumbers` (a list: one request may carry many recipients), `textMessage: {"text"}`,
  `withDeliveryReport`, `isEncrypted`, `id` (ours: the gateway keeps it as the message's id and
  names it in every webhook), then `priority` (0 unless the message has one). The answer (202)
  is the message state: `id`, `state`, and `recipients: [{"phoneNumber", "state", "error"}]`,
  one state per recipient; a recipient `Failed` is retried on its own, the others are sent.
- Webhooks (registered on the app with `POST {url}/webhooks`, `{"url", "event"}`) all come to
  the backend's receive URL as JSON `{"deviceId", "event", "id", "payload", "webhookId"}`:
  `sms:received` (payload `messageId`, `message`, `phoneNumber`, `simNumber`, `receivedAt`) is an
  inbound message, kept by its `messageId` (the app retries a webhook until it gets a 2xx);
  `sms:sent` → S, `sms:delivered` → D, `sms:failed` → F (payload `messageId`, `phoneNumber`,
  `reason`), matched by the id we gave and the recipient. Other events are acknowledged and
  ignored. `X-Signature` is the hex HMAC-SHA256, with the webhook signing key, of the raw body
  followed by the `X-Timestamp` header (Unix seconds); one more than `SIGNATURE_WINDOW` seconds
  away from our clock is refused, so a captured webhook cannot be replayed later.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from typing import Any

from .. import clock
from ..domain.statuses import DELIVERED, FAILED, SENT
from ..errors import AuthError, ConfigError, HttpRouterError, ValidationError
from ..store.reports import Report
from .base import (
    RECEIVE,
    Answer,
    Call,
    Exchange,
    GatewayEngine,
    Handled,
    Inbound,
    Outbound,
    Outcome,
    PreparedRequest,
    SendResult,
    classify,
)

SIGNATURE_HEADER = "X-Signature"
TIMESTAMP_HEADER = "X-Timestamp"
SIGNATURE_WINDOW = 300  # seconds a webhook's X-Timestamp may be from our clock, either way
PRIORITY_BYPASS = 100  # the app's MessagePriority.BYPASS_THRESHOLD: skips its send limits
REPORT_EVENTS = {"sms:sent": SENT, "sms:delivered": DELIVERED, "sms:failed": FAILED}
RECEIVED = "sms:received"
FAILED_STATE = "Failed"  # a recipient's ProcessState the phone could not send to
MAX_RECIPIENTS = 50


class AndroidSmsGatewayEngine(GatewayEngine):
    """Push through an SMS Gateway for Android phone (or its cloud); take its webhooks.

    Options: `url` (the API base: the app's "Local server" address `http://<phone>:8080`, or
    `https://api.sms-gate.app/3rdparty/v1`), `gateway_user` and `gateway_password` (the login
    and password the app shows) or `token`, `signing_key` (the webhooks' signing key; default:
    the backend's password, else ROUTER_PASSWORD), `with_delivery_report` (true),
    `sim_number` (1-3; the phone's default SIM when not set), `skip_phone_validation` (false),
    `max_recipients` (recipients per request, 50). ::

        BACKENDS = {"phone": {"ENGINE": "android-sms-gateway", "url": "http://10.0.0.7:8080",
                              "gateway_user": "sms", "gateway_password": "app-pw",
                              "signing_key": "hook-key"}}

    Register `https://router.example.org/router/backends/phone/receive` for the events
    `sms:received`, `sms:sent`, `sms:delivered` and `sms:failed`.
    """

    def configure(
        self,
        url: str,
        gateway_user: str | None = None,
        gateway_password: str | None = None,
        token: str | None = None,
        signing_key: str | None = None,
        with_delivery_report: bool = True,
        sim_number: int | None = None,
        skip_phone_validation: bool = False,
        max_recipients: int = MAX_RECIPIENTS,
    ) -> None:
        """Take the API base URL, the app's credentials and the webhooks' signing key."""
        where = f"BACKENDS[{self.name!r}]"
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ConfigError(f"{where}: url must be the app's http(s) API base", field="BACKENDS")
        for option, value in (
            ("gateway_user", gateway_user),
            ("gateway_password", gateway_password),
            ("token", token),
            ("signing_key", signing_key),
        ):
            if value is not None and (not isinstance(value, str) or not value):
                raise ConfigError(f"{where}: {option} must be a non-empty string", field="BACKENDS")
        if gateway_user and gateway_password:
            credentials = f"{gateway_user}:{gateway_password}".encode()
            basic = base64.b64encode(credentials).decode("ascii")
            self.authorization = f"Basic {basic}"
            self.secrets = (gateway_password, basic)
        elif token and not gateway_user:
            self.authorization = f"Bearer {token}"
            self.secrets = (token,)
        else:
            raise ConfigError(
                f"{where}: give gateway_user and gateway_password (the app's login), or token",
                field="BACKENDS",
            )
        if sim_number is not None and (isinstance(sim_number, bool) or sim_number not in (1, 2, 3)):
            raise ConfigError(f"{where}: sim_number must be 1, 2 or 3", field="BACKENDS")
        if (
            isinstance(max_recipients, bool)
            or not isinstance(max_recipients, int)
            or max_recipients < 1
        ):
            raise ConfigError(f"{where}: max_recipients must be at least 1", field="BACKENDS")
        self.url = url.rstrip("/")
        self.signing_key = signing_key
        self.with_delivery_report = bool(with_delivery_report)
        self.sim_number = sim_number
        self.skip_phone_validation = bool(skip_phone_validation)
        self.max_recipients = max_recipients
        if signing_key:
            self.secrets = (*self.secrets, signing_key)

    # -- outbound -----------------------------------------------------------------------------

    def payload(self, messages: Sequence[Outbound]) -> dict[str, Any]:
        """The client's `Message(...).asdict()` for one text to `messages`' recipients, with the
        first message's id as the gateway's id for them all."""
        first = messages[0]
        body: dict[str, Any] = {
            "phoneNumbers": [m.recipient for m in messages],
            "textMessage": {"text": first.text},
        }
        if first.priority > 0:
            body["priority"] = PRIORITY_BYPASS
        if self.sim_number is not None:
            body["simNumber"] = self.sim_number
        body["withDeliveryReport"] = self.with_delivery_report
        body["isEncrypted"] = False
        body["id"] = str(min(m.id for m in messages))
        body.setdefault("priority", 0)  # the client always sends it: 0 when unset, last
        return body

    def prepare_request(self, message: Outbound) -> PreparedRequest:
        """`POST {url}/messages` for one message."""
        return self.prepare_batch([message])

    def prepare_batch(self, messages: Sequence[Outbound]) -> PreparedRequest:
        """`POST {url}/messages` with every recipient in `phoneNumbers`, JSON as `requests`
        writes the client's (ASCII-escaped)."""
        url = f"{self.url}/messages"
        if self.skip_phone_validation:
            url += "?skipPhoneValidation=true"
        body = json.dumps(self.payload(messages), allow_nan=False).encode("ascii")
        headers = {"Authorization": self.authorization, "Content-Type": "application/json"}
        return PreparedRequest("POST", url, headers, body)

    def interpret(self, response: Any) -> SendResult:
        """The answer for a single recipient: sent unless its state is Failed."""
        return _results(self, response, 1)[0]

    def interpret_batch(self, response: Any, messages: Sequence[Outbound]) -> list[SendResult]:
        """One result per recipient, from the answer's `recipients` states."""
        return _results(self, response, len(messages), [m.recipient for m in messages])

    # -- webhooks -----------------------------------------------------------------------------

    def authenticate(self, call: Call, secrets: list[str]) -> None:
        """Check X-Signature over the body and X-Timestamp, and that the timestamp is fresh."""
        keys = [self.signing_key] if self.signing_key else secrets
        if not keys:
            return
        supplied = call.header(SIGNATURE_HEADER).strip().lower()
        stamp = call.header(TIMESTAMP_HEADER).strip()
        if not supplied or not stamp:
            raise AuthError(
                f"{SIGNATURE_HEADER} and {TIMESTAMP_HEADER} required",
                field=SIGNATURE_HEADER,
                status_code=401,
            )
        message = call.body + stamp.encode("utf-8", "replace")
        given = supplied.encode("utf-8", "replace")
        ok = False
        for key in keys:
            expected = hmac.new(key.encode("utf-8"), message, hashlib.sha256).hexdigest()
            ok |= hmac.compare_digest(given, expected.encode("ascii"))
        if not ok:
            raise AuthError(f"wrong {SIGNATURE_HEADER}", field=SIGNATURE_HEADER, status_code=403)
        if not stamp.isdigit() or len(stamp) > 12:
            raise AuthError(f"{TIMESTAMP_HEADER} must be Unix seconds", field=TIMESTAMP_HEADER)
        if abs(clock.now().timestamp() - int(stamp)) > SIGNATURE_WINDOW:
            raise AuthError(
                f"{TIMESTAMP_HEADER} is more than {SIGNATURE_WINDOW} s from our clock",
                field=TIMESTAMP_HEADER,
                status_code=403,
            )

    def read_call(self, call: Call, endpoint: str) -> Exchange:
        """Read one webhook: an inbound message, a report, or an event we do not use."""
        if endpoint != RECEIVE:
            return super().read_call(call, endpoint)
        if call.method != "POST" or not isinstance(call.json, dict):
            raise ValidationError("a webhook is a POST of a JSON object", field="body")
        event = call.json.get("event")
        payload = call.json.get("payload")
        if not isinstance(event, str) or not event:
            raise ValidationError("event is required", field="event")
        if event != RECEIVED and event not in REPORT_EVENTS:
            return Exchange(state=event)  # acknowledged, so the app stops retrying it
        if not isinstance(payload, dict):
            raise ValidationError("payload must be an object", field="payload")
        message_id = _text(payload, "messageId")
        phone = _text(payload, "phoneNumber") or _text(payload, "sender", required=False)
        if event == RECEIVED:
            text = payload.get("message")
            if not isinstance(text, str):
                raise ValidationError("payload.message must be text", field="message")
            fields = {"to": r} if (r := _text(payload, "recipient", required=False)) else {}
            sim = payload.get("simNumber")
            if isinstance(sim, int) and not isinstance(sim, bool):
                fields["sim_number"] = str(sim)
            inbound = Inbound(sender=phone, text=text, external_id=message_id, fields=fields)
            return Exchange(inbound=[inbound], state=event)
        kept = {k: v for k, v in payload.items() if isinstance(v, str | int | float)}
        kept["event"] = event
        report = Report(
            None,
            REPORT_EVENTS[event],
            kept,
            external_id=message_id,
            raw_status=payload.get("reason") or event,
            recipient=phone,
        )
        return Exchange(reports=[report], state=event)

    def answer_call(self, call: Call, endpoint: str, handled: Handled) -> Answer:
        """200 once the webhook's message or report is committed; an unknown message is a 404,
        which the app retries (its report may have come before our send was recorded)."""
        if endpoint != RECEIVE:
            return super().answer_call(call, endpoint, handled)
        event = handled.exchange.state
        if handled.received:
            result = handled.received[-1]
            return Answer.json({"status": "ok", "event": event, "id": result.message.id})
        if handled.reported:
            outcome = handled.reported[0]
            if isinstance(outcome, HttpRouterError):
                raise outcome
            return Answer.json({"status": "ok", "event": event, "result": outcome.to_json()})
        return Answer.json({"status": "ignored", "event": event})


def _text(payload: Mapping[str, Any], name: str, *, required: bool = True) -> str:
    value = payload.get(name)
    if isinstance(value, str) and value.strip():
        return value.strip()[:255]
    if required:
        raise ValidationError(f"payload.{name} is required", field=name)
    return ""


def _digits(number: str) -> str:
    return "".join(c for c in number if c.isdigit())


def _results(
    engine: GatewayEngine, response: Any, count: int, recipients: Sequence[str] = ()
) -> list[SendResult]:
    """Each recipient's result from the message state the gateway answered."""
    result = classify(response, permanent_statuses=engine.permanent_statuses)
    if result.outcome is not Outcome.SENT:
        return [result] * count
    try:
        state = response.json()
    except ValueError:
        state = None
    gateway_id = state.get("id") if isinstance(state, dict) else None
    if not isinstance(gateway_id, str) or not gateway_id:
        error = "the gateway answered 2xx without a message state"
        return [SendResult(Outcome.RETRY, result.status_code, result.body, error=error)] * count
    listed = state.get("recipients")
    listed = [r for r in listed if isinstance(r, dict)] if isinstance(listed, list) else []
    by_number = {_digits(str(r.get("phoneNumber", ""))): r for r in listed}
    results = []
    for n in range(count):
        found = by_number.get(_digits(recipients[n])) if n < len(recipients) else None
        if found is None and len(listed) == count:
            found = listed[n]  # hashed or reformatted numbers: the answer keeps our order
        if found is not None and found.get("state") == FAILED_STATE:
            error = str(found.get("error") or "the phone could not send it")[:500]
            results.append(SendResult(Outcome.RETRY, result.status_code, result.body, error=error))
        else:
            results.append(
                SendResult(Outcome.SENT, result.status_code, result.body, external_id=gateway_id)
            )
    return results


# The short names of this module's engines, for BACKENDS' ENGINE.
ENGINES = {"android-sms-gateway": AndroidSmsGatewayEngine}
