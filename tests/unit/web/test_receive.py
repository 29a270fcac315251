"""/router/receive: the legacy contract, its fixes, and what gateways send."""

from __future__ import annotations

from urllib.parse import quote, quote_plus

import pytest
from sqlalchemy import func, select

from httprouter.store.schema import messages, status_changes

LEGACY_KEYS = {"id", "contact", "backend", "direction", "status", "text", "date"}


def count(router, *where):
    with router.read() as conn:
        return conn.execute(select(func.count()).select_from(messages).where(*where)).scalar()


def test_get_returns_legacy_answer_with_reply(client):
    r = client.get("/router/receive?backend=console&sender=%2B15551234&message=ping")
    assert r.status_code == 200
    assert r.mimetype == "application/json"
    body = r.get_json()
    assert body["status"] == "Message handled."
    assert set(body["message"]) >= LEGACY_KEYS
    assert body["message"]["direction"] == "I" and body["message"]["status"] == "H"
    assert body["message"]["contact"] == "+15551234"
    assert [(m["direction"], m["status"], m["text"]) for m in body["responses"]] == [
        ("O", "Q", "pong")
    ]
    assert body["responses"][0]["in_response_to"] == body["message"]["id"]
    assert body["message"]["date"].endswith("+00:00")


@pytest.mark.parametrize("path", ["/router/receive", "/router/receive/"])
def test_trailing_slash_and_post_form(client, path):
    r = client.post(path, data={"backend": "console", "sender": "123", "message": "hello"})
    assert r.status_code == 200
    assert r.get_json()["message"]["text"] == "hello"


def test_post_json_body(client):
    r = client.post(
        "/router/receive", json={"backend": "console", "sender": "123", "message": "hi there"}
    )
    assert r.status_code == 200
    assert r.get_json()["responses"][0]["text"] == "hi there"


def test_garbage_suffix_is_not_the_receive_endpoint(client):
    assert client.get("/router/receivexyz?backend=a&sender=1").status_code == 404


@pytest.mark.parametrize("missing", ["backend", "sender"])
def test_missing_required_field_is_400_naming_it_and_stores_nothing(client, router, missing):
    params = {"backend": "console", "sender": "123", "message": "x"}
    del params[missing]
    r = client.get("/router/receive", query_string=params)
    assert r.status_code == 400
    assert r.get_json()["field"] == missing
    assert missing in r.get_json()["error"]
    assert count(router) == 0


def test_empty_message_is_allowed(client):
    r = client.get("/router/receive?backend=console&sender=123&message=")
    assert r.status_code == 200
    assert r.get_json()["message"]["text"] == ""
    r = client.get("/router/receive?backend=console&sender=123")
    assert r.get_json()["message"]["text"] == ""


def test_no_160_character_cap(client):
    text = "a" * 1600
    r = client.post("/router/receive", data={"backend": "console", "sender": "1", "message": text})
    assert r.status_code == 200
    assert r.get_json()["message"]["text"] == text


def test_over_max_length_is_413_and_stores_nothing(make_app):
    app = make_app(MAX_MESSAGE_LENGTH=20)
    client = app.test_client()
    r = client.post(
        "/router/receive", data={"backend": "console", "sender": "1", "message": "x" * 21}
    )
    assert r.status_code == 413
    assert r.get_json()["field"] == "message"
    assert count(app.extensions["httprouter"]) == 0
    assert (
        client.post(
            "/router/receive", data={"backend": "c", "sender": "1", "message": "x" * 20}
        ).status_code
        == 200
    )


def test_default_max_length_is_10000(client):
    ok = client.post(
        "/router/receive", data={"backend": "c", "sender": "1", "message": "x" * 10_000}
    )
    too_long = client.post(
        "/router/receive", data={"backend": "c", "sender": "1", "message": "x" * 10_001}
    )
    assert (ok.status_code, too_long.status_code) == (200, 413)


@pytest.mark.parametrize(
    "text",
    [
        "hi & bye +5% café €",
        "a=b&c=d",
        "100% + 50%",
        "Habari yako? ñ €",
        "😀 emoji 👍🏽",
        "line1\nline2",
    ],
)
def test_utf8_and_reserved_characters_round_trip_exactly(client, router, text):
    url = f"/router/receive?backend=console&sender=123&message={quote_plus(text)}"
    body = client.get(url).get_json()
    assert body["message"]["text"] == text
    assert body["responses"][0]["text"] == text
    assert router.read_message(body["message"]["id"]).text == text


def test_ucs2_raw_bytes_are_decoded_with_default_utf16be(client):
    text = "Habari 😀 ñ"
    raw = quote(text.encode("utf-16-be"), safe="")
    r = client.get(f"/router/receive?backend=k&sender=1&coding=2&message={raw}")
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["message"]["text"] == text


