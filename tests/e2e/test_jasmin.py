"""Real Jasmin end to end: SMSC simulator → Jasmin (SMPP client connector, HTTP client
connector) → /router/backends/jasmin/receive → echo app → dispatcher → Jasmin's /send → SMSC,
and Jasmin's delivery reports → /router/backends/jasmin/delivered.

Jasmin 0.11.1 runs from tests/support/jasmin.py (its own venv, vhost, Redis database, ports),
configured with the jCli commands of docs/gateways/jasmin.md. Every case uses its own phone
number, so the cases share one Jasmin, one SMSC and one router.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from sqlalchemy import select

from httprouter.store.engine import make_engine
from httprouter.store.schema import connections, delivery_attempts, messages, status_changes

from ..support.gsm import gsm7_encode
from ..support.jasmin import Jasmin, jcli_blocks, parse_blocks, placeholders
from ..support.kannel import wait_until
from ..support.servers import ServedRouter, free_port
from ..support.smsc import SMSC, Message

ROUTER_PASSWORD = "router-pw-jasmin-e2e"
WRONG_PASSWORD = "not-the-password"
SHORTCODE = "8080"

# (label, how the handset sends it, the text after "echo ", how Jasmin must hand the reply on).
# The long ones go as concatenated parts both ways. (No text ends in a space: the echo app
# strips the message before it answers.)
TEXTS = [
    ("emoji", "ucs2", "😀🎉 sawa kabisa 👍🏽", 8),
    ("swahili", "gsm7", "Habari za asubuhi? Nzuri sana, asante!", 0),
    ("hindi", "ucs2", "नमस्ते, आप कैसे हैं?", 8),
    ("url specials", "gsm7", "a & b = c + 5% € done", 0),
    ("long hindi and emoji", "ucs2", " ".join(["नमस्ते 😀 दुनिया"] * 6), 8),
    ("long gsm with escapes", "gsm7", " ".join(["Habari za asubuhi € [x] {y}"] * 8), 0),
]


@dataclass
class Stack:
    jasmin: Jasmin
    smsc: SMSC
    router: ServedRouter
    workdir: Path

    def rows(self, identity: str, direction: str | None = None) -> list:
        engine = make_engine(f"sqlite:///{self.workdir}/httprouter.sqlite3")
        try:
            with engine.connect() as conn:
                query = (
                    select(messages)
                    .join(connections, messages.c.connection_id == connections.c.id)
                    .where(connections.c.identity == identity)
                    .order_by(messages.c.id)
                )
                if direction:
                    query = query.where(messages.c.direction == direction)
                return list(conn.execute(query).all())
        finally:
            engine.dispose()

    def history(self, message_id: int) -> list[str]:
        return [row.new_status for row in self._rows(status_changes, message_id)]

    def attempts(self, message_id: int) -> list:
        return self._rows(delivery_attempts, message_id)

    def _rows(self, table, message_id: int) -> list:
        engine = make_engine(f"sqlite:///{self.workdir}/httprouter.sqlite3")
        try:
            with engine.connect() as conn:
                query = select(table).where(table.c.message_id == message_id).order_by(table.c.id)
                return list(conn.execute(query).all())
        finally:
            engine.dispose()

    def messages_to(self, destination: str, n: int, timeout: float = 60) -> list[Message]:
        """Wait for `n` complete messages the SMSC got for `destination`; return them."""

        def complete() -> list[Message] | None:
            got = [m for m in self.smsc.messages() if m.destination == destination and m.complete]
            return got if len(got) >= n else None

        found = wait_until(complete, timeout)
        assert found, self.explain(f"no {n} message(s) to {destination} at the SMSC")
        return found

    def final(self, identity: str, statuses: str = "DF", timeout: float = 60) -> list:
        """Wait until every outbound message to `identity` has one of `statuses`."""
        found = wait_until(
            lambda: (
                out
                if (out := self.rows(identity, "O")) and all(r.status in statuses for r in out)
                else None
            ),
            timeout,
        )
        rows = [(r.id, r.text, r.status, r.error) for r in self.rows(identity, "O")]
        assert found, self.explain(f"outbound to {identity} not final: {rows}")
        return found

    def send(self, backend: str, to: str, text: str) -> dict:
        answer = requests.post(
            self.router.url + "/router/send",
            json={"backend": backend, "to": [to], "text": text},
            headers={"Authorization": f"Bearer {ROUTER_PASSWORD}"},
            timeout=30,
        )
        assert answer.status_code == 201, answer.text
        return answer.json()

    def explain(self, what: str) -> str:
        return "\n".join(
            [
                what,
                "--- router",
                self.router.output()[-6000:],
                "--- jasmind",
                self.jasmin.output()[-2000:],
                "--- jasmin messages.log",
                self.jasmin.log("messages")[-4000:],
                "--- jasmin deliversm-thrower.log",
                self.jasmin.log("deliversm-thrower")[-3000:],
                "--- jasmin dlr-thrower.log",
                self.jasmin.log("dlr-thrower")[-3000:],
                "--- smsc",
                self.smsc.log()[-2000:],
            ]
        )


def phone(case: int) -> str:
    return f"2557001{case:05d}"


@pytest.fixture(scope="module")
def stack(jasmin: Jasmin, tmp_path_factory: pytest.TempPathFactory):
    workdir = tmp_path_factory.mktemp("jasmin-e2e")
    smsc = SMSC.start(workdir)
    router = None
    try:
        port = free_port()
        router_url = f"http://127.0.0.1:{port}"
        dispatch = {"backoff_base": 1, "backoff_max": 2, "max_attempts": 3}
        backends = {
            "jasmin": {
                "ENGINE": "jasmin",
                "url": jasmin.send_url,
                "gateway_user": jasmin.user,
                "gateway_password": jasmin.password,
                "dlr_level": 3,
                **dispatch,
            },
            "jasmin_wrong": {
                "ENGINE": "jasmin",
                "url": jasmin.send_url,
                "gateway_user": jasmin.user,
                "gateway_password": WRONG_PASSWORD,
                "dlr_level": 3,
                **dispatch,
            },
        }
        router = ServedRouter(
            workdir,
            {
                "SMS_APPS": ["httprouter.apps.echo.EchoApp"],
                "ROUTER_PASSWORD": ROUTER_PASSWORD,
                "PUBLIC_URL": router_url,
                "BACKENDS": backends,
            },
            port=port,
        )
        jasmin.configure(
            smsc_port=smsc.port, router_url=router_url, router_password=ROUTER_PASSWORD
        )
        jasmin.wait_bound()
        smsc.wait_bound()
        yield Stack(jasmin, smsc, router, workdir)
    finally:
        if router is not None:
            router.stop()
        smsc.stop()


def test_doc_commands_are_blocks_jcli_can_take():
    """The harness sends docs/gateways/jasmin.md's commands: each block closes with `ok`."""
    assert placeholders() == {
        "gid", "uid", "username", "password", "smsc_cid", "smsc_host", "smsc_port",
        "smsc_username", "smsc_password", "http_cid", "router_url", "backend", "router_password",
    }  # fmt: skip
    blocks = jcli_blocks({key: "x" for key in placeholders()})
    assert [b.command for b in blocks] == [
        "group -a",
        "user -a",
        "smppccm -a",
        "smppccm -1 x",
        "httpccm -a",
        "morouter -a",
        "mtrouter -a",
    ]
    assert all(b.lines[-1] == "ok" for b in blocks if b.opens_session)
    with pytest.raises(RuntimeError, match="not closed"):
        parse_blocks("user -a\nusername x\n")


