"""Status moves only forward; signed tokens are per message and stable across processes."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from httprouter.domain.statuses import can_move
from httprouter.errors import NotFoundError
from httprouter.store.history import Change, change_status, change_statuses
from httprouter.store.schema import messages, status_changes
from httprouter.store.tokens import message_token, verify_token


@pytest.mark.parametrize(
    ("old", "new", "ok"),
    [
        ("Q", "S", True),
        ("S", "D", True),
        ("Q", "F", True),
        ("E", "F", True),
        ("E", "E", True),
        ("D", "S", False),
        ("D", "F", False),
        ("F", "S", False),
        ("F", "D", False),
        ("C", "Q", False),
        ("H", "D", False),
        ("S", "Q", False),
    ],
)
def test_can_move(old, new, ok):
    assert can_move(old, new) is ok


def test_change_status_records_moves_and_refusals(router):
    reply_id = router.receive("ping", ("k", "1")).responses[0].id
    with router.engine.begin() as conn:
        assert change_status(conn, reply_id, "S", "test").changed
        assert change_status(conn, reply_id, "D", "test").changed
        refused = change_status(conn, reply_id, "S", "late", detail={"raw": "8"})
        assert (refused.old, refused.new, refused.changed) == ("D", "D", False)
    with router.read() as conn:
        rows = conn.execute(
            select(
                status_changes.c.old_status, status_changes.c.new_status, status_changes.c.detail
            )
            .where(status_changes.c.message_id == reply_id)
            .order_by(status_changes.c.id)
        ).all()
    assert [(r[0], r[1]) for r in rows][-3:] == [("Q", "S"), ("S", "D"), ("D", "D")]
    assert rows[-1][2] == {"raw": "8", "ignored": "S"}


def test_change_status_unknown_id(router):
    with router.engine.begin() as conn, pytest.raises(NotFoundError):
        change_status(conn, 999_999, "S", "test")


def test_tokens_are_per_message_and_key():
    key = b"k" * 32
    token = message_token(key, 5)
    assert verify_token(key, 5, token)
    assert not verify_token(key, 6, token)
    assert not verify_token(b"other", 5, token)


def test_generated_signing_key_is_shared_through_the_database(make_app):
    first = make_app().extensions["httprouter"].store.signing_key
    second = make_app().extensions["httprouter"].store.signing_key
    assert first == second and len(first) >= 32
    assert (
        make_app(SECRET_KEY="configured").extensions["httprouter"].store.signing_key
        == b"configured"
    )


def test_requeue_only_errored_or_failed(router):
    from httprouter.store.history import requeue

    reply_id = router.receive("ping", ("k", "1")).responses[0].id
    with router.engine.begin() as conn:
        assert not requeue(conn, reply_id, push=False).changed  # Q stays Q, recorded
        change_status(conn, reply_id, "F", "test")
        result = requeue(conn, reply_id, push=True)
    assert (result.old, result.new) == ("F", "Q")
    assert router.read_message(reply_id).attempts == 0


def test_change_statuses_applies_a_batch_like_one_by_one(router):
    replies = [router.receive(f"ping {i}", ("k", str(i))).responses[0].id for i in range(4)]
    sent = {"error": None}
    with router.engine.begin() as conn:
        change_status(conn, replies[3], "D", "earlier report")
        results = change_statuses(
            conn,
            [
                Change(replies[2], "F", "report", {"n": 2}, {"error": "refused"}),
                Change(replies[0], "S", "report", {"n": 0}, sent),
                Change(replies[1], "S", "report", {"n": 1}, sent),
                Change(replies[3], "S", "late report", {"n": 3}, sent),
            ],
        )
    assert [(r.message_id, r.old, r.new, r.changed) for r in results] == [
        (replies[2], "Q", "F", True),
        (replies[0], "Q", "S", True),
        (replies[1], "Q", "S", True),
        (replies[3], "D", "D", False),
    ]
    with router.read() as conn:
        rows = {
            r.id: (r.status, r.error)
            for r in conn.execute(select(messages.c.id, messages.c.status, messages.c.error))
        }
        last = conn.execute(
            select(
                status_changes.c.message_id, status_changes.c.new_status, status_changes.c.detail
            )
            .where(status_changes.c.message_id.in_(replies))
            .order_by(status_changes.c.id.desc())
            .limit(4)
        ).all()
    assert rows[replies[0]] == ("S", None) and rows[replies[1]] == ("S", None)
    assert rows[replies[2]] == ("F", "refused") and rows[replies[3]][0] == "D"
    assert {(m, s) for m, s, _ in last} == {
        (replies[0], "S"),
        (replies[1], "S"),
        (replies[2], "F"),
        (replies[3], "D"),
    }
    assert {m: d for m, _, d in last}[replies[3]] == {"n": 3, "ignored": "S"}


def test_change_statuses_writes_nothing_when_an_id_is_unknown(router):
    reply = router.receive("ping", ("k", "1")).responses[0].id
    with pytest.raises(NotFoundError), router.engine.begin() as conn:
        change_statuses(conn, [Change(reply, "S", "x"), Change(999_999, "S", "x")])
    with router.read() as conn:
        assert conn.execute(select(messages.c.status).where(messages.c.id == reply)).scalar() == "Q"
    with router.engine.begin() as conn:
        assert change_statuses(conn, []) == []
        with pytest.raises(ValueError):
            change_statuses(conn, [Change(reply, "S", "x"), Change(reply, "D", "x")])
