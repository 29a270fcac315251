"""/router/delivered: DLR types and words, monotonic and idempotent, every report in the history."""

from __future__ import annotations

import logging
import re

import pytest
from sqlalchemy import event, select

from httprouter.errors import HttpRouterError
from httprouter.gateways.legacy import parse_status
from httprouter.store.reports import apply_report
from httprouter.store.schema import messages, status_changes
from httprouter.store.tokens import message_token


def queue(router, count=1, backend="kannel"):
    return [m.id for m in router.send("hi", [(backend, f"+2507880{i:05d}") for i in range(count)])]


def report(client, message_id, status=None, **extra):
    params = {"message_id": message_id, **extra}
    if status is not None:
        params["status"] = status
    return client.get("/router/delivered", query_string=params)


def history(router, message_id):
    with router.read() as conn:
        return conn.execute(
            select(status_changes)
            .where(status_changes.c.message_id == message_id, status_changes.c.cause == "report")
            .order_by(status_changes.c.id)
        ).all()


def test_no_status_marks_delivered_with_the_legacy_answer(client, router):
    [mid] = queue(router)
    r = report(client, mid)
    assert r.status_code == 200 and r.mimetype == "application/json"
    body = r.get_json()
    assert body["status"] == "Message marked as sent."
    assert body["message"]["status"] == "D"
    assert body["message"]["delivered"] is not None and body["message"]["sent"] is not None


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("1", "D"),
        ("2", "F"),
        ("4", "S"),
        ("8", "S"),
        ("16", "F"),
        ("32", "Q"),
        ("sent", "S"),
        ("delivered", "D"),
        ("failed", "F"),
        ("Delivered", "D"),
    ],
)
def test_status_mapping(client, router, status, expected):
    [mid] = queue(router)
    r = report(client, mid, status)
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["message"]["status"] == expected
    assert router.read_message(mid).status == expected


def test_sequence_8_1_8_ends_delivered_and_history_has_every_report(client, router):
    [mid] = queue(router)
    answers = [report(client, mid, s, smsc="mtn", answer=f"ACK/{s}").get_json() for s in "818"]
    assert [a["message"]["status"] for a in answers] == ["S", "D", "D"]
    assert [a["report"]["changed"] for a in answers] == [True, True, False]
    assert answers[2]["status"] == "Report recorded; message stays delivered."
    rows = history(router, mid)
    assert [(h.old_status, h.new_status) for h in rows] == [("Q", "S"), ("S", "D"), ("D", "D")]
    assert [h.detail["params"]["status"] for h in rows] == ["8", "1", "8"]
    assert rows[0].detail["params"]["smsc"] == "mtn"
    assert rows[2].detail["ignored"] == "S"


def test_sixteen_ends_failed_and_later_reports_never_revive_it(client, router):
    [mid] = queue(router)
    assert report(client, mid, "16").get_json()["message"]["status"] == "F"
    for late in ("8", "1", "sent", None):
        assert report(client, mid, late).get_json()["message"]["status"] == "F"
    message = router.read_message(mid).to_json()
    assert message["delivered"] is None and "16" in message["error"]
    assert len(history(router, mid)) == 5


def test_repeated_delivered_is_a_no_op_but_recorded(client, router):
    [mid] = queue(router)
    first = report(client, mid, "1").get_json()
    second = report(client, mid, "1").get_json()
    assert first["message"]["delivered"] == second["message"]["delivered"]
    assert second["report"]["changed"] is False
    assert [(h.old_status, h.new_status) for h in history(router, mid)] == [
        ("Q", "D"),
        ("D", "D"),
    ]


def test_intermediate_32_is_recorded_only(client, router):
    [mid] = queue(router)
    body = report(client, mid, "32").get_json()
    assert (
        body["message"]["status"] == "Q"
        and body["status"] == "Report recorded; message stays queued."
    )
    [row] = history(router, mid)
    assert row.detail["params"]["status"] == "32"


def test_unknown_id_is_404_json(client):
    r = report(client, 999_999, "1")
    assert r.status_code == 404 and r.get_json()["field"] == "message_id"


def test_inbound_message_is_400(client):
    inbound = client.get("/router/receive?backend=k&sender=1&message=x").get_json()["message"]
    r = report(client, inbound["id"])
    assert r.status_code == 400 and r.get_json()["field"] == "message_id"