def test_ucs2_with_explicit_charset_and_plus_for_space(client):
    raw = quote_plus("a b".encode("utf-16-be"))
    r = client.get(f"/router/receive?backend=k&sender=1&coding=2&charset=UTF-16BE&message={raw}")
    assert r.get_json()["message"]["text"] == "a b"


def test_ucs2_in_post_form_body(client):
    text = "Привет"
    body = "backend=k&sender=1&coding=2&message=" + quote(text.encode("utf-16-be"), safe="")
    r = client.post("/router/receive", data=body, content_type="application/x-www-form-urlencoded")
    assert r.get_json()["message"]["text"] == text


def test_unknown_charset_is_400_naming_charset(client):
    r = client.get("/router/receive?backend=k&sender=1&charset=klingon&message=a")
    assert r.status_code == 400 and r.get_json()["field"] == "charset"


def test_undecodable_ucs2_is_400_naming_message(client):
    r = client.get("/router/receive?backend=k&sender=1&coding=2&message=%00")
    assert r.status_code == 400 and r.get_json()["field"] == "message"


def test_unknown_parameters_are_ignored_and_to_is_kept(client):
    r = client.get("/router/receive?backend=k&sender=1&message=a&to=5555&ts=123&smsc=x")
    assert r.status_code == 200


def test_gateway_retry_with_same_id_is_answered_once(client, router):
    url = "/router/receive?backend=kannel&sender=1&message=ping&id=abc-123"
    first = client.get(url).get_json()
    second = client.get(url).get_json()
    assert second == first
    assert count(router) == 2  # one inbound, one reply
    other = client.get("/router/receive?backend=other&sender=1&message=ping&id=abc-123").get_json()
    assert other["message"]["id"] != first["message"]["id"]


def test_retry_does_not_run_apps_again(make_app):
    from tests.support.apps import CountingApp

    app = make_app(SMS_APPS=["tests.support.apps.CountingApp"])
    client = app.test_client()
    CountingApp.calls = 0
    for _ in range(3):
        assert client.get("/router/receive?backend=k&sender=1&message=x&id=7").status_code == 200
    assert CountingApp.calls == 1


def test_history_records_received_and_handled(client, router):
    body = client.get("/router/receive?backend=console&sender=1&message=ping").get_json()
    with router.read() as conn:
        rows = conn.execute(
            select(
                status_changes.c.message_id,
                status_changes.c.old_status,
                status_changes.c.new_status,
                status_changes.c.cause,
            ).order_by(status_changes.c.id)
        ).all()
    inbound, reply = body["message"]["id"], body["responses"][0]["id"]
    assert [tuple(r) for r in rows] == [
        (inbound, None, "R", "received"),
        (inbound, "R", "H", "apps"),
        (reply, None, "P", "created"),
        (reply, "P", "Q", "queued"),
    ]


def test_silent_mode_answers_empty_unless_echo(make_app):
    client = make_app(ROUTER_SILENT=True).test_client()
    base = "/router/receive?backend=k&sender=1&message=ping"
    for echo in ("", "&echo=False", "&echo=false", "&echo=0", "&echo="):
        r = client.get(base + echo)
        assert (r.status_code, r.data) == (200, b""), echo
    for echo in ("&echo=True", "&echo=1", "&echo=yes"):
        assert client.get(base + echo).get_json()["status"] == "Message handled."


def test_identity_normalizer_legacy(make_app):
    client = make_app(IDENTITY_NORMALIZER="legacy").test_client()
    r = client.get("/router/receive?backend=k&sender=%2B1+(206)+555-1212&message=a")
    assert r.get_json()["message"]["contact"] == "12065551212"


def test_identity_normalizer_none_keeps_sender(make_app):
    client = make_app(IDENTITY_NORMALIZER="none").test_client()
    r = client.get("/router/receive?backend=k&sender=%2B1+206&message=a")
    assert r.get_json()["message"]["contact"] == "+1 206"


def test_same_sender_reuses_one_connection(client, router):
    from httprouter.store.schema import connections

    client.get("/router/receive?backend=k&sender=%2B250788383383&message=a")
    client.get("/router/receive?backend=k&sender=%2B250-7883-83383&message=b")
    with router.read() as conn:
        assert conn.execute(select(func.count()).select_from(connections)).scalar() == 1


def test_json_body_with_wrong_types_is_400(client):
    r = client.post("/router/receive", json={"backend": ["x"], "sender": "1"})
    assert r.status_code == 400 and r.get_json()["field"] == "backend"
    r = client.post("/router/receive", json=["not", "an", "object"])
    assert r.status_code == 400 and r.get_json()["field"] == "body"


def test_method_not_allowed_is_json(client):
    r = client.delete("/router/receive")
    assert r.status_code == 405 and "error" in r.get_json()
