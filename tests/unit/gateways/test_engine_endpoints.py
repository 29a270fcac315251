"""A backend's own endpoints under bad input and a dead database: the protocol's error answer
(a 4xx, or a 5xx that makes the gateway retry when nothing could be stored), never a 500 or an
HTML page; and nothing already accepted is lost."""

from __future__ import annotations

from urllib.parse import quote_from_bytes

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from httprouter import create_app

from ...support.engine_table import BACKEND, PASSWORD
from ..web.test_database_down import free_port

ENGINES = {
    "kannel": {"ENGINE": "kannel"},
    "jasmin": {"ENGINE": "jasmin", "gateway_user": "u", "gateway_password": "p"},
    "http": {
        "ENGINE": "http",
        "url": "http://127.0.0.1:9/send",
        "receive_params": {"sender": "phone", "message": "text"},
        "report_params": {"id": "ref", "status": "state"},
        "report_statuses": {"OK": "delivered"},
    },
    "smssync": {"ENGINE": "smssync", "message_results": True},
    "envayasms": {"ENGINE": "envayasms"},
    "relayer": {"ENGINE": "relayer"},  # it calls the legacy URLs: its own answer 404
}
# How each engine's calls carry the credential, and the queries that pick its actions.
CREDENTIAL = {"smssync": f"secret={PASSWORD}"}
ACTIONS = {"smssync": ["", "task=send&", "task=sent&", "task=result&", "task=x&"]}
FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), database=None
)


def _client(make_app, name):
    app = make_app(ROUTER_PASSWORD=PASSWORD, BACKENDS={BACKEND: ENGINES[name]})
    return app.test_client()


@pytest.fixture(params=sorted(ENGINES))
def engine_client(request, make_app):
    return request.param, _client(make_app, request.param)


def _no_server_error(response):
    assert response.status_code < 500, response.get_data()[:300]
    assert not response.get_data().lstrip().startswith(b"<"), "an HTML page"


def _prefix(name: str, action: int) -> str:
    """The credential and (for a one-URL protocol) an action, as the start of a query."""
    actions = ACTIONS.get(name, [""])
    return actions[action % len(actions)] + CREDENTIAL.get(name, f"password={PASSWORD}")


@FUZZ
@given(
    raw=st.binary(max_size=200),
    kind=st.sampled_from(["receive", "delivered"]),
    action=st.integers(0, 9),
)
def test_arbitrary_query_bytes_never_5xx(engine_client, raw, kind, action):
    name, client = engine_client
    query = quote_from_bytes(raw, safe="=&%+")
    prefix = _prefix(name, action)
    _no_server_error(client.get(f"/router/backends/{BACKEND}/{kind}?{prefix}&{query}"))


@FUZZ
@given(
    body=st.binary(max_size=300),
    kind=st.sampled_from(["receive", "delivered"]),
    content_type=st.sampled_from(
        [
            "application/x-www-form-urlencoded",
            "application/json",
            "text/plain",
            "multipart/form-data",
        ]
    ),
    action=st.integers(0, 9),
)
def test_arbitrary_bodies_never_5xx(engine_client, body, kind, content_type, action):
    name, client = engine_client
    response = client.post(
        f"/router/backends/{BACKEND}/{kind}?{_prefix(name, action)}",
        data=body,
        headers={"Content-Type": content_type},
    )
    _no_server_error(response)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)


@FUZZ
@given(
    fields=st.dictionaries(
        st.sampled_from(["queued_messages", "message_result", "from", "message", "message_id"]),
        JSON_VALUES | st.text(max_size=40).map(lambda t: "1-" + t),
        max_size=4,
    ),
    action=st.integers(0, 9),
)
def test_json_bodies_with_the_protocols_keys_never_5xx(engine_client, fields, action):
    name, client = engine_client
    response = client.post(
        f"/router/backends/{BACKEND}/receive?{_prefix(name, action)}",
        json=fields,
    )
    _no_server_error(response)


ENVAYA_FIELDS = ["action", "from", "message", "message_type", "timestamp", "id", "status", "error"]


@pytest.fixture
def envaya_client(make_app):
    return _client(make_app, "envayasms")


