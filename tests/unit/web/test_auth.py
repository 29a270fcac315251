"""ROUTER_PASSWORD: parameter or bearer header, constant-time, never logged."""

from __future__ import annotations

import io
import logging

import pytest
from sqlalchemy import func, select

from httprouter.auth import check_password
from httprouter.errors import AuthError
from httprouter.store.schema import messages

PASSWORD = "s3cr3t-Pa55"


@pytest.fixture
def secured(make_app):
    return make_app(ROUTER_PASSWORD=PASSWORD, BACKENDS={"modem": {"password": "modem-only-key"}})


def stored(app):
    with app.extensions["httprouter"].read() as conn:
        return conn.execute(select(func.count()).select_from(messages)).scalar()


def test_missing_password_is_401_and_stores_nothing(secured):
    r = secured.test_client().get("/router/receive?backend=k&sender=1&message=x")
    assert r.status_code == 401
    assert r.get_json()["field"] == "password"
    assert stored(secured) == 0


def test_wrong_password_is_403_and_stores_nothing(secured):
    r = secured.test_client().get(
        f"/router/receive?backend=k&sender=1&message=x&password={PASSWORD}x"
    )
    assert r.status_code == 403
    assert stored(secured) == 0


def test_password_parameter_or_bearer_header(secured):
    client = secured.test_client()
    assert (
        client.get(f"/router/receive?backend=k&sender=1&message=x&password={PASSWORD}").status_code
        == 200
    )
    r = client.get(
        "/router/receive?backend=k&sender=1&message=x",
        headers={"Authorization": f"Bearer {PASSWORD}"},
    )
    assert r.status_code == 200
    r = client.post("/router/receive", data={"backend": "k", "sender": "1", "password": PASSWORD})
    assert r.status_code == 200
    assert stored(secured) == 6


def test_backend_password_opens_only_its_backend(secured):
    client = secured.test_client()
    ok = client.get("/router/receive?backend=modem&sender=1&message=x&password=modem-only-key")
    other = client.get("/router/receive?backend=kannel&sender=1&message=x&password=modem-only-key")
    assert (ok.status_code, other.status_code) == (200, 403)


def test_no_password_configured_is_open(client):
    assert client.get("/router/receive?backend=k&sender=1&message=x").status_code == 200


def test_check_password_unit():
    check_password(None, [])
    check_password("a", ["b", "a"])
    with pytest.raises(AuthError) as exc:
        check_password("", ["a"])
    assert exc.value.status_code == 401
    with pytest.raises(AuthError) as exc:
        check_password("ab", ["a"])
    assert exc.value.status_code == 403


def test_password_never_reaches_the_logs(secured, caplog):
    from httprouter.logsetup import JsonFormatter

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    caplog.set_level(logging.DEBUG)
    try:
        client = secured.test_client()
        client.get(f"/router/receive?backend=k&sender=1&message=x&password={PASSWORD}")
        client.get(f"/router/receive?backend=k&sender=1&message=x&password={PASSWORD}wrong")
        client.get(
            "/router/receive?backend=k&sender=1", headers={"Authorization": f"Bearer {PASSWORD}"}
        )
        logging.getLogger("anything").warning("oops %s", PASSWORD)
        logging.getLogger("anything").info("calling http://gw/send?user=x&pass=modem-only-key")
    finally:
        root.removeHandler(handler)
    output = stream.getvalue() + caplog.text
    assert "/router/receive" in output  # the requests were logged...
    assert PASSWORD not in output  # ...without the password
    assert "modem-only-key" not in output
    assert "password=***" in output


def test_redaction_of_a_huge_line_is_linear_and_correct():
    from httprouter.redact import redact_text

    line = "GET /router/receive?message=" + "x" * 1_000_000 + "&password=hunter2 http://u:pw@h/"
    clean = redact_text(line)
    assert "hunter2" not in clean and ":pw@" not in clean
    assert clean.endswith("password=*** http://u:***@h/")
