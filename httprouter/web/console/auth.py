"""Console login and logout. With no user set up, the login page says how to create one."""

from __future__ import annotations

import math

from flask import current_app, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from ... import clock
from ...store.users import authenticate, has_users
from .. import current_router, route
from . import console_blueprint
from .security import check_csrf, ensure_secret_key, safe_next, start_session

bp = console_blueprint("console_auth", public=True)

MAX_FIELD_LENGTH = 1000


def _page(status: int = 200, **context: object) -> tuple[str, int]:
    router = current_router()
    with router.read() as conn:
        any_user = has_users(conn, current_app.config["CONSOLE_USERS"])
    context.setdefault("next", request.values.get("next", ""))
    return render_template("console/login.html", any_user=any_user, **context), status


@route(bp, "/login", methods=["GET", "POST"])
def login() -> Response | tuple[str, int]:
    ensure_secret_key(current_app)
    if request.method == "GET":
        if session.get("user_id"):
            return redirect(safe_next(request.args.get("next")))
        return _page()
    check_csrf()
    username = request.form.get("username", "")[:MAX_FIELD_LENGTH]
    password = request.form.get("password", "")[:MAX_FIELD_LENGTH]
    if not username or not password:
        return _page(400, error="Enter a username and a password.", username=username)
    result = authenticate(
        current_router().engine, username, password, current_app.config["CONSOLE_USERS"]
    )
    if result.user is None:
        if result.locked_until is not None:
            wait = math.ceil((result.locked_until - clock.now()).total_seconds())
            error = f"Too many failed logins: this account is locked for {max(wait, 1)} seconds."
            return _page(429, error=error, username=username)
        return _page(401, error="Wrong username or password.", username=username)
    start_session(result.user.id, result.user.username)
    return redirect(safe_next(request.form.get("next")))


@route(bp, "/logout", methods=["POST"])
def logout() -> Response:
    ensure_secret_key(current_app)
    check_csrf()
    session.clear()
    return redirect(url_for("console_auth.login"))
