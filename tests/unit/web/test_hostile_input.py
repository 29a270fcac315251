"""Hostile and malformed requests get a clear 4xx or a correct 200 — never a 5xx, never damage."""

from __future__ import annotations

from urllib.parse import quote, quote_plus

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from httprouter.store.schema import messages

BIG = "x" * 1_000_000

HOSTILE = [
    # (label, method, path/query, body kwargs, expected statuses, field named)
    (
        "invalid utf-8 in message",
        "GET",
        "?backend=k&sender=1&message=%FF%FEabc",
        {},
        {400},
        "message",
    ),
    ("bad percent-encoding", "GET", "?backend=k&sender=1&message=%ZZ%", {}, {200}, None),
    ("NUL in message", "GET", "?backend=k&sender=1&message=a%00b", {}, {400}, "message"),
    ("NUL in sender", "GET", "?backend=k&sender=1%002&message=a", {}, {400}, "sender"),
    ("NUL in backend", "GET", "?backend=k%00&sender=1&message=a", {}, {400}, "backend"),
    ("1 MB message in query", "GET", "?backend=k&sender=1&message=" + BIG, {}, {413}, "message"),
    (
        "1 MB form body",
        "POST",
        "",
        {"data": {"backend": "k", "sender": "1", "message": BIG}},
        {413},
        "message",
    ),
    (
        "3 MB body",
        "POST",
        "",
        {"data": {"backend": "k", "sender": "1", "message": "x" * 3_000_000}},
        {413},
        None,
    ),
    (
        "deeply nested JSON",
        "POST",
        "",
        {"data": "[" * 100_000 + "]" * 100_000, "content_type": "application/json"},
        {400},
        "body",
    ),
    ("JSON not an object", "POST", "", {"json": "just a string"}, {400}, "body"),
    ("JSON list", "POST", "", {"json": [1, 2]}, {400}, "body"),
    (
        "broken JSON",
        "POST",
        "",
        {"data": "{not json", "content_type": "application/json"},
        {400},
        "body",
    ),
    (
        "sender is an object",
        "POST",
        "",
        {"json": {"backend": "k", "sender": {"a": 1}}},
        {400},
        "sender",
    ),
    (
        "message is a list",
        "POST",
        "",
        {"json": {"backend": "k", "sender": "1", "message": ["a"]}},
        {400},
        "message",
    ),
    ("backend is a bool", "POST", "", {"json": {"backend": True, "sender": "1"}}, {400}, "backend"),
    (
        "id is a float",
        "POST",
        "",
        {"json": {"backend": "k", "sender": "1", "id": 1.5}},
        {400},
        "id",
    ),
    ("very long backend", "GET", "?backend=" + "b" * 5000 + "&sender=1", {}, {400}, "backend"),
    ("very long sender", "GET", "?backend=k&sender=" + "1" * 5000, {}, {400}, "sender"),
    ("very long id", "GET", "?backend=k&sender=1&id=" + "i" * 5000, {}, {400}, "id"),
    ("empty sender", "GET", "?backend=k&sender=&message=a", {}, {400}, "sender"),
    ("whitespace sender", "GET", "?backend=k&sender=+++&message=a", {}, {400}, "sender"),
    (
        "SQL injection",
        "GET",
        "?backend=k&sender=1&message=" + quote("'; DROP TABLE messages; --"),
        {},
        {200},
        None,
    ),
    (
        "SQL injection in backend",
        "GET",
        "?backend=" + quote("k' OR '1'='1") + "&sender=1",
        {},
        {200},
        None,
    ),
    (
        "CRLF in message",
        "GET",
        "?backend=k&sender=1&message=a%0d%0aX-Injected:%20yes",
        {},
        {200},
        None,
    ),
    ("repeated parameters", "GET", "?backend=k&backend=j&sender=1&sender=2", {}, {200}, None),
    ("limit garbage on receive", "GET", "?backend=k&sender=1&limit=abc", {}, {200}, None),
    ("unknown charset", "GET", "?backend=k&sender=1&charset=%00&message=a", {}, {400}, "charset"),
]


@pytest.mark.parametrize(
    ("label", "method", "query", "body", "expected", "field"), HOSTILE, ids=[h[0] for h in HOSTILE]
)
def test_hostile_request(client, router, label, method, query, body, expected, field):
    r = client.open(
        "/router/receive", method=method, environ_overrides={"QUERY_STRING": query[1:]}, **body
    )
    assert r.status_code in expected, (label, r.status_code, r.get_data(as_text=True)[:200])
    assert r.mimetype == "application/json"
    if r.status_code >= 400:
        assert r.get_json()["error"]
        if field:
            assert r.get_json().get("field") == field
        with router.read() as conn:
            assert conn.execute(select(func.count()).select_from(messages)).scalar() == 0


def test_stored_text_is_exactly_what_was_sent_for_injection_strings(client):
    for text in [
        "'; DROP TABLE messages; --",
        "a\r\nX-Injected: yes",
        "&to=+999&text=pwned",
        "%0d%0a",
    ]:
        body = client.get(
            "/router/receive?backend=k&sender=1&message=" + quote_plus(text)
        ).get_json()
        assert body["message"]["text"] == text


# Any text a phone can send (no NUL, no lone surrogates) round-trips exactly, by GET and by POST.
phone_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=300
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=phone_text, sender=st.from_regex(r"\+?[0-9]{3,15}", fullmatch=True))
def test_any_text_round_trips(client, text, sender):
    r = client.get(
        f"/router/receive?backend=k&sender={quote_plus(sender)}&message={quote_plus(text)}"
    )
    assert r.status_code == 200
    assert r.get_json()["message"]["text"] == text
    r = client.post("/router/receive", data={"backend": "k", "sender": sender, "message": text})
    assert r.get_json()["message"]["text"] == text


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(raw=st.binary(max_size=200))
def test_arbitrary_query_bytes_never_5xx(client, raw):
    r = client.get("/router/receive", environ_overrides={"QUERY_STRING": raw.decode("latin-1")})
    assert r.status_code < 500
    assert r.mimetype == "application/json"


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=st.recursive(
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats(allow_nan=False)
        | st.text(max_size=20),
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(st.text(max_size=10), children, max_size=4)
        ),
        max_leaves=20,
    )
)
def test_arbitrary_json_never_5xx(client, body):
    r = client.post("/router/receive", json=body)
    assert r.status_code < 500
    if isinstance(body, dict):
        body = {**body, "backend": "k", "sender": "1"}
        assert client.post("/router/receive", json=body).status_code < 500
