"""The Python API for scripts and apps: receive, send, lookup_connections."""

from __future__ import annotations

import pytest

import httprouter
from httprouter import Connection
from httprouter.errors import ValidationError


def test_module_level_api_uses_the_apps_router(app):
    conns = httprouter.lookup_connections("console", ["+1 555 0100", "+15550101"])
    assert [c.identity for c in conns] == ["+15550100", "+15550101"]
    assert all(c.id for c in conns)
    again = httprouter.lookup_connections("console", ["+15550100"])
    assert again[0].id == conns[0].id

    result = httprouter.receive("ping", conns[0])
    assert result.responses[0].text == "pong"

    sent = httprouter.send("news", conns)
    assert [(m.status, m.connection.identity) for m in sent] == [
        ("Q", "+15550100"),
        ("Q", "+15550101"),
    ]
    assert all(m.id for m in sent)


def test_send_validates_backend_and_identity(router):
    with pytest.raises(ValidationError) as exc:
        router.send("x", [("", "+1")])
    assert exc.value.field == "backend"
    with pytest.raises(ValidationError) as exc:
        router.send("x", [("console", "  ")])
    assert exc.value.field == "to"


def test_receive_accepts_tuple_or_connection(router):
    a = router.receive("x", ("console", "1"))
    b = router.receive("x", Connection("console", "1"))
    assert a.message.contact == b.message.contact == "1"
