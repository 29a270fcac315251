"""The http and kannel engines, table style: message + gateway answer → exact request and outcome."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests

from httprouter.config import load_config
from httprouter.errors import ConfigError
from httprouter.gateways.base import (
    Outbound,
    Outcome,
    PreparedRequest,
    classify,
    retry_after_seconds,
)
from httprouter.gateways.http import HttpEngine
from httprouter.gateways.kannel import KannelEngine
from httprouter.gateways.registry import build_engine

LEGACY = (
    "http://gw/cgi-bin/sendsms?from=1234&text=%(text)s&to=%(recipient)s&smsc=%(backend)s&id=%(id)s"
)
DLR = "http://router:8080/router/backends/test_backend/delivered?message_id=7&token=abc"
KANNEL_DLR = DLR + "&status=%d"


def msg(text: str = "test", **kw: Any) -> Outbound:
    values: dict[str, Any] = {
        "id": 7,
        "backend": "test_backend",
        "recipient": "2067799294",
        "text": text,
        "token": "abc",
        "public_url": "http://router:8080",
    }
    values.update(kw)
    return Outbound(**values)


def answer(status: int, body: str = "", headers: dict[str, str] | None = None) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = body.encode("utf-8")
    response.headers.update(headers or {})
    response.encoding = "utf-8"
    return response


# -- the legacy ROUTER_URL template ------------------------------------------------------------


def test_legacy_template_fetches_exactly_the_expected_url():
    backend = build_engine(load_config({"ROUTER_URL": LEGACY}, environ={}), "test_backend")
    request = backend.prepare_request(msg())
    assert request == PreparedRequest(
        "GET",
        "http://gw/cgi-bin/sendsms?from=1234&text=test&to=2067799294&smsc=test_backend&id=7",
    )


def test_legacy_escaping_is_utf8_quote_plus():
    backend = HttpEngine("k", url="http://gw/?text=%(text)s")
    url = backend.prepare_request(msg("hi & bye +5% café €")).url
    assert url == "http://gw/?text=hi+%26+bye+%2B5%25+caf%C3%A9+%E2%82%AC"


def test_double_percent_is_a_literal_percent_and_added_fields_fill():
    backend = HttpEngine(
        "test_backend",
        url="http://gw/?d=%(dlr_url)s&c=%(coding)s&cs=%(charset)s&p=%(priority)s&s=%(sender)s&x=100%%",
    )
    url = backend.prepare_request(msg("Habari ñ", sender="8080", priority=2)).url
    query = dict(parse_qsl(urlsplit(url).query))
    assert query == {
        "d": DLR,
        "c": "0",  # ñ is in GSM 03.38
        "cs": "UTF-8",
        "p": "2",
        "s": "8080",
        "x": "100%",
    }
    assert "%(" not in url
    kannel_style = HttpEngine(
        "test_backend", url="http://gw/?d=%(dlr_url)s", report_url_query="&status=%d"
    )
    dlr = dict(parse_qsl(urlsplit(kannel_style.prepare_request(msg()).url).query))["d"]
    assert dlr == DLR + "&status=%d"
    emoji = dict(parse_qsl(urlsplit(backend.prepare_request(msg("ok 👍")).url).query))
    assert emoji["c"] == "2"


def test_router_url_dict_picks_entry_then_default_and_none_is_pull():
    config = load_config(
        {
            "ROUTER_URL": {
                "default": "http://a/?t=%(text)s",
                "b2": "http://b/?t=%(text)s",
                "m": None,
            }
        },
        environ={},
    )
    assert build_engine(config, "test_backend").prepare_request(msg()).url.startswith("http://a/")
    assert build_engine(config, "b2").prepare_request(msg()).url.startswith("http://b/")
    assert build_engine(config, "m") is None
    assert build_engine(load_config({}, environ={}), "x") is None


@pytest.mark.parametrize(
    ("settings", "engine"),
    [
        ({}, "ConsoleEngine"),
        ({"ROUTER_URL": "http://gw/?t=%(text)s"}, "ConsoleEngine"),  # catch-alls: real gateways
        ({"BACKENDS": {"default": {"ENGINE": "dummy"}}}, "ConsoleEngine"),
        ({"BACKENDS": {"console": {"ENGINE": "log"}}}, "LogEngine"),  # named: as configured
        ({"ROUTER_URL": {"console": "http://gw/?t=%(text)s"}}, "HttpEngine"),
        ({"ROUTER_URL": {"console": None}}, None),  # named as pulled: the outbox
    ],
    ids=["nothing", "ROUTER_URL", "default", "BACKENDS", "ROUTER_URL dict", "pulled"],
)
def test_the_simulators_backend_delivers_to_it_unless_configured_otherwise(settings, engine):
    built = build_engine(load_config(settings, environ={}), "console")
    assert (type(built).__name__ if built else None) == engine


def test_router_http_method_post_and_backend_options_apply():
    config = load_config(
        {
            "ROUTER_URL": LEGACY,
            "ROUTER_HTTP_METHOD": "POST",
            "BACKENDS": {"test_backend": {"max_attempts": 5, "password": "receive-only"}},
        },
        environ={},
    )
    backend = build_engine(config, "test_backend")
    assert backend.prepare_request(msg()).method == "POST"
    assert backend.max_attempts == 5
    assert build_engine(config, "other").max_attempts == 3


def test_bad_template_field_stops_start_up_naming_the_backend():
    with pytest.raises(ConfigError, match=r"BACKENDS\['k'\].*%\(recipient\)s"):
        HttpEngine("k", url="http://gw/?to=%(recipent)s")
    with pytest.raises(ConfigError, match="tiemout"):
        HttpEngine("k", url="http://gw/", tiemout=3)
    with pytest.raises(ConfigError, match="not a GatewayEngine"):
        build_engine(
            load_config(
                {"BACKENDS": {"k": {"ENGINE": "httprouter.config.load_config"}}}, environ={}
            ),
            "k",
        )


# -- the generic templated backend: each value escaped where it lands ------------------------


def test_json_body_template_escapes_for_json():
    backend = HttpEngine(
        "api",
        url="https://gw.example/v1/messages",
        method="POST",
        headers={"Authorization": "Bearer s3cret", "X-Ref": "%(id)s"},
        body_format="json",
        body={"to": ["%(recipient)s"], "text": "%(text)s", "meta": {"ref": "%(id)s"}},
    )
    request = backend.prepare_request(msg('say "hi"\n€'))
    assert request.method == "POST"
    assert request.headers == {
        "Authorization": "Bearer s3cret",
        "X-Ref": "7",
        "Content-Type": "application/json",
    }
    import json

    assert json.loads(request.body) == {
        "to": ["2067799294"],
        "text": 'say "hi"\n€',
        "meta": {"ref": "7"},
    }
    assert "s3cret" not in request.redacted()


def test_form_body_and_header_values_are_escaped_for_their_place():
    backend = HttpEngine(
        "form",
        url="http://gw/send",
        method="POST",
        headers={"X-Text": "%(text)s"},
        body={"to": "%(recipient)s", "msg": "%(text)s"},
    )
    request = backend.prepare_request(msg("a&b=c\r\nX-Evil: 1 €"))
    assert request.body == b"to=2067799294&msg=a%26b%3Dc%0D%0AX-Evil%3A+1+%E2%82%AC"
    assert "\n" not in request.headers["X-Text"] and "\r" not in request.headers["X-Text"]
    request.headers["X-Text"].encode("latin-1")


# -- Kannel --------------------------------------------------------------------------------


@dataclass
class KannelCase:
    label: str
    options: dict[str, Any]
    message: Outbound
    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None


KANNEL_CASES = [
    KannelCase(
        "POST keeps the password in a header; GSM text has no coding",
        {"url": "http://k:13013/cgi-bin/sendsms", "sendsms_user": "r", "sendsms_password": "pw"},
        msg("echo hello", sender="8080"),
        "POST",
        "http://k:13013/cgi-bin/sendsms",
        {
            "Content-Type": "text/plain; charset=UTF-8",
            "X-Kannel-Username": "r",
            "X-Kannel-Password": "pw",
            "X-Kannel-To": "2067799294",
            "X-Kannel-From": "8080",
            "X-Kannel-SMSC": "test_backend",
            "X-Kannel-DLR-Mask": "31",
            "X-Kannel-DLR-Url": KANNEL_DLR,
        },
        b"echo hello",
    ),
    KannelCase(
        "POST non-GSM text asks for UCS-2; charset in Content-Type",
        {"sendsms_user": "r", "sendsms_password": "pw", "smsc": "modem1", "dlr_mask": 27},
        msg("Habari yako? ñ € 👍"),
        "POST",
        "http://127.0.0.1:13013/cgi-bin/sendsms",
        {
            "Content-Type": "text/plain; charset=UTF-8",
            "X-Kannel-Username": "r",
            "X-Kannel-Password": "pw",
            "X-Kannel-To": "2067799294",
            "X-Kannel-SMSC": "modem1",
            "X-Kannel-Coding": "2",
            "X-Kannel-DLR-Mask": "27",
            "X-Kannel-DLR-Url": KANNEL_DLR,
        },
        "Habari yako? ñ € 👍".encode(),
    ),
    KannelCase(
        "GET puts everything in the query, dlr-url encoded once",
        {"method": "GET", "sendsms_user": "r", "sendsms_password": "pw", "sender": "1234"},
        msg("a & b + 5%"),
        "GET",
        "http://127.0.0.1:13013/cgi-bin/sendsms?username=r&password=pw&text=a+%26+b+%2B+5%25"
        "&to=2067799294&from=1234&smsc=test_backend&dlr-mask=31&dlr-url="
        "http%3A%2F%2Frouter%3A8080%2Frouter%2Fbackends%2Ftest_backend%2Fdelivered"
        "%3Fmessage_id%3D7%26token%3Dabc%26status%3D%25d",
    ),
    KannelCase(
        "GET non-GSM text: coding=2&charset=UTF-8; no dlr when mask 0",
        {"method": "GET", "dlr_mask": 0},
        msg("€uro ok 😀"),
        "GET",
        "http://127.0.0.1:13013/cgi-bin/sendsms?text=%E2%82%ACuro+ok+%F0%9F%98%80"
        "&to=2067799294&smsc=test_backend&coding=2&charset=UTF-8",
    ),
]


@pytest.mark.parametrize("case", KANNEL_CASES, ids=lambda c: c.label)
def test_kannel_request(case):
    backend = KannelEngine("test_backend", **case.options)
    request = backend.prepare_request(case.message)
    assert (request.method, request.url) == (case.method, case.url)
    assert request.headers == case.headers
    assert request.body == case.body
    logged = request.redacted(backend.secrets)
    assert "pw" not in logged.replace("pwd", "")


def test_kannel_segment_count_is_known():
    backend = KannelEngine("k")
    assert backend.prepare_request(msg("a" * 160)).segments == 1
    assert backend.prepare_request(msg("a" * 161)).segments == 2
    assert backend.prepare_request(msg("€" * 71 + "😀")).segments == 2


# -- answers → outcomes (the one shared mapping) ---------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "headers", "outcome", "retry_after"),
    [
        (202, "0: Accepted for delivery", {}, Outcome.SENT, None),
        (202, "3: Queued for later delivery", {}, Outcome.SENT, None),
        (200, "ok", {}, Outcome.SENT, None),
        (403, "Not routable. Do not try again.", {}, Outcome.FAILED, None),
        (403, "Authorization failed for sendsms", {}, Outcome.FAILED, None),
        (400, "Missing receiver number, rejected", {}, Outcome.FAILED, None),
        (401, "", {}, Outcome.FAILED, None),
        (404, "", {}, Outcome.FAILED, None),
        (413, "", {}, Outcome.FAILED, None),
        (422, "", {}, Outcome.FAILED, None),
        (503, "Temporal failure, try again later.", {}, Outcome.RETRY, None),
        (500, "boom", {}, Outcome.RETRY, None),
        (429, "slow down", {"Retry-After": "7"}, Outcome.RETRY, 7.0),
        (429, "slow down", {}, Outcome.RETRY, None),
        (302, "", {"Location": "/elsewhere"}, Outcome.RETRY, None),
        (409, "", {}, Outcome.RETRY, None),
    ],
)
def test_kannel_answers(status, body, headers, outcome, retry_after):
    result = KannelEngine("k").interpret(answer(status, body, headers))
    assert result.outcome is outcome
    assert result.status_code == status
    assert result.body == body
    assert result.retry_after == retry_after


def test_errors_are_retryable_and_named():
    result = classify(None, requests.ConnectTimeout("timed out"))
    assert result.outcome is Outcome.RETRY
    assert result.error.startswith("ConnectTimeout")


def test_permanent_statuses_are_configurable():
    backend = HttpEngine("k", url="http://gw/", permanent_statuses=[400])
    assert backend.interpret(answer(403)).outcome is Outcome.RETRY
    assert backend.interpret(answer(400)).outcome is Outcome.FAILED


def test_success_body_check_and_success_statuses():
    backend = HttpEngine("k", url="http://gw/", success_body=r"^OK", success_statuses=[200])
    assert backend.interpret(answer(200, "OK 1234")).outcome is Outcome.SENT
    assert backend.interpret(answer(200, "ERROR no credit")).outcome is Outcome.RETRY
    assert backend.interpret(answer(201, "OK")).outcome is Outcome.RETRY


def test_retry_after_accepts_seconds_and_dates():
    from datetime import UTC, datetime

    now = datetime(2030, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("120") == 120
    assert retry_after_seconds("Tue, 01 Jan 2030 12:00:30 GMT", now) == 30
    assert retry_after_seconds("soon") is None


def test_backoff_is_exponential_with_jitter_between_base_and_cap():
    backend = HttpEngine("k", url="http://gw/", backoff_base=2, backoff_max=20)
    for attempt, ceiling in [(1, 2), (2, 4), (3, 8), (4, 16), (5, 20), (9, 20)]:
        delays = {backend.backoff(attempt) for _ in range(50)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(delays) > 1
    assert backend.backoff(1, retry_after=42) == 42


def test_push_goes_through_the_environment_proxy_unless_no_proxy(gateway, monkeypatch):
    proxy = gateway()
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.3")
    template = "http://127.0.0.2:9/send?to=%(recipient)s&text=%(text)s"
    backend = HttpEngine("b", url=template, timeout=5)
    result = backend.send(backend.prepare_request(msg("via proxy")))
    assert result.outcome is Outcome.SENT
    assert proxy.seen[0].headers["Host"] == "127.0.0.2:9"
    assert proxy.seen[0].query == {"to": "2067799294", "text": "via proxy"}
    bypass = HttpEngine("b", url=template.replace("127.0.0.2:9", "127.0.0.3:9"), timeout=1)
    assert bypass.send(bypass.prepare_request(msg())).outcome is Outcome.RETRY  # refused: direct
    assert len(proxy.seen) == 1
    backend.close()
    bypass.close()


# -- the development engines ------------------------------------------------------------------


def test_file_engine_appends_one_json_line_per_message(tmp_path):
    import json

    from httprouter.gateways.dev import FileEngine

    path = tmp_path / "out.jsonl"
    engine = FileEngine("demo", path=str(path))
    for text in ("one", "två €"):
        result = engine.send(engine.prepare_request(msg(text, sender="8080")))
        assert result.outcome is Outcome.SENT
    lines = [json.loads(line) for line in path.read_text("utf-8").splitlines()]
    assert [(x["id"], x["to"], x["from"], x["text"]) for x in lines] == [
        (7, "2067799294", "8080", "one"),
        (7, "2067799294", "8080", "två €"),
    ]
    with pytest.raises(ConfigError, match=r"BACKENDS\['demo'\]: path .*no folder"):
        FileEngine("demo", path=str(tmp_path / "missing" / "out.jsonl"))


def test_file_engine_write_failure_is_retried(tmp_path):
    from httprouter.gateways.dev import FileEngine

    engine = FileEngine("demo", path=str(tmp_path))  # a folder: every write fails
    result = engine.send(engine.prepare_request(msg()))
    assert result.outcome is Outcome.RETRY
    assert result.error.startswith("IsADirectoryError")


def test_log_engine_logs_the_message(caplog):
    from httprouter.gateways.dev import LogEngine

    engine = LogEngine("console")
    with caplog.at_level("INFO", logger="httprouter.gateways.dev"):
        assert engine.send(engine.prepare_request(msg("hello log"))).outcome is Outcome.SENT
    assert "hello log" in caplog.text


CONTROLS = "\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029\x7f\x00"


def test_header_values_built_from_message_data_hold_no_control_character():
    http = HttpEngine(
        "api", url="http://gw/", headers={"X-Text": "%(text)s", "X-To": "%(recipient)s"}
    )
    kannel = KannelEngine("k", sendsms_user="r", sendsms_password="pw")
    text = f"a{CONTROLS}b"
    for request in (
        http.prepare_request(msg(text, recipient="+1" + CONTROLS)),
        kannel.prepare_request(msg(text, sender="80" + CONTROLS + "80")),
    ):
        for name, value in request.headers.items():
            assert not any(ch in value for ch in CONTROLS), (name, value)
    assert kannel.prepare_request(msg(sender="80\x0b80")).headers["X-Kannel-From"] == "80 80"