@pytest.mark.parametrize("bad", ["abc", "1.5", "", "-4"])
def test_bad_message_id_is_400_naming_it(client, bad):
    r = client.get("/router/delivered", query_string={"message_id": bad})
    assert r.status_code == 400 and r.get_json()["field"] == "message_id"


@pytest.mark.parametrize("bad", ["3", "64", "ok", "true"])
def test_unknown_status_is_400_naming_it_and_changes_nothing(client, router, bad):
    [mid] = queue(router)
    r = report(client, mid, bad)
    assert r.status_code == 400 and r.get_json()["field"] == "status"
    assert router.read_message(mid).status == "Q"


def test_post_form_works_too(client, router):
    [mid] = queue(router)
    r = client.post("/router/delivered/", data={"message_id": str(mid), "status": "8"})
    assert r.status_code == 200 and r.get_json()["message"]["status"] == "S"


def test_json_list_acknowledges_many_in_one_call_and_says_what_happened(client, router):
    a, b, c = queue(router, 3)
    report(client, c, "1")
    inbound = client.get("/router/receive?backend=k&sender=1&message=x").get_json()["message"]
    body = [
        {"message_id": a, "status": "sent"},
        {"message_id": b, "status": 16},
        {"message_id": c, "status": "8"},
        {"message_id": 999_999, "status": "1"},
        {"message_id": inbound["id"]},
        {"message_id": a, "status": "delivered"},
    ]
    r = client.post("/router/delivered", json=body)
    assert r.status_code == 200
    out = r.get_json()
    assert (out["applied"], out["errors"]) == (4, 2)
    results = out["results"]
    assert [x.get("status") for x in results] == ["S", "F", "D", None, None, "D"]
    assert [x.get("changed") for x in results] == [True, True, False, None, None, True]
    assert results[3]["field"] == "message_id" and "999999" in results[3]["error"]
    assert "inbound" in results[4]["error"]
    assert router.read_message(a).status == "D"


def test_json_object_with_messages_list(client, router):
    a, b = queue(router, 2)
    r = client.post("/router/delivered", json={"messages": [{"message_id": a}, {"message_id": b}]})
    assert [x["status"] for x in r.get_json()["results"]] == ["D", "D"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([], "messages"),
        ([5], "messages[0]"),
        ([{"status": "1"}], "messages[0].message_id"),
        ([{"message_id": 1}, {"message_id": "x"}], "messages[1].message_id"),
        ([{"message_id": 1, "status": "nope"}], "messages[0].status"),
        ({"messages": "1,2"}, "messages"),
    ],
)
def test_bad_batch_is_400_naming_the_field_and_applies_nothing(client, router, body, field):
    [mid] = queue(router)
    r = client.post("/router/delivered", json=body)
    assert r.status_code == 400 and r.get_json()["field"] == field
    assert router.read_message(mid).status == "Q"


def test_password_or_signed_token(make_app, caplog):
    app = make_app(ROUTER_PASSWORD="s3cret", LOG_FORMAT="text")
    client, router = app.test_client(), app.extensions["httprouter"]
    a, b = queue(router, 2)
    token = message_token(router.store.signing_key, a)
    assert report(client, a, "8").status_code == 401
    assert report(client, a, "8", token=message_token(router.store.signing_key, b)).status_code in (
        401,
        403,
    )
    assert report(client, 999_999, "8").status_code == 401  # no id probing without a credential
    with caplog.at_level(logging.INFO):
        r = report(client, a, "8", token=token)
    assert r.status_code == 200 and r.get_json()["message"]["status"] == "S"
    assert token not in caplog.text
    assert report(client, b, "1", password="s3cret").status_code == 200
    # the token is never stored in the history
    assert all("token" not in row.detail["params"] for row in history(router, a))
    assert all("password" not in row.detail["params"] for row in history(router, b))
    # a batch needs the password unless every report carries its message's token
    assert (
        client.post("/router/delivered", json=[{"message_id": a, "status": 1}]).status_code == 401
    )
    r = client.post("/router/delivered", json=[{"message_id": a, "status": 1, "token": token}])
    assert r.status_code == 200 and r.get_json()["results"][0]["status"] == "D"
    r = client.post(
        "/router/delivered", json=[{"message_id": b}], headers={"Authorization": "Bearer s3cret"}
    )
    assert r.status_code == 200