@FUZZ
@given(
    fields=st.dictionaries(
        st.sampled_from(ENVAYA_FIELDS),
        st.sampled_from(["incoming", "outgoing", "send_status", "sms", "mms", "call", "sent"])
        | st.text(max_size=30),
        max_size=6,
    )
)
def test_signed_posts_with_any_fields_never_5xx(envaya_client, fields):
    from ...gateways.envayasms import _sign

    url = f"http://localhost/router/backends/{BACKEND}/receive"
    signature = _sign(list(fields.items()), url=url, password=PASSWORD)
    response = envaya_client.post(url, data=fields, headers={"X-Request-Signature": signature})
    _no_server_error(response)
    assert response.status_code != 403, response.get_data()  # signed as the phone signs


@pytest.fixture
def relayer_client(make_app):
    return _client(make_app, "relayer")


@FUZZ
@given(
    raw=st.binary(max_size=200),
    path=st.sampled_from(["/router/receive", "/router/outbox", "/router/delivered"]),
)
def test_a_relayers_legacy_calls_with_any_query_never_5xx(relayer_client, raw, path):
    query = quote_from_bytes(raw, safe="=&%+")
    base = f"backend={BACKEND}&password={PASSWORD}&"
    _no_server_error(relayer_client.get(f"{path}?{base}&sender=%2B1&message=x&{query}"))


@FUZZ
@given(
    body=st.binary(max_size=300),
    content_type=st.sampled_from(["application/x-www-form-urlencoded", "application/json"]),
)
def test_alerts_with_any_body_never_5xx(relayer_client, body, content_type):
    response = relayer_client.post(
        f"/router/alert?password={PASSWORD}", data=body, headers={"Content-Type": content_type}
    )
    _no_server_error(response)


def test_a_backend_without_an_engine_is_404_json(make_app):
    client = make_app(ROUTER_PASSWORD=PASSWORD).test_client()
    for kind in ("receive", "delivered"):
        response = client.get(f"/router/backends/nosuch/{kind}?password={PASSWORD}")
        assert response.status_code == 404
        assert "BACKENDS" in response.get_json()["error"]


@pytest.mark.parametrize("name", sorted(ENGINES))
def test_database_down_is_the_protocols_retry_answer(name):
    app = create_app(
        {
            "DATABASE_URL": f"postgresql://postgres@127.0.0.1:{free_port()}/none",
            "SMS_APPS": ["httprouter.apps.echo.EchoApp"],
            "BACKENDS": {BACKEND: ENGINES[name]},
        }
    )
    own = f"/router/backends/{BACKEND}/receive"
    url = {
        "kannel": f"{own}?sender=1&message=x&id=a1",
        "jasmin": f"{own}?from=1&coding=%00&binary=78&id=a1",
        "http": f"{own}?phone=1&text=x",
        "smssync": f"{own}?task=send",
        "envayasms": own,
        "relayer": f"/router/receive?backend={BACKEND}&&sender=1&message=x",  # the legacy URL
    }[name]
    form = {"action": "outgoing"} if name == "envayasms" else None  # EnvayaSMS posts
    try:
        response = app.test_client().open(
            url,
            method="POST" if form else "GET",
            data=form,
        )
    finally:
        app.extensions["httprouter"].engine.dispose()
    assert response.status_code == 503
    if name == "jasmin":
        assert response.get_data() != b"ACK/Jasmin"  # so Jasmin calls again
        assert response.get_data().startswith(b'Error "database unavailable')
    elif name == "envayasms":
        assert response.get_json()["error"]["message"].startswith("database unavailable")
    elif name == "smssync":
        payload = response.get_json()["payload"]
        assert payload["success"] is False
        assert payload["error"].startswith("database unavailable")
    else:
        assert response.get_json()["error"].startswith("database unavailable")


def test_a_backends_report_url_cannot_change_another_backends_message(make_app):
    app = make_app(
        BACKENDS={
            "a": {"ENGINE": "kannel", "password": "pw-a"},
            "b": {"ENGINE": "kannel", "password": "pw-b"},
        }
    )
    router = app.extensions["httprouter"]
    message_id = router.send("hello", [("b", "+255700000009")])[0].id
    client = app.test_client()
    refused = client.get(
        f"/router/backends/a/delivered?message_id={message_id}&status=1&password=pw-a"
    )
    assert refused.status_code == 404
    assert router.read_message(message_id).status == "Q"
    taken = client.get(
        f"/router/backends/b/delivered?message_id={message_id}&status=1&password=pw-b"
    )
    assert taken.status_code == 200
    assert router.read_message(message_id).status == "D"
