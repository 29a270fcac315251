"""The generic `http` engine: any HTTP API described by configuration, and the legacy ROUTER_URL
templates.

Outbound, templates are Python %-format strings with named fields (`%%` is a literal %). Each
value is escaped for the place it lands: URL-encoded (UTF-8, space as `+`, like the old router)
in the URL, stripped of line breaks in headers, form-encoded or JSON-encoded in a body.
Inbound, `receive_params` names the gateway's fields for ours (as RapidSMS's
`GenericHttpBackendView.params`) and `receive_answer` says what to answer. Reports,
`report_params` names the gateway's fields for our id (or its own id) and the status, and
`report_statuses` maps its status values onto sent, delivered and failed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any
from urllib.parse import quote, quote_plus, urlencode

from ..domain.encodings import is_gsm7, segment_count
from ..domain.statuses import DELIVERED, FAILED, SENT
from ..errors import ConfigError, ValidationError
from ..store.reports import Report
from . import legacy
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
    header_safe,
    legacy_answer,
)

TEMPLATE_FIELDS = (
    "backend",
    "recipient",
    "text",
    "id",
    "sender",
    "dlr_url",
    "coding",
    "charset",
    "priority",
)
BODY_FORMATS = ("form", "json", "text")
_SAMPLE = Outbound(1, "backend", "+1555", "text", "123", 0, token="sample")  # noqa: S106  # nosec B106
REPORT_WORDS = {"sent": SENT, "delivered": DELIVERED, "failed": FAILED, None: None}
RECEIVE_ANSWERS = ("json", "empty")


def template_fields(message: Outbound, dlr_url: str) -> dict[str, str]:
    """The raw (unescaped) value of every template field for `message`."""
    gsm = is_gsm7(message.text)
    return {
        "backend": message.backend,
        "recipient": message.recipient,
        "text": message.text,
        "id": str(message.id),
        "sender": message.sender,
        "dlr_url": dlr_url,
        "coding": "0" if gsm else "2",
        "charset": "UTF-8",
        "priority": str(message.priority),
    }


def url_escape(value: str) -> str:
    """Escape a value for a URL the way the legacy router did: UTF-8, then quote_plus."""
    return quote_plus(value.encode("utf-8"))


def header_escape(value: str) -> str:
    """Make a value safe for an HTTP header: no control characters; non-Latin-1 text
    percent-encoded."""
    value = header_safe(value)
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        return quote(value, safe=" !#$&'()*+,/:;=?@[]~")
    return value


def fill(template: str, fields: dict[str, str], escape: Callable[[str], str] | None = None) -> str:
    """Fill a %-template with the fields, each escaped by `escape`."""
    values = fields if escape is None else {k: escape(v) for k, v in fields.items()}
    return template % values


def _fill_json(template: Any, fields: dict[str, str]) -> Any:
    if isinstance(template, str):
        return fill(template, fields)
    if isinstance(template, dict):
        return {k: _fill_json(v, fields) for k, v in template.items()}
    if isinstance(template, list):
        return [_fill_json(v, fields) for v in template]
    return template


class HttpEngine(GatewayEngine):
    """Speak any HTTP API described by configuration.

    Outbound options: `url` (template, values URL-encoded), `method` (GET, POST or PUT),
    `headers` ({name: template}), `body` (a template string, or for form/JSON a dict of
    templates), `body_format` ("form", "json" or "text"), `success_statuses` (default: any 2xx),
    `success_body` (a regular expression the answer must contain to count as sent), and the
    gateway's id for the message, kept as `external_id`: `answer_id_field` (a dotted key of a
    JSON answer) or `answer_id_pattern` (a regular expression; its first group, else the match).

    Inbound (`/router/backends/<name>/receive`): `receive_params` names the gateway's field for
    each of ours — `sender`, `message`, `id`, `to`, `coding`, `charset` — (default: the same
    names), and `receive_answer` is "json" (the legacy answer), "empty", or
    `{"status": 200, "body": "OK", "content_type": "text/plain"}`.

    Reports (`/router/backends/<name>/delivered`): `report_params` names the gateway's fields for
    `id` (our message id, default `message_id`), `external_id` (its own id, when it reports by
    that) and `status` (default `status`); `report_statuses` maps its values to "sent",
    "delivered", "failed" or None (record only) — without it a status is read as the legacy
    contract's (DLR types and words). A status it cannot read is refused (400).
    `report_url_query` is appended to `%(dlr_url)s` as written: a gateway that fills in
    placeholders, such as Kannel's sendsms through a template, wants `"&status=%d"`. Example: an API
    that takes `phone`/`text`, posts inbound messages as `phone`/`text`/`ref` and reports
    `ref`/`state`::

        BACKENDS = {"api": {"ENGINE": "http",
                            "url": "https://gw.example/messages", "method": "POST",
                            "headers": {"Authorization": "Bearer s3cret"},
                            "body_format": "json",
                            "body": {"phone": "%(recipient)s", "text": "%(text)s",
                                     "ref": "%(id)s", "callback": "%(dlr_url)s"},
                            "receive_params": {"sender": "phone", "message": "text", "id": "ref"},
                            "receive_answer": {"status": 200, "body": "OK"},
                            "report_params": {"id": "ref", "status": "state"},
                            "report_statuses": {"DONE": "delivered", "FAIL": "failed",
                                                "SENT": "sent"}}}
    """

    def configure(
        self,
        url: str,
        method: str = "GET",
        headers: dict[str, str] | None = None,
        body: str | dict[str, Any] | list[Any] | None = None,
        body_format: str = "form",
        success_statuses: list[int] | None = None,
        success_body: str | None = None,
        answer_id_field: str | None = None,
        answer_id_pattern: str | None = None,
        receive_params: dict[str, str] | None = None,
        receive_answer: str | dict[str, Any] = "json",
        report_params: dict[str, str] | None = None,
        report_statuses: dict[str, str | None] | None = None,
        report_url_query: str = "",
    ) -> None:
        """Take the templates, the success rules and the inbound and report mappings."""
        where = f"BACKENDS[{self.name!r}]"
        if not isinstance(url, str) or not url:
            raise ConfigError(f"{where}: url must be a template string", field="BACKENDS")
        self.url = url
        self.method = method.upper()
        if self.method not in ("GET", "POST", "PUT"):
            raise ConfigError(f"{where}: method must be GET, POST or PUT", field="BACKENDS")
        self.headers = dict(headers or {})
        if body_format not in BODY_FORMATS:
            raise ConfigError(f"{where}: body_format must be one of {BODY_FORMATS}", field=where)
        self.body = body
        self.body_format = body_format
        self.success_statuses = frozenset(success_statuses) if success_statuses else None
        self.success_body = re.compile(success_body) if success_body else None
        self.answer_id_field = answer_id_field.split(".") if answer_id_field else None
        self.answer_id_pattern = re.compile(answer_id_pattern) if answer_id_pattern else None
        self.receive_params = _names(where, "receive_params", receive_params, legacy.INBOUND_NAMES)
        self.receive_answer = _receive_answer(where, receive_answer)
        report = _names(where, "report_params", report_params, ("id", "external_id", "status"))
        self.report_id_param = report.get("id", "message_id")
        self.report_external_id = report.get("external_id")
        self.report_status_param = report.get("status", "status")
        self.report_statuses = _statuses(where, report_statuses)
        if not isinstance(report_url_query, str) or any(c in report_url_query for c in "\r\n #"):
            raise ConfigError(f"{where}: report_url_query must be query text", field="BACKENDS")
        self.report_url_query = report_url_query
        try:
            self.prepare_request(_SAMPLE)
        except (KeyError, ValueError, TypeError) as exc:
            raise ConfigError(
                f"{where}: bad template ({type(exc).__name__}: {exc}); fields are "
                + ", ".join(f"%({f})s" for f in TEMPLATE_FIELDS)
                + "; write a literal % as %%",
                field="BACKENDS",
            ) from exc

    def prepare_request(self, message: Outbound) -> PreparedRequest:
        """Fill the URL, header and body templates for `message`."""
        fields = template_fields(message, self.report_url(message))
        url = fill(self.url, fields, url_escape)
        headers = {k: fill(v, fields, header_escape) for k, v in self.headers.items()}
        data: bytes | None = None
        if self.body is not None:
            data, content_type = self._body(fields)
            headers.setdefault("Content-Type", content_type)
        return PreparedRequest(
            self.method, url, headers, data, segments=segment_count(message.text)[1]
        )

    def _body(self, fields: dict[str, str]) -> tuple[bytes, str]:
        if self.body_format == "json":
            return (
                json.dumps(_fill_json(self.body, fields), ensure_ascii=False).encode("utf-8"),
                "application/json",
            )
        if self.body_format == "form" and isinstance(self.body, dict):
            pairs = [(k, fill(str(v), fields)) for k, v in self.body.items()]
            return urlencode(pairs).encode("ascii"), "application/x-www-form-urlencoded"
        if not isinstance(self.body, str):
            raise TypeError("a text body must be a template string")
        return fill(self.body, fields).encode("utf-8"), "text/plain; charset=UTF-8"

    def interpret(self, response: Any) -> SendResult:
        """Sent on a success status whose body matches `success_body`; else as `classify`."""
        result = classify(
            response,
            permanent_statuses=self.permanent_statuses,
            success_statuses=self.success_statuses,
        )
        body_ok = self.success_body is None or self.success_body.search(response.text)
        if result.outcome is Outcome.SENT and not body_ok:
            error = "answer does not match success_body"
            return SendResult(Outcome.RETRY, result.status_code, result.body, error=error)
        if result.outcome is Outcome.SENT:
            return replace(result, external_id=self._answer_id(response))
        return result

    def report_url(self, message: Outbound) -> str:
        """Our report URL (`%(dlr_url)s`), with `report_url_query` appended as it is written."""
        return super().report_url(message) + self.report_url_query

    def _answer_id(self, response: Any) -> str | None:
        if self.answer_id_field is not None:
            try:
                value: Any = response.json()
            except ValueError:
                return None
            for key in self.answer_id_field:
                value = value.get(key) if isinstance(value, dict) else None
            return str(value)[:255] if isinstance(value, str | int) and value != "" else None
        if self.answer_id_pattern is not None:
            match = self.answer_id_pattern.search(response.text)
            if match:
                return (match.group(1) if match.groups() else match.group(0))[:255]
        return None

    # -- inbound and reports ------------------------------------------------------------------

    def read_inbound(self, call: Call) -> list[Inbound]:
        """Read one message with the gateway's parameter names."""
        return [legacy.read_inbound(call, self.receive_params)]

    def answer_inbound(self, call: Call, results: Sequence[Any]) -> Answer:
        """The configured answer: the legacy JSON, nothing, or a fixed text."""
        fixed = self.receive_answer
        if fixed == "json":
            return legacy_answer(results)
        if not isinstance(fixed, dict):  # "empty"
            return Answer()
        return Answer(
            int(fixed.get("status", 200)),
            str(fixed.get("body", "")).encode("utf-8"),
            str(fixed.get("content_type", "text/plain; charset=utf-8")),
        )

    def read_reports(self, call: Call) -> list[Report]:
        """Read one report with the gateway's names for the id and the status."""
        name = self.report_status_param
        raw = call.params.get(name)
        if self.report_statuses is None:
            status = legacy.report_status(raw, name)
        else:
            key = str(raw).strip() if isinstance(raw, str | int) else None
            if key is None or key not in self.report_statuses:
                known = ", ".join(sorted(self.report_statuses))
                raise ValidationError(f"{name} must be one of {known}", field=name)
            status = self.report_statuses[key]
        external_id = None
        if self.report_external_id is not None:
            value = call.params.get(self.report_external_id)
            external_id = str(value) if isinstance(value, str | int) and value != "" else None
        return [Report(self.our_id(call), status, dict(call.params), external_id, raw_status=raw)]


