"""Jasmin SMS gateway 0.11: its HTTP API (`/send`), its HTTP client connector, its DLR thrower.

Jasmin's manual, "HTTP API" (sending, receiving, delivery receipts), and what 0.11.1 does on the
wire (docs/gateways/jasmin.md):
- `/send` takes `content` in UTF-8 and, with `coding=0`, converts it to GSM 03.38 itself; any
  other text must go as `coding=8` with `hex-content` (UTF-16BE as hex) — UTF-8 `content` with
  `coding=8` reaches the handset garbled. It refuses any parameter it does not know (400).
  Success is `200 Success "<message id>"`; that id names the message in every report.
- The HTTP client connector calls us with `id`, `from`, `to`, `content`, `binary` (the bytes as
  hex) and `coding` as a raw byte (`%00`, `%08`). The bytes are what the SMSC sent: GSM 03.38 one
  septet per byte for coding 0, UTF-16BE for 8. The answer must be exactly `ACK/Jasmin`; anything
  else makes Jasmin call again with the same `id` — so we answer it only after the commit, and
  again for a repeat, whose apps do not run twice.
- Reports come to the dlr-url we gave (its query kept) with `message_status`: level 1 is the
  SMSC's answer (`ESME_ROK`, or another `ESME_R…` code), level 2 the handset's (`DELIVRD`, …).
  They want `ACK/Jasmin` too.
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Sequence
from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

from ..domain.encodings import decode_gsm7, is_gsm7, segment_count
from ..domain.params import required_text, text_param
from ..domain.statuses import DELIVERED, FAILED, SENT
from ..errors import ConfigError, HttpRouterError, ValidationError
from ..store.reports import Report, ReportOutcome
from .base import (
    Answer,
    Call,
    GatewayEngine,
    Inbound,
    Outbound,
    Outcome,
    PreparedRequest,
    SendResult,
    classify,
)

DEFAULT_URL = "http://127.0.0.1:1401/send"
ACK = "ACK/Jasmin"
SUCCESS = re.compile(r'^\s*Success\s+"([^"]+)"')
# 400 a bad or unknown argument, 403 bad credentials, 412 no route: trying again will not help.
PERMANENT = (400, 403, 412)

# data_coding values (SMPP 3.4, 5.2.19) → how the bytes of `binary` are text.
DATA_CODINGS = {0: "gsm7", 1: "ascii", 3: "latin-1", 8: "utf-16-be"}

LEVEL1_OK = "ESME_ROK"
# Level 2 (the handset), the `stat:` of the SMSC's receipt. UNKNOWN changes nothing.
LEVEL2_STATUS: dict[str, str | None] = {
    "DELIVRD": DELIVERED,
    "ACCEPTD": SENT,
    "UNDELIV": FAILED,
    "REJECTD": FAILED,
    "EXPIRED": FAILED,
    "DELETED": FAILED,
    "UNKNOWN": None,
}


class JasminEngine(GatewayEngine):
    """Push through Jasmin's HTTP API; take its connector's calls and its delivery reports.

    Options: `url` (its `/send`), `gateway_user` and `gateway_password` (a Jasmin user),
    `sender` (`from`), `dlr_level` (1 SMSC, 2 handset, 3 both — the default; 0 asks for none),
    `keep_plus` (Jasmin hands `to` to the SMSC verbatim, so a leading `+` is dropped unless this
    is true), `validity_period` (minutes). Permanent answers default to 400, 403 and 412. ::

        BACKENDS = {"jasmin": {"ENGINE": "jasmin", "url": "http://127.0.0.1:1401/send",
                               "gateway_user": "router", "gateway_password": "s3cret"}}

    Jasmin's HTTP client connector posts inbound messages to
    `/router/backends/jasmin/receive?password=<the router's or this backend's password>`.
    """

    def __init__(self, name: str, **options: Any) -> None:
        options.setdefault("permanent_statuses", PERMANENT)
        super().__init__(name, **options)

    def configure(
        self,
        gateway_user: str,
        gateway_password: str,
        url: str = DEFAULT_URL,
        sender: str | None = None,
        dlr_level: int = 3,
        keep_plus: bool = False,
        validity_period: int | None = None,
    ) -> None:
        """Take the API URL, the Jasmin user and the defaults."""
        where = f"BACKENDS[{self.name!r}]"
        for option, value in (
            ("gateway_user", gateway_user),
            ("gateway_password", gateway_password),
        ):
            if not isinstance(value, str) or not value:
                raise ConfigError(f"{where}: {option} must be a non-empty string", field="BACKENDS")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ConfigError(f"{where}: url must be Jasmin's http(s) /send URL", field="BACKENDS")
        if dlr_level not in (0, 1, 2, 3) or isinstance(dlr_level, bool):
            raise ConfigError(f"{where}: dlr_level must be 0, 1, 2 or 3", field="BACKENDS")
        if validity_period is not None and (
            not isinstance(validity_period, int) or validity_period < 1
        ):
            raise ConfigError(f"{where}: validity_period must be minutes", field="BACKENDS")
        self.url = url
        self.gateway_user = gateway_user
        self.gateway_password = gateway_password
        self.sender = sender
        self.dlr_level = dlr_level
        self.keep_plus = bool(keep_plus)
        self.validity_period = validity_period
        self.secrets = (gateway_password,)

    # -- outbound -----------------------------------------------------------------------------

    def parameters(self, message: Outbound) -> list[tuple[str, str]]:
        """The `/send` form for `message`, in order (credentials first)."""
        to = message.recipient if self.keep_plus else message.recipient.removeprefix("+")
        form = [("username", self.gateway_user), ("password", self.gateway_password), ("to", to)]
        sender = message.sender or self.sender
        if sender:
            form.append(("from", sender))
        if is_gsm7(message.text):
            form += [("coding", "0"), ("content", message.text)]
        else:
            form += [("coding", "8"), ("hex-content", message.text.encode("utf-16-be").hex())]
        if message.priority > 0:
            form.append(("priority", str(min(message.priority, 3))))
        if self.validity_period is not None:
            form.append(("validity-period", str(self.validity_period)))
        if self.dlr_level:
            form += [
                ("dlr", "yes"),
                ("dlr-url", self.report_url(message)),
                ("dlr-level", str(self.dlr_level)),
                ("dlr-method", "POST"),
            ]
        return form

    def prepare_request(self, message: Outbound) -> PreparedRequest:
        """A form POST to `/send` (the password stays out of the URL)."""
        body = urlencode(self.parameters(message)).encode("ascii")
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        return PreparedRequest(
            "POST", self.url, headers, body, segments=segment_count(message.text)[1]
        )

    def interpret(self, response: Any) -> SendResult:
        """`Success "<id>"` is sent, with that id; a 2xx without it is retried."""
        result = classify(response, permanent_statuses=self.permanent_statuses)
        if result.outcome is not Outcome.SENT:
            return result
        match = SUCCESS.match(response.text)
        if match is None:
            error = 'Jasmin answered 2xx without Success "<id>"'
            return SendResult(Outcome.RETRY, result.status_code, result.body, error=error)
        return replace(result, external_id=match.group(1)[:255])

    # -- inbound ------------------------------------------------------------------------------

    def read_inbound(self, call: Call) -> list[Inbound]:
        """Read one message of the HTTP client connector, decoding its bytes by `coding`."""
        params = call.params
        sender = required_text(params, "from")
        coding = _coding(params.get("coding"))
        raw = _binary(params.get("binary"))
        if raw is None:
            content = params.get("content")
            raw = content.encode("latin-1", "replace") if isinstance(content, str) else b""
        text = _decode(raw, coding)
        fields: dict[str, Any] = {"coding": str(coding)}
        to = text_param(params, "to")
        if to:
            fields["to"] = to
        connector = text_param(params, "origin-connector")
        if connector:
            fields["connector"] = connector
        external_id = text_param(params, "id") or None
        return [Inbound(sender=sender, text=text, external_id=external_id, fields=fields)]

    def answer_inbound(self, call: Call, results: Sequence[Any]) -> Answer:
        """Exactly `ACK/Jasmin`, once the message is committed (a repeat gets it again)."""
        return Answer.text(ACK)

    def answer_error(self, call: Call | None, error: HttpRouterError) -> Answer | None:
        """Anything but ACK makes Jasmin call again: right for an outage, harmless otherwise."""
        return Answer.text(f'Error "{error.message}"', error.status_code)

    # -- reports ------------------------------------------------------------------------------

    def read_reports(self, call: Call) -> list[Report]:
        """Read a level 1 or level 2 receipt from `message_status`; refuse one it cannot read."""
        params = call.params
        raw = params.get("message_status")
        if not isinstance(raw, str) or not raw.strip():
            raise ValidationError("message_status is required", field="message_status")
        value = raw.strip().upper()
        level = str(params.get("level") or ("1" if value.startswith("ESME_") else "2")).strip()
        status: str | None
        if level == "1" and value.startswith("ESME_R"):
            status = SENT if value == LEVEL1_OK else FAILED
        elif level == "2" and value in LEVEL2_STATUS:
            status = LEVEL2_STATUS[value]
        else:
            raise ValidationError(
                f"message_status {raw[:40]!r} is not a level {level} status",
                field="message_status",
            )
        external_id = text_param(params, "id") or None
        return [Report(self.our_id(call), status, dict(params), external_id, raw_status=value)]

    def answer_reports(
        self, call: Call, outcomes: Sequence[ReportOutcome | HttpRouterError]
    ) -> Answer:
        """`ACK/Jasmin` once recorded (a report on an unknown id is not worth a retry)."""
        return Answer.text(ACK)


def _coding(value: Any) -> int:
    """The data coding Jasmin sent as a raw byte (`%08`), or as digits from other clients."""
    if isinstance(value, str) and len(value) == 1 and not value.isdigit():
        return ord(value)
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) <= 3:
        return int(value.strip())
    if value in (None, ""):
        return 0
    raise ValidationError("coding must be a data coding byte", field="coding")


def _binary(value: Any) -> bytes | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return binascii.unhexlify(value.strip())
    except (binascii.Error, ValueError):
        raise ValidationError("binary must be hexadecimal", field="binary") from None


def _decode(raw: bytes, coding: int) -> str:
    codec = DATA_CODINGS.get(coding, "latin-1")  # 8-bit data and the rest: byte for byte
    if codec == "gsm7":
        return decode_gsm7(raw)
    try:
        return raw.decode(codec)
    except UnicodeDecodeError:
        raise ValidationError(
            f"binary is not valid {codec} text (coding {coding})", field="binary"
        ) from None


# The short names of this module's engines, for BACKENDS' ENGINE.
ENGINES = {"jasmin": JasminEngine}
