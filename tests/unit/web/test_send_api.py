"""/router/send: JSON API for applications; 201 with the created messages."""

from __future__ import annotations

import pytest

from httprouter.apps import AppBase


class VetoApp(AppBase):
    """Cancels every outgoing message whose text says so."""

    def outgoing(self, msg):
        return "block" not in msg.text


def test_send_creates_one_queued_message_per_recipient(client):
    r = client.post(
        "/router/send",
        json={"backend": "modem", "to": ["+250 788 111", "+250788222"], "text": "hello ✓"},
    )
    assert r.status_code == 201 and r.mimetype == "application/json"
    out = r.get_json()["messages"]
    assert [(m["contact"], m["status"], m["direction"], m["text"]) for m in out] == [
        ("+250788111", "Q", "O", "hello ✓"),
        ("+250788222", "Q", "O", "hello ✓"),
    ]
    outbox = client.get("/router/outbox").get_json()["outbox"]
    assert [m["id"] for m in outbox] == [m["id"] for m in out]


def test_to_may_be_a_single_string_and_priority_is_kept(client):
    r = client.post(
        "/router/send/", json={"backend": "modem", "to": "+250788111", "text": "x", "priority": 5}
    )
    assert r.status_code == 201
    [message] = r.get_json()["messages"]
    assert message["priority"] == 5


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"to": ["1"], "text": "x"}, "backend"),
        ({"backend": "", "to": ["1"], "text": "x"}, "backend"),
        ({"backend": "m", "text": "x"}, "to"),
        ({"backend": "m", "to": [], "text": "x"}, "to"),
        ({"backend": "m", "to": [1], "text": "x"}, "to"),
        ({"backend": "m", "to": ["1", " "], "text": "x"}, "to"),
        ({"backend": "m", "to": ["1"]}, "text"),
        ({"backend": "m", "to": ["1"], "text": ""}, "text"),
        ({"backend": "m", "to": ["1"], "text": 5}, "text"),
        ({"backend": "m", "to": ["1"], "text": "x", "priority": "high"}, "priority"),
        ({"backend": "m" * 101, "to": ["1"], "text": "x"}, "backend"),
    ],
)
def test_validation_errors_are_400_naming_the_field_and_store_nothing(client, body, field):
    r = client.post("/router/send", json=body)
    assert r.status_code == 400, r.get_json()
    assert r.get_json()["field"] == field
    assert client.get("/router/messages").get_json()["messages"] == []


def test_bad_json_is_400(client):
    r = client.post("/router/send", data="{nope", content_type="application/json")
    assert r.status_code == 400 and r.get_json()["field"] == "body"


def test_text_over_the_maximum_is_413(make_app):
    client = make_app(MAX_MESSAGE_LENGTH=20).test_client()
    r = client.post("/router/send", json={"backend": "m", "to": ["1"], "text": "x" * 21})
    assert r.status_code == 413 and r.get_json()["field"] == "text"
    ok = client.post("/router/send", json={"backend": "m", "to": ["1"], "text": "x" * 20})
    assert ok.status_code == 201


def test_get_is_not_allowed(client):
    assert client.get("/router/send").status_code == 405


def test_outgoing_hooks_run_and_a_veto_cancels(make_app):
    client = make_app(SMS_APPS=["tests.unit.web.test_send_api.VetoApp"]).test_client()
    r = client.post("/router/send", json={"backend": "m", "to": ["1", "2"], "text": "block me"})
    assert r.status_code == 201
    assert [m["status"] for m in r.get_json()["messages"]] == ["C", "C"]
    assert client.get("/router/outbox").get_json()["outbox"] == []


def test_password_required_when_set(make_app):
    client = make_app(ROUTER_PASSWORD="s3cret").test_client()
    body = {"backend": "m", "to": ["1"], "text": "x"}
    assert client.post("/router/send", json=body).status_code == 401
    assert client.post("/router/send", json={**body, "password": "nope"}).status_code == 403
    r = client.post("/router/send", json=body, headers={"Authorization": "Bearer s3cret"})
    assert r.status_code == 201


def test_form_post_with_repeated_to(client):
    r = client.post("/router/send", data={"backend": "m", "to": ["1", "2"], "text": "hi"})
    assert r.status_code == 201
    assert [m["contact"] for m in r.get_json()["messages"]] == ["1", "2"]