def _names(
    where: str, option: str, value: dict[str, str] | None, ours: Sequence[str]
) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and v for k, v in value.items()
    ):
        raise ConfigError(f"{where}: {option} must map names to names", field="BACKENDS")
    unknown = sorted(set(value) - set(ours))
    if unknown:
        raise ConfigError(
            f"{where}: {option} has {', '.join(map(repr, unknown))}; its keys are our names "
            f"({', '.join(ours)}), its values the gateway's",
            field="BACKENDS",
        )
    return dict(value)


def _receive_answer(where: str, value: Any) -> str | dict[str, Any]:
    if isinstance(value, str) and value in RECEIVE_ANSWERS:
        return value
    if isinstance(value, dict) and set(value) <= {"status", "body", "content_type"}:
        status = value.get("status", 200)
        if isinstance(status, int) and not isinstance(status, bool) and 200 <= status < 300:
            return dict(value)
    raise ConfigError(
        f'{where}: receive_answer must be "json", "empty" or '
        '{"status": 2xx, "body": "...", "content_type": "..."}',
        field="BACKENDS",
    )


def _statuses(where: str, value: dict[str, str | None] | None) -> dict[str, str | None] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not value:
        raise ConfigError(f"{where}: report_statuses must be a non-empty dict", field="BACKENDS")
    mapped: dict[str, str | None] = {}
    for key, word in value.items():
        if word not in REPORT_WORDS:
            raise ConfigError(
                f"{where}: report_statuses[{key!r}] must be sent, delivered, failed or None",
                field="BACKENDS",
            )
        mapped[str(key)] = REPORT_WORDS[word]
    return mapped


# The short names of this module's engines, for BACKENDS' ENGINE.
ENGINES = {"http": HttpEngine}
