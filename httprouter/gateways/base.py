"""The gateway engine contract: everything particular to one kind of SMS gateway, in one class.

An engine reads its gateway's inbound calls into messages and answers them in the gateway's own
protocol; turns an outbound message into one HTTP request (`prepare_request`, pure, no I/O) and
the gateway's answer into an outcome (`interpret`), which may carry the gateway's own message id;
gives the report URL the gateway is told to call; and reads the gateway's delivery reports into
status changes, or refuses them. The core (router, dispatcher, outbox, statuses) only ever talks
to this contract: it names no gateway.

`classify` is the one place that decides whether an HTTP answer or an error means sent, retry
later, or give up.
"""

from __future__ import annotations

import email.utils
import inspect
import json
import logging
import secrets
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from difflib import get_close_matches
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote, urlencode, urlsplit

from ..auth import check_password
from ..errors import ConfigError, HttpRouterError, NotFoundError
from ..redact import redact_headers, redact_text, redact_url
from ..store.reports import Report, ReportOutcome

if TYPE_CHECKING:  # requests is imported on the first send: web workers never load it
    import requests

log = logging.getLogger(__name__)

# Answers that will not get better by trying again; others are retried.
PERMANENT_STATUSES = (400, 401, 403, 404, 413, 422)
BODY_KEPT = 500  # characters of a gateway's answer kept in the attempt log
RETRY_AFTER_MAX = 24 * 3600.0
_JITTER = secrets.SystemRandom()


class Outcome(StrEnum):
    """What one push attempt achieved."""

    SENT = "sent"
    RETRY = "retry"
    FAILED = "failed"


# -- what an engine reads and answers ----------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """One HTTP request from a gateway, as an engine reads it (no Flask in engines).

    `params` is the query string merged with a form or JSON-object body (the body wins); `args`
    the query string alone; `form` the form body's fields alone, in order, without file uploads
    (what a gateway that signs its posts signs); `headers` have lower-case names; `url` is the
    full URL as requested.
    """

    method: str
    url: str
    params: Mapping[str, Any]
    args: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    query_string: bytes = b""
    content_type: str = ""
    json: Any = None
    form: Sequence[tuple[str, str]] = ()

    def header(self, name: str, default: str = "") -> str:
        """A request header by name, in any case."""
        return self.headers.get(name.lower(), default)

    @property
    def password(self) -> str | None:
        """The credential sent as `Authorization: Bearer …` or as the `password` parameter."""
        scheme, _, token = self.header("authorization").partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
        value = self.params.get("password")
        return value if isinstance(value, str) else None


@dataclass(frozen=True)
class Inbound:
    """One inbound message an engine read from a call."""

    sender: str
    text: str
    external_id: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Answer:
    """The HTTP answer an engine gives its gateway."""

    status: int = 200
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def text(cls, text: str, status: int = 200) -> Answer:
        """A plain-text answer."""
        return cls(status, text.encode("utf-8"))

    @classmethod
    def json(cls, value: Any, status: int = 200) -> Answer:
        """A JSON answer (UTF-8, not ASCII-escaped)."""
        body = json.dumps(value, ensure_ascii=False).encode("utf-8")
        return cls(status, body, "application/json")


# -- what an engine sends ---------------------------------------------------------------------


@dataclass(frozen=True)
class Outbound:
    """What an engine needs to know about a message it pushes."""

    id: int
    backend: str
    recipient: str
    text: str
    sender: str = ""
    priority: int = 0
    attempt: int = 1
    token: str = ""  # the message's signed token: authorises reports about it
    public_url: str = "http://127.0.0.1:8080"  # where gateways reach the router


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
    """The outcome of one attempt, with what the gateway said (and its id for the message)."""

    outcome: Outcome
    status_code: int | None = None
    body: str | None = None
    error: str | None = None
    retry_after: float | None = None
    external_id: str | None = None


# -- what a call carries, and what became of it -----------------------------------------------

# The two URLs of a backend's own: /router/backends/<name>/receive and …/delivered.
RECEIVE = "receive"
DELIVERED = "delivered"


@dataclass(frozen=True)
class Exchange:
    """What one call to a backend's URL carries, as its engine reads it; the web layer carries
    it out, in this order.

    `inbound` messages are stored (each runs the apps, once per gateway id). `reports` are
    applied; a report with a `token` only when the token is the one signed for its message.
    Then up to `hand_out` of the backend's queued messages are leased to the call, exactly as
    the outbox leases them (a message is never handed to two calls while its lease runs; one
    not confirmed before the lease ends is handed out again); with `sent_on_hand_out` they are
    sent at once, for a gateway that never confirms what it was handed. `list_sent` asks for up
    to that many of the backend's sent messages still waiting for a delivery result, newest
    first. `state` is the engine's own, kept from the reading for the answer.
    """

    inbound: Sequence[Inbound] = ()
    reports: Sequence[Report] = ()
    hand_out: int = 0
    sent_on_hand_out: bool = False
    list_sent: int = 0
    state: Any = None


@dataclass(frozen=True)
class Handled:
    """What the router did with an `Exchange`, given to the engine for its answer."""

    exchange: Exchange
    received: Sequence[Any] = ()  # a ReceiveResult per inbound message, in order
    reported: Sequence[ReportOutcome | HttpRouterError] = ()  # one per report, in order
    handed_out: Sequence[Outbound] = ()  # leased to this call, oldest first
    sent: Sequence[Outbound] = ()  # sent, waiting for a delivery result


def header_safe(value: str) -> str:
    """A value fit for an HTTP header line: every control character (C0 and C1, NEL among them)
    and line or paragraph separator becomes a space, so message data never splits a header."""
    return "".join(" " if unicodedata.category(ch) in _NOT_IN_HEADERS else ch for ch in value)


_NOT_IN_HEADERS = frozenset({"Cc", "Zl", "Zp"})


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
    response: Any,
    error: BaseException | None = None,
    *,
    permanent_statuses: tuple[int, ...] | frozenset[int] = PERMANENT_STATUSES,
    success_statuses: tuple[int, ...] | frozenset[int] | None = None,
) -> SendResult:
    """Map a gateway's answer (a `requests.Response`), or the error raised instead, to an outcome.

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


