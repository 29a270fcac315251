"""With ROUTER_PASSWORD set, every endpoint that reads or changes messages refuses a caller
without it, and stores or reveals nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from httprouter.store.schema import messages

PASSWORD = "router-Secret-1"

ENDPOINTS = [
    ("GET", "/router/receive?backend=k&sender=1&message=x", None),
    ("POST", "/router/receive", {"data": {"backend": "k", "sender": "1", "message": "x"}}),
    ("GET", "/router/outbox", None),
    ("GET", "/router/delivered?message_id=2", None),
    ("POST", "/router/delivered", {"json": [{"message_id": 2, "status": "delivered"}]}),
    ("POST", "/router/send", {"json": {"backend": "k", "to": ["+1"], "text": "x"}}),
    ("POST", "/router/alert", {"data": {"subject": "[k] low battery", "body": "x"}}),
    ("GET", "/router/messages", None),
    ("GET", "/router/messages/1", None),
    ("GET", "/router/status?format=json", None),
    ("GET", "/metrics", None),
]


@pytest.fixture
def secured(make_app):
    app = make_app(ROUTER_PASSWORD=PASSWORD, AUTH_FAILURE_LIMIT=0)
    app.extensions["httprouter"].receive("ping", ("k", "+1"))  # message 1 and its reply, 2
    return app


def count(app):
    with app.extensions["httprouter"].read() as conn:
        return conn.execute(select(func.count()).select_from(messages)).scalar()


@pytest.mark.parametrize(
    ("method", "path", "body"), ENDPOINTS, ids=[f"{m} {p}" for m, p, _ in ENDPOINTS]
)
def test_endpoint_requires_the_password(secured, method, path, body):
    client = secured.test_client()
    before = count(secured)
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        r = client.open(path, method=method, headers=headers, **(body or {}))
        assert r.status_code in (401, 403), (path, r.status_code)
        assert r.get_json()["field"] == "password"
        assert "+1" not in r.get_data(as_text=True)  # nothing about messages leaks
    assert count(secured) == before
    ok = client.open(
        path, method=method, headers={"Authorization": f"Bearer {PASSWORD}"}, **(body or {})
    )
    assert ok.status_code < 400, (path, ok.status_code, ok.get_data(as_text=True)[:200])


def test_console_requires_a_login(secured):
    client = secured.test_client()
    r = client.get("/router/console")
    assert r.status_code in (302, 303, 401)
    assert "+1" not in r.get_data(as_text=True)


def test_legacy_status_text_stays_public(secured):
    r = secured.test_client().get("/router/status")
    assert r.status_code == 200 and "STATUS:" in r.get_data(as_text=True)