@pytest.mark.slow
def test_inbound_is_stored_once_and_answered(stack: Stack):
    number = phone(1)
    accepted = stack.smsc.inject_mo(number, SHORTCODE, "ping")
    assert [pdu.status for pdu in accepted] == [0]
    [reply] = stack.messages_to(number, 1)
    assert (reply.text, reply.data_coding, reply.payload) == ("pong", 0, b"pong")
    # Past Jasmin's retry delay: had the router not answered exactly ACK/Jasmin, the same id
    # would have come again by now.
    time.sleep(stack.jasmin.retry_delay * 2 + 1)
    [inbound] = stack.rows(number, "I")
    [mo] = [m for m in stack.jasmin.message_log("SMS-MO") if m["from"] == f"b'{number}'"]
    assert (inbound.text, inbound.status, inbound.external_id) == ("ping", "H", mo["queue-msgid"])
    assert stack.jasmin.thrown(inbound.external_id) == {"ok": 1, "failed": 0}
    [outbound] = stack.final(number)
    assert (outbound.text, outbound.in_response_to_id) == ("pong", inbound.id)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("label", "coding", "text", "data_coding"), TEXTS, ids=[t[0] for t in TEXTS]
)
def test_text_round_trips_exactly(stack: Stack, label, coding, text, data_coding):
    number = phone(10 + [t[0] for t in TEXTS].index(label))
    stack.smsc.inject_mo(number, SHORTCODE, f"echo {text}", coding)
    [reply] = stack.messages_to(number, 1)
    [inbound] = stack.rows(number, "I")
    assert inbound.text == f"echo {text}"
    expected = text.encode("utf-16-be") if data_coding == 8 else gsm7_encode(text)
    assert (reply.data_coding, reply.payload, reply.text) == (data_coding, expected, text)
    if label.startswith("long"):
        # UDH-concatenated, a delivery receipt asked for on the last part only.
        assert reply.total > 1 and all(part.has_udh for part in reply.parts)
        assert [p.registered_delivery for p in reply.parts] == [0] * (reply.total - 1) + [1]
    else:
        assert reply.total == 1 and not reply.parts[0].has_udh
    [outbound] = stack.final(number)
    assert (outbound.text, outbound.status, outbound.attempts) == (text, "D", 1)


