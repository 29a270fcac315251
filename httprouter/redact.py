"""Keep secrets out of logs, attempt records and the console."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "***"

# Query parameter names whose values are credentials (Kannel's `pass`, our signed `token`, ...).
SECRET_PARAMS = frozenset(
    {
        "password",
        "pass",
        "pwd",
        "passwd",
        "token",
        "secret",
        "api_key",
        "apikey",
        "key",
        "access_token",
        "auth",
        "signature",
        "sig",
    }
)
SECRET_HEADERS = frozenset(
    {"authorization", "x-kannel-password", "x-api-key", "proxy-authorization", "cookie"}
)

_PARAM_RE = re.compile(
    r"(?i)(?P<name>\b(?:" + "|".join(sorted(SECRET_PARAMS, key=len, reverse=True)) + r"))"
    r"(?P<sep>=|%3D)(?P<value>[^&\s\"'#]*)"
)
_BEARER_RE = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+")
# The lookbehind keeps this linear: a scheme can only start where a run of scheme characters does.
_USERINFO_RE = re.compile(
    r"(?<![a-z0-9+.-])(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^:/@\s]*):[^@/\s]*@", re.IGNORECASE
)


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """Mask credentials in free text: secret query parameters, bearer tokens, URL passwords."""
    for secret in secrets:
        if secret and len(secret) >= 3:
            text = text.replace(secret, MASK)
    text = _PARAM_RE.sub(lambda m: f"{m['name']}{m['sep']}{MASK}", text)
    text = _BEARER_RE.sub(lambda m: f"{m.group(1)} {MASK}", text)
    return _USERINFO_RE.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", text)


def redact_url(url: str) -> str:
    """Mask the password in a URL's user part and the values of its secret query parameters."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return redact_text(url)
    netloc = parts.netloc
    secret_query = any(
        name.lower() in SECRET_PARAMS for name, _ in parse_qsl(parts.query, keep_blank_values=True)
    )
    if "@" not in netloc and not secret_query:
        return url
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:{MASK}@{host}" if ":" in userinfo else f"{user}@{host}"
    query = parts.query
    if secret_query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode(
            [(n, MASK if n.lower() in SECRET_PARAMS else v) for n, v in pairs], safe="*"
        )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redact_headers(headers: dict[str, str]) -> dict[str, str]:
    """Return a copy of `headers` with credential headers masked."""
    return {k: (MASK if k.lower() in SECRET_HEADERS else v) for k, v in headers.items()}


class RedactingFilter(logging.Filter):
    """A logging filter that masks configured secrets and credential patterns in every record."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact_text(message, self.secrets)
        if clean != message:
            record.msg = clean
            record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text, self.secrets)
        return True
