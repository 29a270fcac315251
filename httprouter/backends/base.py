"""The push backend base class, the request it prepares, and what a gateway's answer means.

A push backend turns one outbound message into one HTTP request (`prepare_request`, pure, no
I/O) and the gateway's answer into an outcome (`interpret`). `classify` is the one place that
decides whether an answer or an error means sent, retry later, or give up.
"""

from __future__ import annotations

import email.utils
import logging
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

import requests

from ..errors import ConfigError
from ..redact import redact_headers, redact_text, redact_url

log = logging.getLogger(__name__)

# Answers that will not get better by trying again (SPEC §4); others are retried.
PERMANENT_STATUSES = (400, 401, 403, 404, 413, 422)
BODY_KEPT = 500  # characters of a gateway's answer kept in the attempt log
RETRY_AFTER_MAX = 24 * 3600.0
_JITTER = secrets.SystemRandom()


class Outcome(StrEnum):
    """What one push attempt achieved."""

    SENT = "sent"
    RETRY = "retry"
    FAILED = "failed"


@dataclass(frozen=True)
class OutboundMessage:
    """What a backend needs to know about a message it pushes."""

    id: int
    backend: str
    recipient: str
    text: str
    dlr_url: str = ""
    sender: str = ""
    priority: int = 0
    attempt: int = 1


@dataclass(frozen=True)
class PreparedRequest:
    """An HTTP request ready to send, built without I/O so tests can compare it exactly."""

    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    segments: int = 1

    def redacted(self, secrets: tuple[str, ...] = ()) -> str:
        """Describe the request for the attempt log, with credentials masked."""
        text = f"{self.method} {redact_url(self.url)}"
        headers = redact_headers(self.headers)
        if headers:
            text += "\n" + "\n".join(f"{k}: {v}" for k, v in headers.items())
        if self.body:
            text += "\n\n" + self.body[:BODY_KEPT].decode("utf-8", "replace")
        return redact_text(text, secrets)


@dataclass(frozen=True)
class SendResult:
    """The outcome of one attempt, with what the gateway said."""

    outcome: Outcome
    status_code: int | None = None
    body: str | None = None
    error: str | None = None
    retry_after: float | None = None


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Parse a Retry-After header (seconds or an HTTP date) into seconds from now."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), RETRY_AFTER_MAX)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    delta = (when - (now or datetime.now(UTC))).total_seconds()
    return min(max(delta, 0.0), RETRY_AFTER_MAX)


def classify(
    response: requests.Response | None,
    error: BaseException | None = None,
    *,
    permanent_statuses: tuple[int, ...] | frozenset[int] = PERMANENT_STATUSES,
    success_statuses: tuple[int, ...] | frozenset[int] | None = None,
) -> SendResult:
    """Map a gateway's answer, or the error raised instead, to sent / retry / failed.

    2xx (or `success_statuses`) is sent; `permanent_statuses` fail at once; connection errors,
    timeouts, 5xx, 429 (with its Retry-After) and any other answer are retried.
    """
    if response is None:
        name = type(error).__name__ if error is not None else "no answer"
        detail = f"{name}: {error}" if error is not None else name
        return SendResult(Outcome.RETRY, error=detail[:BODY_KEPT])
    code = response.status_code
    body = response.text[:BODY_KEPT]
    ok = code in success_statuses if success_statuses else 200 <= code < 300
    if ok:
        return SendResult(Outcome.SENT, code, body)
    if code in permanent_statuses:
        return SendResult(Outcome.FAILED, code, body, error=f"HTTP {code}")
    retry_after = None
    if code in (429, 503):
        retry_after = retry_after_seconds(response.headers.get("Retry-After"))
    return SendResult(Outcome.RETRY, code, body, error=f"HTTP {code}", retry_after=retry_after)


