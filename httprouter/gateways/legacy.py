"""The legacy rapidsms-httprouter contract, read the same way for every gateway that speaks it.

`/router/receive` takes `sender`, `message`, `id`, `to`, `coding`, `charset` (Kannel's get-url
names them so, and so do the old relayers); `/router/delivered` takes `message_id` and a
`status` that is a Kannel DLR type or a word. The legacy endpoints, the `kannel` engine and the
`http` engine (with its own parameter names) all read inbound calls with `read_inbound`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..domain.encodings import decode_message, needs_raw_decoding, raw_form_value
from ..domain.params import required_text, text_param
from ..domain.statuses import DELIVERED, FAILED, SENT
from ..errors import ValidationError
from .base import Call, Inbound

# The legacy contract's report statuses are Kannel's DLR types (the dlr-mask bits, the value of
# Kannel's %d; Kannel user guide, "Delivery reports").
DLR_DELIVERED = 1  # delivered to the phone
DLR_UNDELIVERED = 2  # not delivered to the phone
DLR_BUFFERED = 4  # queued on the SMSC
DLR_SMSC_ACCEPTED = 8  # the SMSC acknowledged the submit
DLR_SMSC_REJECTED = 16  # the SMSC refused it
DLR_INTERMEDIATE = 32  # an SMSC intermediate notification: recorded, changes nothing

# DLR type → the status it reports (None: recorded only).
DLR_STATUS: dict[int, str | None] = {
    DLR_DELIVERED: DELIVERED,
    DLR_UNDELIVERED: FAILED,
    DLR_BUFFERED: SENT,
    DLR_SMSC_ACCEPTED: SENT,
    DLR_SMSC_REJECTED: FAILED,
    DLR_INTERMEDIATE: None,
}

# Words a poller may send instead of a DLR number.
WORD_STATUS: dict[str, str] = {"sent": SENT, "delivered": DELIVERED, "failed": FAILED}

# Without a status, a legacy report means "delivered" (/router/delivered only).
LEGACY_STATUS = DELIVERED

# Our names for what an inbound call carries; the `http` engine maps a gateway's names onto them.
INBOUND_NAMES = ("sender", "message", "id", "to", "coding", "charset")
KEPT_FIELDS = ("to", "coding", "charset")  # stored with the message (Kannel's %P, %c, %C)


def parse_status(value: Any) -> str | None:
    """The status letter a legacy `status` asks for (None: record only); missing means delivered.

    Unknown values raise ValidationError. Only the legacy /router/delivered gives a missing status
    this meaning; every engine refuses a report whose status it cannot read (`report_status`).
    """
    if value is None or value == "":
        return LEGACY_STATUS
    return report_status(value)


def report_status(value: Any, field: str = "status") -> str | None:
    """The status letter of a DLR type or word; a missing or unknown one raises ValidationError."""
    if value is None or value == "" or isinstance(value, bool):
        raise ValidationError(f"{field} is required: a DLR type or a word", field=field)
    text = str(value).strip().lower()
    if text in WORD_STATUS:
        return WORD_STATUS[text]
    try:
        number = int(text)
    except ValueError:
        number = -1
    if number not in DLR_STATUS:
        raise ValidationError(
            f"{field} must be one of 1, 2, 4, 8, 16, 32, sent, delivered, failed",
            field=field,
            value=str(value)[:50],
        )
    return DLR_STATUS[number]


def raw_value(call: Call, name: str) -> bytes:
    """The undecoded bytes of parameter `name`, from a form body or the query string."""
    raw = None
    if call.method == "POST" and call.content_type == "application/x-www-form-urlencoded":
        raw = raw_form_value(call.body, name)
    if raw is None:
        raw = raw_form_value(call.query_string, name)
    return raw or b""


def _is_json(call: Call) -> bool:
    return call.content_type == "application/json" or call.content_type.endswith("+json")


def message_text(call: Call, name: str, coding: str | None, charset: str | None) -> str:
    """The message text: decoded from its raw bytes when `coding`/`charset` say so (Kannel's %b)."""
    if needs_raw_decoding(coding, charset) and not _is_json(call):
        return decode_message(raw_value(call, name), coding, charset)
    text = text_param(call.params, name) or ""
    if ("\ufffd" in text or "%" in text) and not _is_json(call):
        # The form decoder replaces (or keeps as "%XX") bytes that are not UTF-8: refuse those
        # rather than store damage.
        decode_message(raw_value(call, name), None, charset)
    return text


def read_inbound(call: Call, names: Mapping[str, str] | None = None) -> Inbound:
    """Read one legacy inbound message; `names` maps our names onto the gateway's own."""
    named = {ours: (names or {}).get(ours, ours) for ours in INBOUND_NAMES}
    params = call.params
    sender = required_text(params, named["sender"])
    coding = text_param(params, named["coding"])
    charset = text_param(params, named["charset"])
    text = message_text(call, named["message"], coding, charset)
    fields = {
        ours: text_param(params, named[ours])
        for ours in KEPT_FIELDS
        if params.get(named[ours]) not in (None, "")
    }
    external_id = text_param(params, named["id"]) or None
    return Inbound(sender=sender, text=text, external_id=external_id, fields=fields)
