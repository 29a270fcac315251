"""The apps' phases, including the deliberate fix: cleanup runs for handled messages."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from httprouter.store.schema import messages, status_changes
from tests.support import apps as test_apps

APPS = ["tests.support.apps.A", "tests.support.apps.B", "tests.support.apps.C"]


@pytest.fixture
def recorders():
    for cls in (test_apps.A, test_apps.B, test_apps.C):
        for attr in (
            "filter_result",
            "handle_result",
            "default_result",
            "respond_in_handle",
            "outgoing_result",
        ):
            setattr(cls, attr, None)
        cls.raise_in = ()
    test_apps.Recorder.log = []
    yield test_apps
    test_apps.Recorder.log = []


def receive(make_app, text="hi"):
    app = make_app(SMS_APPS=APPS)
    router = app.extensions["httprouter"]
    return router, router.receive(text, ("console", "+1555"))


def test_unhandled_message_runs_every_phase_in_app_order(make_app, recorders):
    _, result = receive(make_app)
    assert recorders.Recorder.log == [
        "A.filter",
        "B.filter",
        "C.filter",
        "A.parse",
        "B.parse",
        "C.parse",
        "A.handle",
        "B.handle",
        "C.handle",
        "A.default",
        "B.default",
        "C.default",
        "A.cleanup",
        "B.cleanup",
        "C.cleanup",
    ]
    assert result.message.status == "H"


def test_filter_true_stops_everything(make_app, recorders):
    recorders.B.filter_result = True
    _, result = receive(make_app)
    assert recorders.Recorder.log == ["A.filter", "B.filter"]
    assert result.message.status == "H" and result.responses == []


def test_handle_true_short_circuits_and_skips_default_but_cleanup_runs(make_app, recorders):
    recorders.A.handle_result = True
    receive(make_app)
    log = recorders.Recorder.log
    assert "A.handle" in log and "B.handle" not in log
    assert not any(p.endswith(".default") for p in log)
    assert log[-3:] == ["A.cleanup", "B.cleanup", "C.cleanup"]


def test_a_response_counts_as_handled_for_default(make_app, recorders):
    recorders.B.respond_in_handle = "answer"
    _, result = receive(make_app)
    log = recorders.Recorder.log
    assert "C.handle" in log  # no True returned: later handles still run
    assert not any(p.endswith(".default") for p in log)
    assert [r.text for r in result.responses] == ["answer"]


def test_default_stops_at_first_true(make_app, recorders):
    recorders.A.default_result = True
    receive(make_app)
    log = recorders.Recorder.log
    assert "A.default" in log and "B.default" not in log


def test_app_that_raises_is_recorded_and_others_still_run(make_app, recorders):
    recorders.A.raise_in = ("handle",)
    recorders.B.respond_in_handle = "still here"
    router, result = receive(make_app)
    assert "B.handle" in recorders.Recorder.log
    assert result.message.status == "H"
    assert "A.handle: RuntimeError: A broke in handle" in result.message.error
    assert [r.text for r in result.responses] == ["still here"]
    with router.read() as conn:
        detail = conn.execute(
            select(status_changes.c.detail).where(status_changes.c.new_status == "H")
        ).scalar_one()
    assert detail["errors"] == ["A.handle: RuntimeError: A broke in handle"]


def test_app_that_raises_still_gets_200_over_http(make_app, recorders):
    recorders.A.raise_in = ("parse", "cleanup")
    client = make_app(SMS_APPS=APPS).test_client()
    r = client.get("/router/receive?backend=k&sender=1&message=x")
    assert r.status_code == 200
    assert "A.parse" in r.get_json()["message"]["error"]


def test_outgoing_runs_in_reverse_order_and_false_cancels(make_app, recorders):
    recorders.A.respond_in_handle = "reply"
    recorders.B.outgoing_result = False
    router, result = receive(make_app)
    outgoing = [p for p in recorders.Recorder.log if p.endswith(".outgoing")]
    assert outgoing == ["C.outgoing", "B.outgoing"]  # A never reached
    assert result.responses[0].status == "C"
    with router.read() as conn:
        row = conn.execute(
            select(status_changes.c.new_status, status_changes.c.detail)
            .where(status_changes.c.message_id == result.responses[0].id)
            .order_by(status_changes.c.id)
        ).all()
    assert [r.new_status for r in row] == ["P", "C"]
    assert row[-1].detail == {"app": "B"}


def test_outgoing_changes_to_text_are_kept(make_app):
    from httprouter.apps import AppBase

    class Shout(AppBase):
        def handle(self, msg):
            msg.respond("quiet")
            return True

        def outgoing(self, msg):
            msg.text = msg.text.upper()

    app = make_app(SMS_APPS=[])
    router = app.extensions["httprouter"]
    router.apps = [Shout(router)]
    result = router.receive("x", ("k", "1"))
    assert result.responses[0].text == "QUIET"
    with router.read() as conn:
        stored = conn.execute(
            select(messages.c.text).where(messages.c.id == result.responses[0].id)
        ).scalar()
    assert stored == "QUIET"


def test_respond_keeps_percent_signs_literally(make_app):
    from httprouter.apps import AppBase

    class Discount(AppBase):
        def handle(self, msg):
            msg.respond("100% off %(name)s %s")
            return True

    router = make_app(SMS_APPS=[]).extensions["httprouter"]
    router.apps = [Discount(router)]
    assert router.receive("x", ("k", "1")).responses[0].text == "100% off %(name)s %s"


def test_send_inside_a_handler_joins_the_transaction(make_app):
    router = make_app(SMS_APPS=["tests.support.apps.SendsFromHandler"]).extensions["httprouter"]
    result = router.receive("go", ("console", "+1555"))
    with router.read() as conn:
        rows = conn.execute(
            select(messages.c.text, messages.c.direction).order_by(messages.c.id)
        ).all()
    assert [tuple(r) for r in rows] == [("go", "I"), ("broadcast", "O"), ("done", "O")]
    assert result.responses[0].text == "done"


def test_app_options_are_passed_to_configure(make_app):
    router = make_app(
        SMS_APPS=[{"ENGINE": "tests.support.apps.Registry", "greeting": "karibu"}]
    ).extensions["httprouter"]
    assert router.receive("x", ("k", "1")).responses[0].text == "karibu"


def test_outgoing_hook_error_is_recorded_on_the_inbound_message(make_app, recorders):
    recorders.B.respond_in_handle = "reply"
    recorders.A.raise_in = ("outgoing",)
    router, result = receive(make_app)
    assert result.responses[0].status == "Q"  # the error does not cancel the reply
    assert "A.outgoing: RuntimeError" in result.message.error
    assert "A.outgoing: RuntimeError" in router.read_message(result.message.id).error
