"""Access rules: trusted proxies, per-backend network allow-lists, the failed-login brake."""

from __future__ import annotations

import pytest

from httprouter.errors import ConfigError
from httprouter.web.access import FailureBrake, TooManyFailures, client_address, parse_networks

PROXY = parse_networks(["10.0.0.1"], "TRUSTED_PROXIES")


@pytest.mark.parametrize(
    ("remote", "forwarded", "expected"),
    [
        ("127.0.0.1", None, "127.0.0.1"),
        ("127.0.0.1", "1.2.3.4", "127.0.0.1"),  # not a trusted proxy: header ignored
        ("10.0.0.1", "1.2.3.4", "1.2.3.4"),
        (
            "10.0.0.1",
            "6.6.6.6, 1.2.3.4",
            "1.2.3.4",
        ),  # the client can prepend lies; take the hop we trust
        ("10.0.0.1", "1.2.3.4, 10.0.0.1", "1.2.3.4"),
        ("10.0.0.1", "garbage", "10.0.0.1"),
    ],
)
def test_client_address(remote, forwarded, expected):
    assert client_address(remote, forwarded, PROXY) == expected


def test_bad_network_names_setting():
    with pytest.raises(ConfigError, match="TRUSTED_PROXIES"):
        parse_networks(["not-an-ip"], "TRUSTED_PROXIES")


def test_brake_counts_per_address_and_forgets_after_window():
    now = [0.0]
    brake = FailureBrake(3, 60, clock=lambda: now[0])
    for _ in range(3):
        brake.check("a")
        brake.failed("a")
    with pytest.raises(TooManyFailures) as exc:
        brake.check("a")
    assert exc.value.extra["retry_after"] >= 1
    brake.check("b")  # another address is unaffected
    now[0] = 61
    brake.check("a")


def test_allow_list_per_backend(make_app):
    app = make_app(
        BACKENDS={"kannel": {"allow_networks": ["10.9.0.0/16"]}}, TRUSTED_PROXIES=["127.0.0.1"]
    )
    client = app.test_client()
    url = "/router/receive?backend=kannel&sender=1&message=x"
    assert client.get(url).status_code == 403  # from 127.0.0.1, not in the list
    assert client.get(url, headers={"X-Forwarded-For": "10.9.1.2"}).status_code == 200
    assert client.get(url.replace("kannel", "other")).status_code == 200  # no list for this one
    r = client.get(url)
    assert r.get_json()["field"] == "backend"


def test_untrusted_forwarded_for_cannot_pass_the_allow_list(make_app):
    app = make_app(BACKENDS={"kannel": {"allow_networks": ["10.9.0.0/16"]}})
    r = app.test_client().get(
        "/router/receive?backend=kannel&sender=1&message=x", headers={"X-Forwarded-For": "10.9.1.2"}
    )
    assert r.status_code == 403


def test_repeated_failures_get_429_then_even_the_right_password_waits(make_app):
    app = make_app(ROUTER_PASSWORD="right", AUTH_FAILURE_LIMIT=3)
    client = app.test_client()
    url = "/router/receive?backend=k&sender=1&message=x&password="
    assert [client.get(url + "wrong").status_code for _ in range(3)] == [403, 403, 403]
    r = client.get(url + "right")
    assert r.status_code == 429
    assert int(r.headers["Retry-After"]) >= 1
    assert r.get_json()["field"] == "password"