def legacy_answer(results: Sequence[Any]) -> Answer:
    """The legacy /router/receive JSON for the (last) message a call stored."""
    if not results:
        return Answer.json({"status": "Nothing to store."})
    last = results[-1]
    return Answer.json(
        {
            "message": last.message.to_json(),
            "responses": [r.to_json() for r in last.responses],
            "status": "Message handled.",
        }
    )


# -- the contract -----------------------------------------------------------------------------


class GatewayEngine:
    """Base class of gateway engines. One instance serves one backend (one gateway connection).

    Configure a backend in BACKENDS by name; `ENGINE` is a short name (see gateways.registry) or
    the dotted path of your own subclass, and the other keys are passed as keyword arguments::

        BACKENDS = {"modem": {"ENGINE": "myproject.gateways.ModemEngine",
                              "url": "http://10.0.0.5/send", "rate_limit": 2}}

    A subclass defines `configure(**its_options)` (its signature documents the options; an
    unknown or mistyped one stops start-up naming the backend) and whichever sides its gateway
    has. Outbound, `prepare_request` (pure) and, when the answer is more than its HTTP status,
    `interpret`. Inbound, `read_inbound` and `answer_inbound`. Reports, `read_reports` and
    `answer_reports`, and `report_url` when the gateway needs placeholders in it. A gateway
    that polls for its messages (`push = False`), or whose one URL takes every kind of call,
    overrides `read_call` and `answer_call` instead (an `Exchange` says what a call carries and
    how many queued messages its answer hands out; a `Handled` what became of it)::

        class ModemEngine(GatewayEngine):
            def configure(self, url: str) -> None:
                self.url = url

            def prepare_request(self, message: Outbound) -> PreparedRequest:
                body = json.dumps({"to": message.recipient, "text": message.text,
                                   "callback": self.report_url(message)}).encode()
                return PreparedRequest("POST", self.url, {"Content-Type": "application/json"}, body)

            def interpret(self, response) -> SendResult:
                result = classify(response, permanent_statuses=self.permanent_statuses)
                return replace(result, external_id=response.json().get("id"))

            def read_inbound(self, call: Call) -> list[Inbound]:
                return [Inbound(sender=call.params["from"], text=call.params["text"])]

            def read_reports(self, call: Call) -> list[Report]:
                status = {"ok": DELIVERED, "err": FAILED}.get(call.params.get("state"))
                if status is None:
                    raise ValidationError("state must be ok or err", field="state")
                return [Report(message_id=self.our_id(call), status=status,
                               params=dict(call.params))]

    The web layer serves `/router/backends/<name>/receive` and `/router/backends/<name>/delivered`
    with `read_call` and `answer_call` (by default, the methods above); a `HttpRouterError`
    raised by any of them becomes `answer_error`'s answer (the gateway's own error form) or, by
    default, the router's JSON error. `outbox_entry` shows a queued message to a poller of the
    legacy /router/outbox.

    Options every engine takes: `timeout` (seconds), `rate_limit` (messages per second, shared by
    all dispatchers), `max_attempts`, `backoff_base`/`backoff_max` (seconds), and
    `permanent_statuses` (HTTP answers that fail at once instead of being retried). `password`
    and `allow_networks` are the receive side's and are read by the web layer.
    """

    #: True: the dispatcher pushes this backend's messages; False: the gateway fetches them.
    push: ClassVar[bool] = True
    #: How many messages with one text the gateway takes in one request (`prepare_batch`): the
    #: dispatcher groups due messages of this backend with the same text, sender and priority,
    #: one per recipient, up to this many. 1: every message is a request of its own.
    max_recipients: int = 1
    #: The name of our message id in the report URL (and in the gateway's reports).
    report_id_param: str = "message_id"

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
        self.timeout = positive(name, "timeout", timeout)
        self.rate_limit = None if rate_limit is None else positive(name, "rate_limit", rate_limit)
        if isinstance(max_attempts, bool) or not isinstance(max_attempts, int) or max_attempts < 1:
            raise ConfigError(f"BACKENDS[{name!r}]: max_attempts must be at least 1", field=name)
        self.max_attempts = max_attempts
        self.backoff_base = positive(name, "backoff_base", backoff_base, zero=True)
        self.backoff_max = max(positive(name, "backoff_max", backoff_max), self.backoff_base)
        if not isinstance(permanent_statuses, list | tuple) or not all(
            isinstance(s, int) and not isinstance(s, bool) for s in permanent_statuses
        ):
            raise ConfigError(
                f"BACKENDS[{name!r}]: permanent_statuses must be a list of HTTP status numbers",
                field="BACKENDS",
            )
        self.permanent_statuses = frozenset(permanent_statuses)
        self.secrets: tuple[str, ...] = ()
        self._session: requests.Session | None = None
        self._proxies_by_host: dict[tuple[str, str], dict[str, str]] = {}
        _check_options(name, self.configure, options)
        try:
            self.configure(**options)
        except TypeError as exc:
            raise ConfigError(f"BACKENDS[{name!r}]: {exc}", field="BACKENDS") from exc

    def configure(self, *args: Any, **options: Any) -> None:
        """Take the engine's own options; override with named keyword arguments."""
        if args or options:
            raise TypeError(f"unknown option(s) {', '.join(sorted(options))}")

    # -- inbound ------------------------------------------------------------------------------

    def authenticate(self, call: Call, secrets: list[str]) -> None:
        """Refuse a call without one of `secrets` (the backend's password, else the router's).

        The default takes `password=` or `Authorization: Bearer …`; engines whose protocol signs
        its requests override this. Raise AuthError to refuse.
        """
        check_password(call.password, secrets)

    def read_inbound(self, call: Call) -> list[Inbound]:
        """Read the messages of an inbound call (an empty list: a call that carries none)."""
        raise NotFoundError(f"backend {self.name!r} takes no inbound calls", field="backend")

    def answer_inbound(self, call: Call, results: Sequence[Any]) -> Answer:
        """The answer once every message of the call is committed (each a `router.Received`)."""
        return legacy_answer(results)

    def read_call(self, call: Call, endpoint: str) -> Exchange:
        """Read a call to the backend's `endpoint` (RECEIVE or DELIVERED) into what it carries.

        The default: inbound messages (`read_inbound`) on the receive URL, reports
        (`read_reports`) on the delivered URL. A one-URL protocol overrides this to read every
        action from the receive URL, and to ask for queued messages for its answer.
        """
        if endpoint == DELIVERED:
            return Exchange(reports=self.read_reports(call))
        return Exchange(inbound=self.read_inbound(call))

    def answer_call(self, call: Call, endpoint: str, handled: Handled) -> Answer:
        """The answer once the call's exchange is carried out (everything in it committed).

        The default: `answer_inbound` on the receive URL, `answer_reports` on the delivered URL.
        """
        if endpoint == DELIVERED:
            return self.answer_reports(call, handled.reported)
        return self.answer_inbound(call, handled.received)

    def outbox_entry(self, message: dict[str, Any]) -> dict[str, Any] | None:
        """A queued message as this gateway is shown it by the legacy endpoints (its JSON, in
        /router/outbox and in /router/receive's `responses`); None leaves it out.

        The default shows it unchanged: the legacy contract.
        """
        return message

    def answer_error(self, call: Call | None, error: HttpRouterError) -> Answer | None:
        """The gateway's own form of an error answer; None gives the router's JSON error.

        `call` is None when the request could not even be read (say, a malformed JSON body).
        """
        return None

    # -- outbound -----------------------------------------------------------------------------

    def prepare_request(self, message: Outbound) -> PreparedRequest:
        """Build the HTTP request that pushes `message` (no I/O)."""
        raise NotImplementedError(f"backend {self.name!r} pushes nothing")

    def interpret(self, response: requests.Response) -> SendResult:
        """Decide what the gateway's answer means."""
        return classify(response, permanent_statuses=self.permanent_statuses)

    def prepare_batch(self, messages: Sequence[Outbound]) -> PreparedRequest:
        """Build the one request that pushes `messages` (one text, up to `max_recipients`
        recipients, each once), as RapidSMS's `send(id_, text, identities)`; no I/O.

        The default takes one message: `prepare_request`.
        """
        if len(messages) != 1:
            raise ValueError(f"backend {self.name!r} takes one recipient per request")
        return self.prepare_request(messages[0])

    def interpret_batch(
        self, response: requests.Response, messages: Sequence[Outbound]
    ) -> list[SendResult]:
        """What the answer to `prepare_batch`'s request means for each of `messages`, in order
        (RapidSMS's `MessageSendingError.failed_identities`: the recipients that failed fail or
        are retried on their own, the others are sent). The default: `interpret`, for each."""
        return [self.interpret(response)] * len(messages)

    def report_url(self, message: Outbound) -> str:
        """The URL the gateway calls with reports about `message`: ours, signed for it."""
        query = urlencode({self.report_id_param: message.id, "token": message.token})
        return f"{message.public_url}/router/backends/{quote(self.name, safe='')}/delivered?{query}"

    @property
    def session(self) -> requests.Session:
        """The engine's HTTP session (keep-alive to its gateway).

        Proxy settings from the environment (HTTP_PROXY, NO_PROXY, ...) are read once per gateway
        host rather than on every send, where they were most of the client's CPU cost.
        """
        if self._session is None:
            import requests

            self._session = requests.Session()
            self._session.trust_env = False
        return self._session

    def _proxies(self, url: str) -> dict[str, str]:
        import requests

        host = urlsplit(url)[:2]
        if host not in self._proxies_by_host:
            self._proxies_by_host[host] = requests.utils.get_environ_proxies(url)
        return self._proxies_by_host[host]

    def _request(self, request: PreparedRequest) -> requests.Response:
        return self.session.request(
            request.method,
            request.url,
            headers=request.headers,
            data=request.body,
            timeout=self.timeout,
            allow_redirects=False,
            proxies=self._proxies(request.url),
        )

    def send(self, request: PreparedRequest) -> SendResult:
        """Send a prepared request and interpret the answer; errors become RETRY results."""
        import requests

        try:
            response = self._request(request)
        except requests.RequestException as exc:
            return classify(None, exc)
        return self.interpret(response)

    def send_batch(
        self, request: PreparedRequest, messages: Sequence[Outbound]
    ) -> list[SendResult]:
        """Send `prepare_batch`'s request; one result per message (an error: RETRY for all)."""
        if len(messages) == 1:
            return [self.send(request)]
        import requests

        try:
            response = self._request(request)
        except requests.RequestException as exc:
            return [classify(None, exc)] * len(messages)
        return self.interpret_batch(response, messages)

    def backoff(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before attempt `attempt + 1`: exponential with jitter, or Retry-After."""
        if retry_after is not None:
            return max(retry_after, 0.0)
        ceiling = min(self.backoff_max, self.backoff_base * 2 ** max(attempt - 1, 0))
        return _JITTER.uniform(ceiling / 2, ceiling)

    def close(self) -> None:
        """Close the engine's connections."""
        if self._session is not None:
            self._session.close()
            self._session = None

    # -- reports ------------------------------------------------------------------------------

    def read_reports(self, call: Call) -> list[Report]:
        """Read a report call into reports; raise ValidationError when a status is unreadable."""
        raise NotFoundError(f"backend {self.name!r} takes no delivery reports", field="backend")

    def answer_reports(
        self, call: Call, outcomes: Sequence[ReportOutcome | HttpRouterError]
    ) -> Answer:
        """The answer once the reports are applied (errors, such as an unknown id, in place).

        The default: a JSON list of what each report did; when none could be applied, the first
        error (an unknown message is a 404, as on the legacy /router/delivered).
        """
        applied = [o for o in outcomes if isinstance(o, ReportOutcome)]
        if not applied:
            raise next(o for o in outcomes if isinstance(o, HttpRouterError))
        results = [o.to_json() for o in outcomes]
        status = "Reports recorded." if len(outcomes) > 1 else "Report recorded."
        return Answer.json({"status": status, "results": results})

    def our_id(self, call: Call) -> int | None:
        """Our message id from the report URL we gave (None when absent or not a number)."""
        value = call.args.get(self.report_id_param, call.params.get(self.report_id_param))
        return parse_id(value)


def parse_id(value: Any) -> int | None:
    """A message id from a parameter: a positive whole number, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 < value < 2**63 else None
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) < 19:
        number = int(value.strip())
        return number if number > 0 else None
    return None


def positive(name: str, option: str, value: Any, *, zero: bool = False) -> float:
    """Check a numeric option (a number, positive or with `zero` also 0), naming it if wrong."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"BACKENDS[{name!r}]: {option} must be a number", field="BACKENDS")
    if value < 0 or (value == 0 and not zero):
        raise ConfigError(f"BACKENDS[{name!r}]: {option} must be positive", field="BACKENDS")
    return float(value)


def _check_options(name: str, configure: Any, options: Mapping[str, Any]) -> None:
    """Refuse an option `configure` does not take, suggesting the one that was meant."""
    try:
        signature = inspect.signature(configure)
    except (TypeError, ValueError):
        return
    parameters = signature.parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return
    known = [p.name for p in parameters if p.kind is not inspect.Parameter.VAR_POSITIONAL]
    for option in options:
        if option not in known:
            shared = ["timeout", "rate_limit", "max_attempts", "backoff_base", "backoff_max"]
            close = get_close_matches(option, known + shared + ["permanent_statuses"], n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            takes = ", ".join(known) or "none of its own"
            raise ConfigError(
                f"BACKENDS[{name!r}]: unknown option {option!r}{hint}; this engine takes {takes}",
                field="BACKENDS",
            )
