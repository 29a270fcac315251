"""Fixtures: every database test runs on SQLite and on PostgreSQL.

`db_url` is parametrised over both; `make_app(**settings)` builds an app on it; `app`, `client`
and `router` are the defaults with the echo app. Outbound HTTP is only allowed to loopback.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from httprouter import create_app
from httprouter.router import Router

from .support.dbs import PG_ENV, PostgresDatabase, SqliteTemplate, pg_admin_url
from .support.gateway import Gateway

ECHO = "httprouter.apps.echo.EchoApp"

_real_connect = socket.socket.connect


def _loopback_only(sock: socket.socket, address: Any) -> Any:
    if isinstance(address, tuple):
        host = address[0]
        if not (host.startswith("127.") or host in ("localhost", "::1")):
            raise AssertionError(f"test tried to reach {host}: only loopback is allowed")
    return _real_connect(sock, address)


@pytest.fixture(autouse=True, scope="session")
def _network_guard() -> Iterator[None]:
    socket.socket.connect = _loopback_only  # type: ignore[method-assign]
    yield
    socket.socket.connect = _real_connect  # type: ignore[method-assign]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> SqliteTemplate:
    return SqliteTemplate(tmp_path_factory.mktemp("sqlite-template"))


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresDatabase | None]:
    url = pg_admin_url()
    if url is None:
        if os.environ.get("CI"):
            raise RuntimeError(f"CI must set {PG_ENV}: PostgreSQL tests are not optional there")
        yield None
        return
    database = PostgresDatabase(url)
    yield database
    database.drop()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(
    request: pytest.FixtureRequest,
    tmp_path: Any,
    sqlite_template: SqliteTemplate,
    postgres: PostgresDatabase | None,
) -> str:
    if request.param == "sqlite":
        return sqlite_template.copy_to(tmp_path)
    if postgres is None:
        pytest.skip(f"{PG_ENV} is not set (PostgreSQL is optional locally; CI always runs it)")
    postgres.reset()
    return postgres.url


@pytest.fixture
def make_app(db_url: str) -> Iterator[Callable[..., Flask]]:
    made: list[Flask] = []

    def factory(**settings: Any) -> Flask:
        settings.setdefault("SMS_APPS", [ECHO])
        settings.setdefault("DATABASE_URL", db_url)
        app = create_app(settings)
        app.config["TESTING"] = True
        made.append(app)
        return app

    yield factory
    for app in made:
        app.extensions["httprouter"].engine.dispose()


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def router(app: Flask) -> Router:
    return app.extensions["httprouter"]


@pytest.fixture
def gateway() -> Iterator[Callable[..., Gateway]]:
    """Start scripted loopback gateways (tests/support/gateway.py); all are closed after the test."""
    made: list[Gateway] = []

    def start(script: Any = None, default: Any = None) -> Gateway:
        gw = Gateway(script, default)
        made.append(gw)
        return gw

    yield start
    for gw in made:
        gw.close()
