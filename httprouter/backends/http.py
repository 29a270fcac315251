"""The generic templated HTTP backend, which also carries the legacy ROUTER_URL templates.

Templates are Python %-format strings with named fields (`%%` is a literal %). Each value is
escaped for the place it lands: URL-encoded (UTF-8, space as `+`, like the old router) in the
URL, stripped of line breaks in headers, form-encoded or JSON-encoded in a body.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, quote_plus, urlencode

from ..encoding import is_gsm7, segment_count
from ..errors import ConfigError
from .base import OutboundMessage, Outcome, PreparedRequest, PushBackend, SendResult, classify

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
_SAMPLE = OutboundMessage(1, "backend", "+1555", "text", "http://router/dlr", "123", 0)


def template_fields(message: OutboundMessage) -> dict[str, str]:
    """The raw (unescaped) value of every template field for `message`."""
    gsm = is_gsm7(message.text)
    return {
        "backend": message.backend,
        "recipient": message.recipient,
        "text": message.text,
        "id": str(message.id),
        "sender": message.sender,
        "dlr_url": message.dlr_url,
        "coding": "0" if gsm else "2",
        "charset": "UTF-8",
        "priority": str(message.priority),
    }


def url_escape(value: str) -> str:
    """Escape a value for a URL the way the legacy router did: UTF-8, then quote_plus."""
    return quote_plus(value.encode("utf-8"))


def header_escape(value: str) -> str:
    """Make a value safe for an HTTP header: no line breaks; non-Latin-1 text percent-encoded."""
    value = value.replace("\r", " ").replace("\n", " ")
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


class HttpBackend(PushBackend):
    """Push through any HTTP API described by templates.

    Options: `url` (template, values URL-encoded), `method` (GET or POST), `headers`
    ({name: template}), `body` (a template string, or for form/JSON a dict of templates),
    `body_format` ("form", "json" or "text"), `success_statuses` (default: any 2xx) and
    `success_body` (a regular expression the answer must contain to count as sent). Example::

        BACKENDS = {"api": {"ENGINE": "httprouter.backends.http.HttpBackend",
                            "url": "https://gw.example/messages", "method": "POST",
                            "headers": {"Authorization": "Bearer s3cret"},
                            "body_format": "json",
                            "body": {"to": "%(recipient)s", "text": "%(text)s", "ref": "%(id)s"}}}
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
    ) -> None:
        """Take the templates and the success rules."""
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
        try:
            self.prepare_request(_SAMPLE)
        except (KeyError, ValueError, TypeError) as exc:
            raise ConfigError(
                f"{where}: bad template ({type(exc).__name__}: {exc}); fields are "
                + ", ".join(f"%({f})s" for f in TEMPLATE_FIELDS)
                + "; write a literal % as %%",
                field="BACKENDS",
            ) from exc

    def prepare_request(self, message: OutboundMessage) -> PreparedRequest:
        """Fill the URL, header and body templates for `message`."""
        fields = template_fields(message)
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
        return result
