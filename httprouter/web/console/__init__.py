"""The operators' web console at /router/console: one small blueprint per page.

Every console page requires a logged-in console user (except the login page itself), checks a
CSRF token on every POST, and carries a strict Content-Security-Policy (no inline script).
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

from flask import Blueprint, Flask, current_app, request

from ...domain.statuses import STATUS_NAMES
from ...errors import TooLongError, ValidationError
from .security import PREFIX, add_security_headers, csrf_token, install_sessions, require_login

# The console's templates and static files live beside its views.
STATIC_FOLDER = os.path.join(os.path.dirname(__file__), "static")
TEMPLATE_FOLDER = os.path.join(os.path.dirname(__file__), "templates")


def console_blueprint(name: str, *, public: bool = False) -> Blueprint:
    """Create a console blueprint under /router/console; `public` skips the login check."""
    bp = Blueprint(name, __name__, url_prefix=PREFIX, template_folder=TEMPLATE_FOLDER)
    if not public:
        bp.before_request(require_login)
    bp.after_request(add_security_headers)
    return bp


def format_time(value: datetime | None) -> str:
    """Show a timestamp as `YYYY-MM-DD HH:MM:SS` UTC (empty for None)."""
    return value.strftime("%Y-%m-%d %H:%M:%S") if value is not None else ""


def status_name(letter: Any) -> str:
    """Return the full name of a status letter."""
    return STATUS_NAMES.get(letter, str(letter))


def form_text(name: str = "text") -> str:
    """Return a message text from the posted form: required, at most MAX_MESSAGE_LENGTH."""
    text = request.form.get(name, "")
    if not text.strip():
        raise ValidationError(f"{name} is required", field=name)
    limit = current_app.config["MAX_MESSAGE_LENGTH"]
    if len(text) > limit:
        raise TooLongError(f"{name} is longer than {limit} characters", field=name)
    return text


def init_app(app: Flask) -> None:
    """Register the console's blueprints, sessions and template helpers."""
    from . import auth, detail, log, queues, send, simulator

    install_sessions(app)
    static = Blueprint(
        "console_static",
        __name__,
        static_folder=STATIC_FOLDER,
        static_url_path=PREFIX + "/static",
    )
    static.after_request(add_security_headers)
    app.register_blueprint(static)
    for module in (auth, log, detail, simulator, send, queues):
        app.register_blueprint(module.bp)
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.jinja_env.filters["time"] = format_time
    app.jinja_env.filters["status_name"] = status_name