def test_backend_password_opens_reports_for_that_backends_messages(make_app):
    app = make_app(ROUTER_PASSWORD="s3cret", BACKENDS={"modem": {"password": "modem-pw"}})
    client, router = app.test_client(), app.extensions["httprouter"]
    [own] = queue(router, backend="modem")
    [other] = queue(router, backend="kannel")
    assert report(client, own, "sent", password="modem-pw").status_code == 200
    assert report(client, other, "sent", password="modem-pw").status_code == 403


def _reports_for(ids, inbound):
    """A batch that touches every rule: moves, repeats, refusals, record-only, errors."""
    return [
        {"message_id": ids[0], "status": "sent"},
        {"message_id": ids[1], "status": 16},
        {"message_id": ids[2], "status": "2"},
        {"message_id": ids[3], "status": "8"},
        {"message_id": 999_999, "status": "1"},
        {"message_id": ids[4], "status": "32", "smsc": "mtn"},
        {"message_id": inbound},
        {"message_id": ids[3], "status": "1"},
        {"message_id": ids[5]},
        {"message_id": ids[1], "status": "delivered"},
        {"message_id": ids[3], "status": "4"},
        {"message_id": ids[6], "status": "failed"},
        {"message_id": ids[0], "status": "delivered"},
    ]


def _state(router, ids):
    with router.read() as conn:
        rows = {
            r.id: (r.status, r.error, r.sent_at is not None, r.delivered_at is not None)
            for r in conn.execute(select(messages).where(messages.c.id.in_(ids)))
        }
        changes = conn.execute(
            select(status_changes).where(status_changes.c.message_id.in_(ids))
        ).all()
    position = {message_id: n for n, message_id in enumerate(ids)}
    history: dict[int, list[tuple]] = {}
    for c in sorted(changes, key=lambda c: c.id):
        detail = dict(c.detail or {})
        if "params" in detail:
            detail["params"] = {k: v for k, v in detail["params"].items() if k != "message_id"}
        history.setdefault(position[c.message_id], []).append(
            (c.old_status, c.new_status, c.cause, detail)
        )
    return [rows[i] for i in ids], history


def test_a_batch_answers_and_records_what_one_report_at_a_time_does(client, router):
    """The set-based batch gives each report the outcome or error the per-report path gives."""
    batch_ids, single_ids = queue(router, 7), queue(router, 7)
    inbound = client.get("/router/receive?backend=k&sender=1&message=x").get_json()["message"]
    for ids in (batch_ids, single_ids):  # the same history before: one message already delivered
        assert report(client, ids[6], "1").status_code == 200

    out = client.post("/router/delivered", json=_reports_for(batch_ids, inbound["id"])).get_json()

    single = _reports_for(single_ids, inbound["id"])
    expected: list[dict] = [{} for _ in single]
    with router.engine.begin() as conn:  # what /router/delivered did before: one by one, id order
        for i in sorted(range(len(single)), key=lambda i: single[i]["message_id"]):
            item = single[i]
            try:
                expected[i] = apply_report(
                    conn, item["message_id"], parse_status(item.get("status")), item
                ).to_json()
            except HttpRouterError as exc:
                expected[i] = {"message_id": item["message_id"], **exc.to_json()}

    def same_shape(results, ids):
        names = {str(message_id): f"#{n}" for n, message_id in enumerate(ids)}
        shaped = []
        for result in results:
            result = dict(result)
            result["message_id"] = names.get(str(result["message_id"]), result["message_id"])
            if "error" in result:
                result["error"] = re.sub(
                    r"\d+", lambda m: names.get(m.group(), m.group()), result["error"]
                )
            shaped.append(result)
        return shaped

    assert same_shape(out["results"], batch_ids) == same_shape(expected, single_ids)
    assert (out["applied"], out["errors"]) == (11, 2)
    assert _state(router, batch_ids) == _state(router, single_ids)
    assert router.read_message(batch_ids[3]).status == "D"
    assert router.read_message(batch_ids[2]).error == "gateway reported failure (status 2)"


def test_a_batch_of_100_takes_a_few_statements_not_some_per_report(client, router):
    ids = queue(router, 100)
    statements: list[str] = []
    engine = router.engine
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        r = client.post(
            "/router/delivered", json=[{"message_id": i, "status": "sent"} for i in ids]
        )
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert r.status_code == 200 and r.get_json()["applied"] == 100
    # BEGIN (SQLite), one read, one UPDATE, one history insert (one executemany)
    assert len(statements) <= 4, statements
    assert {m["status"] for m in (router.read_message(i).to_json() for i in ids)} == {"S"}
