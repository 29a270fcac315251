"""Logging: one JSON object per line (or plain text), with secrets masked in every record.

Every JSON line has `time`, `level`, `logger`, `message`, `event`, `request_id`, `backend` and
`message_id` (null when unknown); `log_context()` supplies the last four to every record made
inside it (the web layer binds the request id, the router the backend and message id).
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar, Token
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from . import clock
from .redact import SECRET_PARAMS, redact_text

_CONTEXT_KEYS = ("event", "request_id", "backend", "message_id")
_EXTRA_KEYS = ("status", "worker")
_context: ContextVar[dict[str, Any] | None] = ContextVar("httprouter_log_context", default=None)
_installed_secrets: list[str] = []
_base_factory = logging.getLogRecordFactory()
# Libraries whose INFO lines are start-up chatter (alembic: its plugin set-up, "Context impl",
# each migration step): shown at DEBUG or when asked for (`httprouter --verbose`).
CHATTY_LIBRARIES = ("alembic",)


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON object: time, level, logger, message and known extras."""

    def format(self, record: logging.LogRecord) -> str:
        body: dict[str, Any] = {
            "time": clock.now().isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        context = _context.get() or {}
        for key in _CONTEXT_KEYS:
            value = getattr(record, key, None)
            body[key] = context.get(key) if value is None else value
        for key in _EXTRA_KEYS:
            value = getattr(record, key, None)
            if value is not None:
                body[key] = value
        if record.exc_info:
            body["exception"] = redact_text(
                self.formatException(record.exc_info), _installed_secrets
            )
        return json.dumps(body, ensure_ascii=False, default=str)


def config_secrets(config: Mapping[str, Any]) -> list[str]:
    """Every secret value in the configuration, to be masked wherever it would be logged."""
    found = [config.get("ROUTER_PASSWORD"), config.get("SECRET_KEY")]
    found += _nested_secrets(config.get("BACKENDS") or {})
    for value in (config.get("CONSOLE_USERS") or {}).values():
        if isinstance(value, str):
            found.append(value)
    found += _url_secrets(config.get("DATABASE_URL") or "")
    router_url = config.get("ROUTER_URL")
    for url in router_url.values() if isinstance(router_url, dict) else [router_url]:
        if isinstance(url, str):
            found += _url_secrets(url)
    return [s for s in found if isinstance(s, str) and s]


def _nested_secrets(options: Mapping[str, Any]) -> list[str]:
    """Values under secret-sounding keys, and credentials in URLs, at any depth of `options`."""
    found: list[str] = []
    for key, value in options.items():
        if isinstance(value, Mapping):
            found += _nested_secrets(value)
        elif isinstance(value, str):
            if any(w in str(key).lower() for w in ("password", "token", "secret", "key", "auth")):
                found.append(value)
            found += _url_secrets(value)
    return found


def _url_secrets(url: str) -> list[str]:
    """The password in a URL's user part and the values of its secret query parameters."""
    if "://" not in url:
        return []
    parts = urlsplit(url)
    found = [parts.password] if parts.password else []
    found += [
        v for n, v in parse_qsl(parts.query, keep_blank_values=True) if n.lower() in SECRET_PARAMS
    ]
    return [v for v in found if v and "%(" not in v]


def install_redaction(secrets: Iterable[str]) -> None:
    """Mask `secrets` and credential patterns in every log record made from now on."""
    for secret in secrets:
        if secret not in _installed_secrets:
            _installed_secrets.append(secret)
    _installed_secrets.sort(key=len, reverse=True)

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = _base_factory(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: leave it to the handler to report
            return record
        clean = redact_text(message, _installed_secrets)
        if clean != message:
            record.msg, record.args = clean, None
        return record

    logging.setLogRecordFactory(factory)


def configure_logging(
    level: str = "INFO", fmt: str = "json", stream: Any = None, *, verbose: bool = False
) -> None:
    """Send the service's logs to stderr in the chosen format (`verbose`: libraries' INFO too)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_httprouter", False):
            root.removeHandler(old)
    handler._httprouter = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level.upper())
    chatty = logging.NOTSET if verbose or root.level <= logging.DEBUG else logging.WARNING
    for name in CHATTY_LIBRARIES:
        logging.getLogger(name).setLevel(chatty)


def bind_context(**fields: Any) -> Token[dict[str, Any] | None]:
    """Add `fields` to every record made in this context until `unbind_context(token)`."""
    return _context.set({**(_context.get() or {}), **fields})


def unbind_context(token: Token[dict[str, Any] | None]) -> None:
    """Undo the `bind_context` call that returned `token`."""
    _context.reset(token)


@contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Add `fields` (request_id, backend, message_id, event) to every record made inside."""
    token = bind_context(**fields)
    try:
        yield
    finally:
        unbind_context(token)


def gunicorn_logger_class(fmt: str) -> Any:
    """A gunicorn logger whose error log is written in our format (JSON lines by default)."""
    from gunicorn.glogging import Logger

    class GunicornLogger(Logger):  # type: ignore[misc]
        def setup(self, cfg: Any) -> None:
            super().setup(cfg)
            if fmt == "json":
                for handler in self.error_log.handlers:
                    handler.setFormatter(JsonFormatter())

    return GunicornLogger