@pytest.mark.slow
def test_delivery_reports_deliver_and_fail(stack: Stack):
    delivered, undelivered = phone(20), phone(21)
    stack.smsc.fail_receipts_for(undelivered)
    stack.send("jasmin", f"+{delivered}", "Ujumbe wako umefika")
    stack.send("jasmin", f"+{undelivered}", "Ujumbe huu haukufika")
    [good] = stack.final(f"+{delivered}")
    [bad] = stack.final(f"+{undelivered}")
    assert (good.status, bad.status) == ("D", "F")
    for row, number in ((good, delivered), (bad, undelivered)):
        [submit] = stack.messages_to(number, 1)
        [mt] = [m for m in stack.jasmin.message_log() if m["queue-msgid"] == row.external_id]
        assert mt["smpp-msgid"] == f"b'{submit.message_ids[0]}'"
        assert row.attempts == 1
        # Two reports each: level 1 (ESME_ROK) and level 2 (DELIVRD, UNDELIV).
        assert stack.jasmin.dlr_thrown(row.external_id) == 2
    assert stack.history(good.id)[-2:] == ["S", "D"]
    assert stack.history(bad.id)[-2:] == ["S", "F"]
    assert bad.error == "gateway reported failure (status UNDELIV)"
    # Jasmin keeps its DLR lookups in the run's own Redis database (the dbid fix works).
    assert any(key.startswith("queue-msgid:") for key in stack.jasmin.redis_keys())


@pytest.mark.slow
def test_wrong_gateway_password_fails_once(stack: Stack):
    number = phone(30)
    stack.send("jasmin_wrong", f"+{number}", "Hii haitafika")
    [row] = stack.final(f"+{number}", "F")
    time.sleep(5)  # longer than backoff_max: a retry would have happened by now
    [row] = stack.rows(f"+{number}", "O")
    [attempt] = stack.attempts(row.id)
    assert (row.status, row.attempts, row.external_id) == ("F", 1, None)
    assert (attempt.response_status, attempt.response_body) == (
        403,
        f'Error "Authentication failure for username:{stack.jasmin.user}"',
    )
    assert stack.jasmin.log("http-accesslog").count('"POST /send HTTP/1.1" 403') == 1
    assert not [m for m in stack.smsc.messages() if m.destination == number]


@pytest.mark.slow
def test_no_password_in_the_router_log(stack: Stack):
    log = stack.router.output()
    assert "/receive?password=***" in log  # Jasmin's connector URL, masked
    for secret in (ROUTER_PASSWORD, stack.jasmin.password, WRONG_PASSWORD):
        assert secret not in log
