"""Every gateway engine's table rows (tests/gateways/<engine>.py), run through the real app on
SQLite and PostgreSQL (inbound and report rows) or against the engine alone (outbound rows)."""

from __future__ import annotations

import importlib
import pkgutil
from datetime import timedelta
from urllib.parse import parse_qsl

import pytest
from sqlalchemy import func, select, update

from httprouter import clock
from httprouter.config import load_config
from httprouter.domain.statuses import INCOMING
from httprouter.gateways.registry import build_engine, shipped_engines
from httprouter.store.schema import messages, status_changes
from httprouter.store.tokens import message_token

from ... import gateways
from ...support.engine_table import BACKEND, PASSWORD, PEER, outbound_message

MODULES = {
    info.name: importlib.import_module(f"{gateways.__name__}.{info.name}")
    for info in pkgutil.iter_modules(gateways.__path__)
}


def rows(kind):
    return [
        pytest.param(row, id=f"{name}: {row.label}")
        for name, module in sorted(MODULES.items())
        for row in getattr(module, kind, [])
    ]


def test_every_shipped_engine_has_rows():
    named = {
        row.backend["ENGINE"]
        for module in MODULES.values()
        for kind in ("INBOUND", "OUTBOUND", "REPORTS", "POLLS")
        for row in getattr(module, kind, [])
    }
    assert set(shipped_engines()) <= named, set(shipped_engines()) - named


def _app(make_app, row):
    app = make_app(ROUTER_PASSWORD=PASSWORD, BACKENDS={BACKEND: row.backend})
    return app, app.test_client(), app.extensions["httprouter"]


def _call(client, path, call):
    return client.open(
        f"{path}?{call.query}" if call.query else path,
        method=call.method,
        data=call.body,
        headers=call.headers,
    )


def _inbound(router):
    with router.read() as conn:
        found = conn.execute(
            select(messages.c.id, messages.c.text, messages.c.external_id, messages.c.fields)
            .where(messages.c.direction == INCOMING)
            .order_by(messages.c.id)
        ).all()
        identities = [router.read_message(r.id).contact for r in found]
        replies = conn.execute(
            select(func.count()).where(messages.c.in_response_to_id.is_not(None))
        ).scalar_one()
    return [(i, r.text, r.external_id) for i, r in zip(identities, found, strict=True)], replies


@pytest.mark.parametrize("row", rows("INBOUND"))
def test_inbound(row, make_app):
    _app_, client, router = _app(make_app, row)
    path = row.path or f"/router/backends/{BACKEND}/receive"
    call = row.call.fill()
    row.answer.check(_call(client, path, call))
    stored, replies = _inbound(router)
    assert stored == row.stored
    if row.repeat:
        row.answer.check(_call(client, path, call))
        assert _inbound(router) == (stored, replies)  # nothing stored twice, no app run twice


@pytest.mark.parametrize("row", rows("OUTBOUND"))
def test_outbound(row):
    engine = build_engine(load_config({"BACKENDS": {BACKEND: row.backend}}, environ={}), BACKEND)
    request = engine.prepare_request(outbound_message(row))
    assert (request.method, request.url) == (row.sent.method, row.sent.url)
    if row.sent.headers is not None:
        assert request.headers == row.sent.headers
    if row.sent.body is not None:
        assert request.body == row.sent.body
    if row.sent.form is not None:
        pairs = parse_qsl(request.body.decode("ascii"), keep_blank_values=True)
        assert pairs == list(row.sent.form.items())
    result = engine.send(request) if row.reply is None else engine.interpret(row.reply.response())
    assert (result.outcome, result.external_id) == (row.outcome, row.external_id), result
    logged = request.redacted(engine.secrets)
    assert all(secret not in logged for secret in engine.secrets)


@pytest.mark.parametrize("row", rows("REPORTS"))
def test_report(row, make_app):
    _app_, client, router = _app(make_app, row)
    message_id = router.send("hello", [(BACKEND, PEER)])[0].id
    with router.engine.begin() as conn:
        conn.execute(
            update(messages)
            .where(messages.c.id == message_id)
            .values(status=row.before, external_id=row.external_id)
        )

    def history():
        with router.read() as conn:
            return conn.execute(
                select(func.count()).where(status_changes.c.message_id == message_id)
            ).scalar_one()

    recorded = history()
    token = message_token(router.store.signing_key, message_id) if row.signed else "not-signed"
    values = {"id": message_id, "token": token, "external_id": row.external_id or ""}
    call = row.call.fill(**values)
    answer = _call(client, row.path or f"/router/backends/{BACKEND}/{row.endpoint}", call)
    row.answer.fill(**values).check(answer)
    assert router.read_message(message_id).status == row.after
    if row.answer.status >= 400:
        assert history() == recorded  # refused: nothing changed, nothing recorded
    else:
        assert history() == recorded + row.recorded


@pytest.mark.parametrize("row", rows("POLLS"))
def test_poll(row, make_app):
    _app_, client, router = _app(make_app, row)
    ids = [router.send(text, [(BACKEND, PEER)])[0].id for text in row.queued]
    values = {}
    for n, message_id in enumerate(ids, 1):
        values[f"id{n}"] = message_id
        values[f"token{n}"] = message_token(router.store.signing_key, message_id)
    path = row.path or f"/router/backends/{BACKEND}/receive"
    call = row.call.fill(**values)
    row.answer.fill(**values).check(_call(client, path, call))
    assert [router.read_message(i).status for i in ids] == [row.after] * len(ids)
    if row.again is not None:
        row.again.fill(**values).check(_call(client, path, call))  # not twice while leased
    if row.expired is not None:
        with router.engine.begin() as conn:
            conn.execute(
                update(messages)
                .where(messages.c.id.in_(ids))
                .values(lease_expires_at=clock.now() - timedelta(seconds=1))
            )
        row.expired.fill(**values).check(_call(client, path, call))
