"""POST /router/alert: a gateway's report of its own trouble is stored, with its credentials
masked, and shown on the console's queues page; without the password nothing is stored."""

from __future__ import annotations

from sqlalchemy import func, select

from httprouter.store.alerts import MAX_BODY
from httprouter.store.schema import alerts

from ...support.console_support import add_user, log_in


def _count(app):
    with app.extensions["httprouter"].read() as conn:
        return conn.execute(select(func.count()).select_from(alerts)).scalar_one()


def _app(make_app):
    return make_app(ROUTER_PASSWORD="router-pw", BACKENDS={"android": {"password": "p1"}})


def test_the_backends_own_password_opens_it_when_the_subject_names_the_backend(make_app):
    app = _app(make_app)
    client = app.test_client()
    answer = client.post(
        "/router/alert", data={"password": "p1", "subject": "[android] low battery", "body": "x"}
    )
    assert answer.status_code == 200, answer.get_data()
    assert answer.get_json()["alert"]["backend"] == "android"
    refused = client.post("/router/alert", data={"password": "p1", "subject": "no backend named"})
    assert refused.status_code == 403
    assert _count(app) == 1


def test_no_or_a_wrong_password_stores_nothing(make_app):
    app = _app(make_app)
    client = app.test_client()
    for password in (None, "nope"):
        data = {"subject": "[android] x", "body": "y"}
        if password:
            data["password"] = password
        answer = client.post("/router/alert", data=data)
        assert answer.status_code in (401, 403)
        assert answer.get_json()["field"] == "password"
    assert _count(app) == 0


def test_credentials_are_masked_and_a_huge_body_is_cut(make_app):
    app = _app(make_app)
    body = "Password:router-pw\nurl http://h/router/outbox?password=router-pw\n" + "é" * MAX_BODY
    answer = app.test_client().post(
        "/router/alert",
        json={"subject": "[android] errors", "body": body},
        headers={"Authorization": "Bearer router-pw"},
    )
    stored = answer.get_json()["alert"]
    assert "router-pw" not in stored["body"]
    assert stored["body"].startswith("Password:***\nurl http://h/router/outbox?password=***")
    assert len(stored["body"]) == MAX_BODY and stored["body"].endswith("…")


def test_no_subject_is_400(make_app):
    answer = (
        _app(make_app)
        .test_client()
        .post("/router/alert", data={"password": "router-pw", "body": "x"})
    )
    assert (answer.status_code, answer.get_json()["field"]) == (400, "subject")


def test_the_queues_page_shows_the_newest_alerts_and_escapes_them(make_app):
    app = _app(make_app)
    client = app.test_client()
    for n in range(3):
        client.post(
            "/router/alert",
            data={"password": "p1", "subject": f"[android] alert {n} <b>", "body": f"body {n}"},
        )
    add_user(app)
    log_in(client)
    page = client.get("/router/console/queues").get_data(as_text=True)
    assert page.index("alert 2") < page.index("alert 1") < page.index("alert 0")
    assert "<b>" not in page and "&lt;b&gt;" in page
    assert "body 2" in page