class PushBackend:
    """Base class of push backends: turn a message into a request, and the answer into an outcome.

    Configure a backend in BACKENDS by name; its options are passed as keyword arguments::

        BACKENDS = {"modem": {"ENGINE": "myproject.backends.ModemBackend",
                              "url": "http://10.0.0.5/send", "rate_limit": 2}}

    A subclass defines `configure(**its_options)` and `prepare_request(message)`; it may
    override `interpret(response)` when the gateway reports failures in a 2xx body::

        class ModemBackend(PushBackend):
            def configure(self, url: str) -> None:
                self.url = url

            def prepare_request(self, message: OutboundMessage) -> PreparedRequest:
                body = json.dumps({"to": message.recipient, "text": message.text}).encode()
                return PreparedRequest("POST", self.url, {"Content-Type": "application/json"}, body)

    Options every push backend takes: `timeout` (seconds), `rate_limit` (messages per second,
    shared by all dispatchers), `max_attempts`, `backoff_base`/`backoff_max` (seconds), and
    `permanent_statuses` (HTTP answers that fail at once instead of being retried).
    """

    def __init__(
        self,
        name: str,
        *,
        timeout: float = 15,
        rate_limit: float | None = None,
        max_attempts: int = 3,
        backoff_base: float = 10,
        backoff_max: float = 600,
        permanent_statuses: list[int] | tuple[int, ...] = PERMANENT_STATUSES,
        **options: Any,
    ) -> None:
        self.name = name
        self.timeout = _positive(name, "timeout", timeout)
        self.rate_limit = None if rate_limit is None else _positive(name, "rate_limit", rate_limit)
        if not isinstance(max_attempts, int) or max_attempts < 1:
            raise ConfigError(f"BACKENDS[{name!r}]: max_attempts must be at least 1", field=name)
        self.max_attempts = max_attempts
        self.backoff_base = _positive(name, "backoff_base", backoff_base, zero=True)
        self.backoff_max = max(_positive(name, "backoff_max", backoff_max), self.backoff_base)
        self.permanent_statuses = frozenset(int(s) for s in permanent_statuses)
        self.secrets: tuple[str, ...] = ()
        self._session: requests.Session | None = None
        self._proxies_by_host: dict[tuple[str, str], dict[str, str]] = {}
        try:
            self.configure(**options)
        except TypeError as exc:
            raise ConfigError(f"BACKENDS[{name!r}]: {exc}", field="BACKENDS") from exc

    def configure(self, *args: Any, **options: Any) -> None:
        """Take the backend's own options; override with named keyword arguments."""
        if args or options:
            raise TypeError(f"unknown option(s) {', '.join(sorted(options))}")

    def prepare_request(self, message: OutboundMessage) -> PreparedRequest:
        """Build the HTTP request that pushes `message` (no I/O)."""
        raise NotImplementedError

    def interpret(self, response: requests.Response) -> SendResult:
        """Decide what the gateway's answer means."""
        return classify(response, permanent_statuses=self.permanent_statuses)

    @property
    def session(self) -> requests.Session:
        """The backend's HTTP session (keep-alive to its gateway).

        Proxy settings from the environment (HTTP_PROXY, NO_PROXY, ...) are read once per gateway
        host rather than on every send, where they were most of the client's CPU cost.
        """
        if self._session is None:
            self._session = requests.Session()
            self._session.trust_env = False
        return self._session

    def _proxies(self, url: str) -> dict[str, str]:
        host = urlsplit(url)[:2]
        if host not in self._proxies_by_host:
            self._proxies_by_host[host] = requests.utils.get_environ_proxies(url)
        return self._proxies_by_host[host]

    def send(self, request: PreparedRequest) -> SendResult:
        """Send a prepared request and interpret the answer; errors become RETRY results."""
        try:
            response = self.session.request(
                request.method,
                request.url,
                headers=request.headers,
                data=request.body,
                timeout=self.timeout,
                allow_redirects=False,
                proxies=self._proxies(request.url),
            )
        except requests.RequestException as exc:
            return classify(None, exc)
        return self.interpret(response)

    def backoff(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before attempt `attempt + 1`: exponential with jitter, or Retry-After."""
        if retry_after is not None:
            return max(retry_after, 0.0)
        ceiling = min(self.backoff_max, self.backoff_base * 2 ** max(attempt - 1, 0))
        return _JITTER.uniform(ceiling / 2, ceiling)

    def close(self) -> None:
        """Close the backend's connections."""
        if self._session is not None:
            self._session.close()
            self._session = None


def _positive(name: str, option: str, value: Any, *, zero: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"BACKENDS[{name!r}]: {option} must be a number", field="BACKENDS")
    if value < 0 or (value == 0 and not zero):
        raise ConfigError(f"BACKENDS[{name!r}]: {option} must be positive", field="BACKENDS")
    return float(value)
