"""The message log page: newest first, filters kept in the URL, keyset paging, escaping."""

from __future__ import annotations

import re

import pytest

from ....support.console_support import add_user, log_in

XSS = ("<script>alert(1)</script>", "<img src=x onerror=alert(1)>")


@pytest.fixture
def console(app, client):
    add_user(app)
    log_in(client)
    return client


def ids(html):
    return [int(i) for i in re.findall(r'<tr data-id="(\d+)"', html)]


def receive(client, sender, text, backend="console"):
    answer = client.get(
        "/router/receive", query_string={"backend": backend, "sender": sender, "message": text}
    )
    assert answer.status_code == 200
    return answer.json


def test_log_shows_newest_first_with_status_badges(console):
    receive(console, "+15550001", "first")
    receive(console, "+15550002", "second")
    page = console.get("/router/console")
    assert page.status_code == 200
    assert ids(page.text) == [4, 3, 2, 1]
    assert '<span class="badge badge-H" title="H">handled</span>' in page.text
    assert '<span class="badge badge-Q" title="Q">queued</span>' in page.text
    assert page.headers["Content-Security-Policy"].startswith("default-src 'self'")
    assert "<script>" not in page.text  # the only script is the external file


def test_filters_narrow_the_log_and_stay_in_the_links(console):
    receive(console, "+15550001", "Hello clinic")
    receive(console, "+15550002", "other text", backend="modem")
    assert ids(console.get("/router/console?direction=I").text) == [3, 1]
    assert ids(console.get("/router/console?direction=o").text) == [4, 2]
    assert ids(console.get("/router/console?status=queued").text) == [4, 2]
    assert ids(console.get("/router/console?status=H&backend=modem").text) == [3]
    assert ids(console.get("/router/console?backend=modem").text) == [4, 3]
    assert ids(console.get("/router/console?backend=nowhere").text) == []
    assert ids(console.get("/router/console?contact=0001").text) == [2, 1]
    assert ids(console.get("/router/console?q=CLINIC").text) == [2, 1]
    assert ids(console.get("/router/console?q=100%25").text) == []  # LIKE wildcards are literal
    assert ids(console.get("/router/console?since=2000-01-01&until=2999-12-31").text) == [
        4,
        3,
        2,
        1,
    ]
    assert ids(console.get("/router/console?until=2000-01-01").text) == []
    page = console.get("/router/console?direction=I&q=clinic")
    assert 'value="clinic"' in page.text
    assert '<option value="I" selected>' in page.text
    assert "partial=1&amp;direction=I&amp;q=clinic" in page.text  # the refresh keeps the filters


def test_keyset_paging_walks_older_and_newer(console):
    for i in range(5):
        receive(console, "+1555000", f"m{i}")  # ids 1..10
    first = console.get("/router/console?limit=4")
    assert ids(first.text) == [10, 9, 8, 7]
    assert "before=7" in first.text and "Newer" not in first.text
    older = console.get("/router/console?limit=4&before=7")
    assert ids(older.text) == [6, 5, 4, 3]
    assert "after=6" in older.text
    last = console.get("/router/console?limit=4&before=3")
    assert ids(last.text) == [2, 1] and "Older" not in last.text
    newer = console.get("/router/console?limit=4&after=6")
    assert ids(newer.text) == [10, 9, 8, 7]
    filtered = console.get("/router/console?limit=2&direction=I")
    assert "limit=2&amp;before=7" in filtered.text.replace("direction=I&amp;", "")


def test_partial_refresh_returns_only_the_table(console):
    receive(console, "+15550001", "hi")
    part = console.get("/router/console?partial=1&direction=I")
    assert part.status_code == 200
    assert "<html" not in part.text and ids(part.text) == [1]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("direction=X", "direction"),
        ("status=lost", "status"),
        ("since=yesterday", "since"),
        ("until=2024-13-01", "until"),
        ("before=abc", "before"),
        ("limit=0", "limit"),
        ("limit=100000", "limit"),
        ("q=" + "x" * 201, "q"),
    ],
)
def test_bad_filters_get_json_400_naming_the_field(console, query, field):
    answer = console.get("/router/console?" + query)
    assert answer.status_code == 400
    assert answer.json["field"] == field


def test_texts_and_identities_are_shown_as_text_everywhere(make_app):
    app = make_app(IDENTITY_NORMALIZER="none")
    add_user(app)
    client = app.test_client()
    log_in(client)
    for text in XSS:
        receive(client, '"><b>phone</b>', text)
    pages = [
        client.get("/router/console").text,
        client.get("/router/console?partial=1").text,
        client.get("/router/console/messages/1").text,
        client.get("/router/console/messages/2").text,
        client.get("/router/console/simulator", query_string={"sender": '"><b>phone</b>'}).text,
        client.get(
            "/router/console/simulator/thread", query_string={"sender": '"><b>phone</b>'}
        ).text,
        client.get("/router/console?q=<script>").text,
    ]
    for html in pages:
        assert "<script>alert(1)</script>" not in html
        assert "<img src=x" not in html
        assert "<b>phone</b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages[0]
    assert "&lt;img src=x onerror=alert(1)&gt;" in pages[0]
    assert "&lt;b&gt;phone&lt;/b&gt;" in pages[0]
