"""Console sessions, login checks, CSRF tokens and the security headers of every console page.

The session is a signed cookie (HttpOnly, SameSite=Lax, Secure over HTTPS, path /router/console)
whose key is derived from the router's signing key, read lazily: the first console request may
be the first to touch the database. Other paths get no session at all.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from datetime import timedelta
from typing import Any

from flask import Flask, Request, current_app, g, redirect, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from werkzeug.wrappers import Response

from ...errors import AuthError
from .. import current_router

log = logging.getLogger(__name__)

PREFIX = "/router/console"
COOKIE_NAME = "httprouter_console"
SESSION_HOURS = 12
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}


def session_key(signing_key: bytes) -> str:
    """Derive the session-cookie key from the router's signing key."""
    return hmac.new(signing_key, b"console-session", hashlib.sha256).hexdigest()


def ensure_secret_key(app: Flask) -> None:
    """Set `app.secret_key` from the router's signing key (may read the database once)."""
    if not app.secret_key:
        app.secret_key = session_key(app.extensions["httprouter"].store.signing_key)


class ConsoleSessionInterface(SecureCookieSessionInterface):
    """Signed-cookie sessions for the console paths only."""

    def open_session(self, app: Flask, request: Request) -> Any:
        if not request.path.startswith(PREFIX):
            return None
        try:
            ensure_secret_key(app)
        except Exception:  # the database is down: the console's own check answers 503
            log.warning("cannot load the session key", exc_info=True)
            return None
        return super().open_session(app, request)

    def get_cookie_name(self, app: Flask) -> str:
        return COOKIE_NAME

    def get_cookie_path(self, app: Flask) -> str:
        return PREFIX

    def get_cookie_httponly(self, app: Flask) -> bool:
        return True

    def get_cookie_samesite(self, app: Flask) -> str:
        return "Lax"

    def get_cookie_secure(self, app: Flask) -> bool:
        return request.is_secure


def install_sessions(app: Flask) -> None:
    """Give the app console sessions that last SESSION_HOURS after the last request."""
    app.session_interface = ConsoleSessionInterface()
    app.permanent_session_lifetime = timedelta(hours=SESSION_HOURS)


def csrf_token() -> str:
    """The CSRF token of the current session (created on first use)."""
    token = session.get(CSRF_FIELD)
    if not token:
        token = secrets.token_urlsafe(32)
        session[CSRF_FIELD] = token
    return str(token)


def check_csrf() -> None:
    """Refuse a POST whose CSRF token is missing or not the session's."""
    if request.method != "POST":
        return
    supplied = request.form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER) or ""
    expected = session.get(CSRF_FIELD) or ""
    if not expected or not hmac.compare_digest(supplied.encode(), str(expected).encode()):
        raise AuthError(
            "CSRF token missing or wrong; reload the page", field=CSRF_FIELD, status_code=403
        )


def start_session(user_id: int, username: str) -> None:
    """Log a user in on a fresh session (a new CSRF token, nothing kept from before)."""
    session.clear()
    session.permanent = True
    session["user_id"] = user_id
    session["username"] = username
    csrf_token()


def require_login() -> Response | None:
    """Before-request hook: check CSRF, and send anonymous visitors to the login page."""
    from ...store.users import get_user

    ensure_secret_key(current_app)
    check_csrf()
    user_id = session.get("user_id")
    user = None
    if isinstance(user_id, int):
        with current_router().read() as conn:
            user = get_user(conn, user_id)
    if user is None:
        session.pop("user_id", None)
        target = request.full_path.rstrip("?") if request.method == "GET" else None
        return redirect(url_for("console_auth.login", next=target))
    g.console_user = user
    return None


def add_security_headers(response: Response) -> Response:
    """After-request hook: the CSP and friends; console pages are never cached."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if response.mimetype == "text/html":
        response.headers["Cache-Control"] = "no-store"
    return response


def safe_next(target: str | None) -> str:
    """Return `target` if it is a console path on this site, else the message log."""
    if target and target.startswith(PREFIX) and not target.startswith("//"):
        return target
    return url_for("console_log.index")
