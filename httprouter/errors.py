"""Exceptions raised by httprouter.

    HttpRouterError
    ├── ConfigError            a bad setting, plugin path or option (names the key)
    ├── ValidationError        bad input from a client (names the field; HTTP 400)
    │   └── TooLongError       text over MAX_MESSAGE_LENGTH (HTTP 413)
    ├── AuthError              missing (401) or wrong (403) credential
    ├── NotFoundError          an id that does not exist (HTTP 404)
    ├── ConflictError          a request that does not fit the message's state (HTTP 409)
    └── StorageUnavailable     the database cannot be reached (HTTP 503, retry later)

Every one carries the HTTP status it maps to, so the web layer turns any of them into one JSON
shape: ``{"error": "...", "field": "..."}``.
"""

from __future__ import annotations

from typing import Any


class HttpRouterError(Exception):
    """Base of every error the service raises on purpose."""

    status_code = 500

    def __init__(self, message: str, *, field: str | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.extra = extra

    def to_json(self) -> dict[str, Any]:
        """Return the JSON body the web layer sends for this error."""
        body: dict[str, Any] = {"error": self.message}
        if self.field is not None:
            body["field"] = self.field
        body.update(self.extra)
        return body


class ConfigError(HttpRouterError):
    """A configuration key, value or plugin path is wrong."""


class ValidationError(HttpRouterError):
    """A client sent a missing or malformed field."""

    status_code = 400


class TooLongError(ValidationError):
    """A text is longer than MAX_MESSAGE_LENGTH."""

    status_code = 413


class AuthError(HttpRouterError):
    """A credential is missing (401) or wrong (403)."""

    def __init__(self, message: str, *, status_code: int = 401, **extra: Any) -> None:
        super().__init__(message, **extra)
        self.status_code = status_code


class NotFoundError(HttpRouterError):
    """The object asked for does not exist."""

    status_code = 404


class ConflictError(HttpRouterError):
    """The request does not fit the state of the object."""

    status_code = 409


class StorageUnavailable(HttpRouterError):
    """The database could not be reached or could not store the data."""

    status_code = 503
