"""Logs: one JSON object per line with request id, backend, message id and event; no secrets."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pytest
import requests

from httprouter.apps import AppBase
from httprouter.logsetup import configure_logging
from tests.support.servers import ServedRouter

ECHO = "httprouter.apps.echo.EchoApp"


class LeakyApp(AppBase):
    """Raises with the message text in the exception, as careless app code does."""

    def handle(self, msg):
        raise RuntimeError(f"cannot parse {msg.text!r}")


@pytest.fixture
def log_lines():
    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level
    configure_logging("INFO", "json", stream)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    for handler in list(root.handlers):
        if getattr(handler, "_httprouter", False):
            root.removeHandler(handler)
    root.setLevel(level)


def test_request_id_is_accepted_returned_and_logged(make_app, log_lines):
    client = make_app().test_client()
    r = client.get("/healthz", headers={"X-Request-ID": "req-abc-123"})
    assert r.headers["X-Request-ID"] == "req-abc-123"
    generated = client.get("/healthz").headers["X-Request-ID"]
    assert len(generated) == 32
    lines = [line for line in log_lines() if line["event"] == "request"]
    assert [line["request_id"] for line in lines] == ["req-abc-123", generated]
    for line in lines:
        assert set(line) >= {
            "time",
            "level",
            "logger",
            "message",
            "event",
            "request_id",
            "backend",
            "message_id",
        }
        assert line["level"] == "INFO"
        assert line["time"].endswith("+00:00")


def test_app_error_line_names_request_backend_and_message(make_app, log_lines):
    client = make_app(SMS_APPS=["tests.unit.test_logging.LeakyApp"]).test_client()
    r = client.get(
        "/router/receive?backend=logs-kannel&sender=%2B1555&message=hi",
        headers={"X-Request-ID": "req-app-error"},
    )
    assert r.status_code == 200
    message_id = r.get_json()["message"]["id"]
    errors = [line for line in log_lines() if line["event"] == "app_error"]
    assert len(errors) == 1
    error = errors[0]
    assert error["level"] == "ERROR"
    assert error["request_id"] == "req-app-error"
    assert error["backend"] == "logs-kannel"
    assert error["message_id"] == message_id
    assert "RuntimeError" in error["exception"]
    access = [line for line in log_lines() if line["event"] == "request"][-1]
    assert access["backend"] == "logs-kannel"
    assert access["request_id"] == "req-app-error"


def test_no_configured_secret_reaches_the_logs_of_a_full_run(tmp_path, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).resolve().parents[2]))  # for LeakyApp
    secrets = {
        "router": "rtr-Pa55word-913",
        "backend": "kannel-Pa55-427",
        "key": "signing-Key-Value-5521",
    }
    settings = {
        "SMS_APPS": ["tests.unit.test_logging.LeakyApp", ECHO],
        "ROUTER_PASSWORD": secrets["router"],
        "SECRET_KEY": secrets["key"],
        "BACKENDS": {"kannel": {"password": secrets["backend"]}},
        "LOG_LEVEL": "DEBUG",
    }
    server = ServedRouter(tmp_path, settings)
    try:
        url = server.url
        calls = [
            # the password in the query string, as Kannel sends it
            (
                "get",
                "/router/receive",
                {
                    "params": {
                        "backend": "kannel",
                        "sender": "+1",
                        "message": "a",
                        "password": secrets["router"],
                    }
                },
            ),
            (
                "get",
                "/router/receive",
                {
                    "params": {
                        "backend": "kannel",
                        "sender": "+1",
                        "message": "b",
                        "password": secrets["backend"],
                    }
                },
            ),
            # in a form body and in a header
            (
                "post",
                "/router/receive",
                {
                    "data": {
                        "backend": "kannel",
                        "sender": "+1",
                        "message": "c",
                        "password": secrets["router"],
                    }
                },
            ),
            (
                "get",
                "/router/receive",
                {
                    "params": {"backend": "x", "sender": "+2", "message": "d"},
                    "headers": {"Authorization": f"Bearer {secrets['router']}"},
                },
            ),
            # a sender who texts the password, which the app puts in its exception
            (
                "get",
                "/router/receive",
                {
                    "params": {
                        "backend": "kannel",
                        "sender": "+3",
                        "message": f"pw {secrets['backend']}",
                        "password": secrets["router"],
                    }
                },
            ),
            # wrong and missing passwords, a bad parameter, metrics, health
            (
                "get",
                "/router/receive",
                {
                    "params": {
                        "backend": "kannel",
                        "sender": "+1",
                        "password": secrets["router"] + "x",
                    }
                },
            ),
            ("get", "/router/receive", {"params": {"backend": "kannel"}}),
            ("get", "/metrics", {"params": {"password": secrets["router"]}}),
            ("get", "/readyz", {}),
        ]
        codes = [
            getattr(requests, method)(url + path, timeout=30, **kwargs).status_code
            for method, path, kwargs in calls
        ]
    finally:
        server.stop()
    assert codes == [200, 200, 200, 200, 200, 403, 400, 200, 200]
    output = server.output()
    assert "app_error" in output and "RuntimeError" in output  # the error was logged...
    for name, secret in secrets.items():
        assert secret not in output, f"the {name} secret is in the logs"  # ...without secrets
    lines = [json.loads(line) for line in output.splitlines()]  # every line is one JSON object
    assert {"start", "request", "app_error"} <= {line["event"] for line in lines}
