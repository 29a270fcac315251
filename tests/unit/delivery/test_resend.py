"""One resend for `httprouter resend` and the console's "send again": it queues the message again
and wakes the dispatchers, whichever process they run in."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select

from httprouter.delivery import dispatcher as dispatcher_module
from httprouter.delivery.dispatcher import Dispatcher
from httprouter.delivery.resend import requeue_matching, resend
from httprouter.errors import NotFoundError
from httprouter.store.schema import messages, status_changes

from ...support.console_support import add_user, log_in, token
from ...support.gateway import TEMPLATE, Answer

FAST = {"backoff_base": 5, "backoff_max": 10, "timeout": 5}
REFUSED = Answer(403, "Not routable. Do not try again.")


def failed_push(make_app, gateway, count=1):
    """An app whose push backend `k` refused `count` messages for good (they are F)."""
    gw = gateway([REFUSED] * count)
    app = make_app(ROUTER_URL=gw.url + TEMPLATE, BACKENDS={"default": FAST})
    router = app.extensions["httprouter"]
    ids = [m.id for m in router.send("hello", [("k", f"+1555000{i}") for i in range(count)])]
    Dispatcher(router).run_until_idle()
    assert statuses(router, ids) == ["F"] * count
    return app, router, gw, ids


def statuses(router, ids):
    with router.engine.connect() as conn:
        query = select(messages.c.status).where(messages.c.id.in_(ids)).order_by(messages.c.id)
        return conn.execute(query).scalars().all()


@pytest.fixture
def idle_dispatcher(monkeypatch):
    """Start a dispatcher that, unless woken, sleeps a minute between looks at the table."""
    monkeypatch.setattr(dispatcher_module, "IDLE_CHECK_SECONDS", 60.0)
    started = []

    def start(router):
        dispatcher = Dispatcher(router)
        thread = threading.Thread(target=dispatcher.run, daemon=True)
        thread.start()
        started.append((dispatcher, thread))
        time.sleep(0.5)  # let it go idle
        return dispatcher

    yield start
    for dispatcher, thread in started:
        dispatcher.stop.set()
        thread.join(30)
        assert not thread.is_alive()


def test_console_send_again_wakes_an_idle_dispatcher(make_app, gateway, idle_dispatcher):
    app, router, gw, [mid] = failed_push(make_app, gateway)
    add_user(app)
    console = app.test_client()
    log_in(console)
    idle_dispatcher(router)
    answer = console.post(
        f"/router/console/messages/{mid}/resend", data={"csrf_token": token(console)}
    )
    assert answer.status_code == 302
    assert gw.wait_for(2, timeout=10), "the dispatcher slept through the resend"
    unknown = console.post(
        f"/router/console/messages/{mid + 1}/resend", data={"csrf_token": token(console)}
    )
    assert unknown.status_code == 404 and unknown.json["field"] == "id"


def test_command_line_resend_wakes_an_idle_dispatcher(make_app, gateway, idle_dispatcher):
    _app, router, gw, ids = failed_push(make_app, gateway, count=2)
    idle_dispatcher(router)
    assert requeue_matching(router, ["F"], backend="k") == 2
    assert gw.wait_for(4, timeout=10), "the dispatcher slept through the resend"


def test_resend_records_who_and_leaves_other_statuses_alone(make_app, gateway):
    _app, router, _gw, [mid] = failed_push(make_app, gateway)
    [done] = resend(router, [mid], by="operator")
    [again] = resend(router, [mid], by="operator")
    assert (done.old, done.new, done.changed) == ("F", "Q", True)
    assert (again.old, again.new, again.changed) == ("Q", "Q", False)
    with router.engine.connect() as conn:
        rows = conn.execute(
            select(status_changes.c.cause, status_changes.c.detail)
            .where(status_changes.c.message_id == mid)
            .order_by(status_changes.c.id.desc())
            .limit(2)
        ).all()
    assert [tuple(r) for r in rows] == [
        ("resend", {"by": "operator", "ignored": "Q"}),
        ("resend", {"by": "operator"}),
    ]
    with pytest.raises(NotFoundError):
        resend(router, [mid + 1000], by="operator")
