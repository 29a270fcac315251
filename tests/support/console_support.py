"""Helpers for console tests: a console user, a logged-in test client, the CSRF token of a page."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from httprouter.store.users import create_user

USERNAME = "operator"
PASSWORD = "correct horse battery"

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    """Return the CSRF token embedded in a console page."""
    found = _CSRF.search(html)
    assert found, "page has no CSRF token"
    return found.group(1)


def add_user(app: Flask, username: str = USERNAME, password: str = PASSWORD) -> Any:
    """Create a console user in the app's database."""
    return create_user(app.extensions["httprouter"].engine, username, password)


def log_in(client: FlaskClient, username: str = USERNAME, password: str = PASSWORD) -> Any:
    """Log `client` in through the login form; return the answer to the POST."""
    page = client.get("/router/console/login")
    return client.post(
        "/router/console/login",
        data={"username": username, "password": password, "csrf_token": csrf_of(page.text)},
    )


def token(client: FlaskClient, path: str = "/router/console/send") -> str:
    """Return the CSRF token of the logged-in session (read from a console page)."""
    return csrf_of(client.get(path).text)
