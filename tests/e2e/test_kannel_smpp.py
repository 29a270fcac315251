"""Real Kannel over SMPP, end to end: an SMSC simulator (tests/support/smsc.py) → bearerbox's
`smsc = smpp` transceiver → smsbox → /router/backends/operator/receive → echo app → dispatcher →
Kannel sendsms → submit_sm at the SMSC, and the SMSC's receipt → Kannel DLR →
/router/backends/operator/delivered.

Runs docs/kannel-smpp.conf.example with free loopback ports. One Kannel, router and SMSC serve
every case of the module; each case has its own handset number. Starts and stops only its own
processes.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from httprouter.store.engine import make_engine
from httprouter.store.schema import backends, connections, messages, status_changes

from ..support.gsm import gsm7_encode
from ..support.kannel import (
    BEARERBOX,
    SMSBOX,
    Processes,
    fill_kannel_conf,
    wait_port,
    wait_until,
)
from ..support.servers import ServedRouter, free_port
from ..support.smsc import SMSC, Message

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "kannel-smpp.conf.example"
BACKEND = "operator"  # the example's smsc-id
ROUTER_PASSWORD = "router-pw-smpp"
SENDSMS_PASSWORD = "sendsms-pw-smpp"
SMPP_PASSWORD = "smpp-pw"  # SMPP passwords are at most 8 characters
SHORTCODE = "8080"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not os.environ.get("CI") and not all(os.path.exists(p) for p in (BEARERBOX, SMSBOX)),
        reason="Kannel is not installed (apt-get install kannel kannel-extras; CI always has it)",
    ),
]


def kannel_conf(workdir: Path, router_url: str, ports: dict[str, int]) -> str:
    """The example configuration with this run's ports, paths and secrets."""
    secrets = {
        "CHANGE-ME-router": ROUTER_PASSWORD,
        "CHANGE-ME-sendsms": SENDSMS_PASSWORD,
        "smsc-password = CHANGE-ME": f"smsc-password = {SMPP_PASSWORD}",
    }
    return fill_kannel_conf(EXAMPLE, workdir, router_url, ports, secrets)


class Stack:
    """The SMSC simulator, Kannel and the router, with ways to read what each saw."""

    def __init__(self, workdir: Path, smsc: SMSC, server: ServedRouter, procs: Processes) -> None:
        self.workdir = workdir
        self.smsc = smsc
        self.server = server
        self.procs = procs
        self.engine = make_engine(f"sqlite:///{workdir}/httprouter.sqlite3")

    def logs(self) -> str:
        kannel = "\n".join(
            (self.workdir / name).read_text(errors="replace")[-4000:]
            for name in ("bearerbox.log", "smsbox.log")
            if (self.workdir / name).exists()
        )
        return f"\n--- router\n{self.server.output()[-4000:]}\n--- kannel\n{kannel}\n--- smsc\n{self.smsc.log()[-2000:]}"

    def rows(self, handset: str, direction: str) -> list[Any]:
        with self.engine.connect() as conn:
            return conn.execute(
                select(messages, backends.c.name.label("backend"))
                .join(connections, connections.c.id == messages.c.connection_id)
                .join(backends, backends.c.id == messages.c.backend_id)
                .where(connections.c.identity == handset, messages.c.direction == direction)
                .order_by(messages.c.id)
            ).all()

    def final(self, handset: str, statuses: tuple[str, ...] = ("D", "F")) -> Any:
        """The one reply to `handset`, once it reached one of `statuses`."""

        def settled() -> Any:
            out = self.rows(handset, "O")
            return out if out and all(r.status in statuses for r in out) else None

        found = wait_until(settled, timeout=60)
        assert found, [(r.text, r.status, r.error) for r in self.rows(handset, "O")] + [self.logs()]
        [reply] = found
        return reply

    def history(self, message_id: int) -> list[tuple[str, str, Any]]:
        """(new status, cause, the report's status parameter) for each move, in order."""
        with self.engine.connect() as conn:
            found = conn.execute(
                select(status_changes.c.new_status, status_changes.c.cause, status_changes.c.detail)
                .where(status_changes.c.message_id == message_id)
                .order_by(status_changes.c.id)
            ).all()
        return [
            (status, cause, ((detail or {}).get("params") or {}).get("status"))
            for status, cause, detail in found
        ]

    def replies_to(self, handset: str, n: int = 1) -> list[Message]:
        def complete() -> list[Message]:
            return [m for m in self.smsc.messages() if m.destination == handset and m.complete]

        found = wait_until(lambda: len(complete()) >= n and complete(), timeout=60)
        assert found, [m for m in self.smsc.messages()] + [self.logs()]
        return found


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    workdir = tmp_path_factory.mktemp("kannel-smpp")
    ports = {name: free_port() for name in ("admin", "smsbox", "sendsms")}
    procs = Processes(workdir)
    server = None
    # Receipts half a second after the submit: Kannel's report 8 (its fetch already under way)
    # comes first, as on a real network.
    with SMSC.start(workdir, receipt_delay=0.5) as smsc:
        ports["smsc"] = smsc.port
        try:
            server = ServedRouter(
                workdir,
                {
                    "SMS_APPS": ["httprouter.apps.echo.EchoApp"],
                    "ROUTER_PASSWORD": ROUTER_PASSWORD,
                    "BACKENDS": {
                        BACKEND: {
                            "ENGINE": "kannel",
                            "url": f"http://127.0.0.1:{ports['sendsms']}/cgi-bin/sendsms",
                            "sendsms_user": "router",
                            "sendsms_password": SENDSMS_PASSWORD,
                            "backoff_base": 1,
                            "backoff_max": 2,
                            "max_attempts": 10,
                        }
                    },
                },
            )
            conf = workdir / "kannel.conf"
            conf.write_text(kannel_conf(workdir, server.url, ports))
            procs.start("bearerbox", BEARERBOX, str(conf))
            wait_port(ports["smsbox"])
            procs.start("smsbox", SMSBOX, str(conf))
            wait_port(ports["sendsms"])
            session = smsc.wait_bound(timeout=30)
            assert session["bound"] == "transceiver" and session["system_id"] == "router"
            binds = smsc.pdus("bind_transceiver", "in")
            assert binds and all(b.password == SMPP_PASSWORD for b in binds)
            yield Stack(workdir, smsc, server, procs)
        finally:
            procs.stop()
            if server is not None:
                server.stop()
    assert SENDSMS_PASSWORD not in server.output()
    assert ROUTER_PASSWORD not in server.output()


def inbound(stack: Stack, handset: str) -> Any:
    found = wait_until(lambda: stack.rows(handset, "I"), timeout=60)
    assert found, stack.logs()
    [row] = found  # stored once
    assert row.external_id  # Kannel's %I, for de-duplication
    assert row.backend == BACKEND  # the sms-service's URL named it
    return row


def inbound_text(stack: Stack, handset: str) -> str:
    return inbound(stack, handset).text


def test_gsm_echo_delivered(stack):
    handset = "255700100001"
    [accepted] = stack.smsc.inject_mo(handset, SHORTCODE, "echo hello")
    assert accepted.status == 0
    row = inbound(stack, handset)
    assert row.text == "echo hello"
    # Kannel decoded the GSM 03.38 septets and passed UTF-8 (%C) with coding 0 (%c).
    assert (row.fields["coding"], row.fields["charset"]) == ("0", "UTF-8")
    [reply] = stack.replies_to(handset)
    [part] = reply.parts
    assert (part.source_addr, part.data_coding, part.esm_class & 0x40) == (SHORTCODE, 0, 0)
    assert part.short_message == b"hello" and reply.text == "hello"
    assert part.registered_delivery & 0x03 == 1  # Kannel asked for a receipt (dlr-mask 31)
    final = stack.final(handset)
    assert (final.text, final.status) == ("hello", "D")
    [receipt] = [r for r in stack.smsc.receipts() if r.receipted_message_id == part.message_id]
    assert receipt.message_state == "DELIVERED"
    history = stack.history(final.id)
    assert [h[0] for h in history][:2] == ["P", "Q"] and history[-1][0] == "D", history
    # Kannel's own reports: 8 when the SMSC took the submit, then 1 from its receipt.
    assert [h[2] for h in history if h[1] == "report"] == ["8", "1"], history


def test_undeliverable_receipt_fails_the_message(stack):
    handset = "255700100002"
    stack.smsc.fail_receipts_for(handset)
    [accepted] = stack.smsc.inject_mo(handset, SHORTCODE, "echo not for you")
    assert accepted.status == 0
    assert inbound_text(stack, handset) == "echo not for you"
    [reply] = stack.replies_to(handset)
    assert reply.text == "not for you"
    final = stack.final(handset)
    assert final.status == "F", stack.history(final.id)
    [receipt] = [r for r in stack.smsc.receipts() if r.receipted_message_id == reply.message_ids[0]]
    assert receipt.message_state == "UNDELIVERABLE" and b"stat:UNDELIV" in receipt.short_message
    history = stack.history(final.id)
    assert [h[2] for h in history if h[1] == "report"] == ["8", "2"], history
    assert history[-1][0] == "F" and "status 2" in (final.error or ""), history


def test_long_reply_arrives_as_concatenated_parts(stack):
    handset = "255700100003"
    body = " ".join(f"habari-{n:03d}" for n in range(20))  # 219 characters
    assert len(body) > 160
    # Inbound over 160 characters comes as concatenated parts too: Kannel joins them.
    accepted = stack.smsc.inject_mo(handset, SHORTCODE, "echo " + body)
    assert [a.status for a in accepted] == [0, 0]
    assert inbound_text(stack, handset) == "echo " + body
    [reply] = stack.replies_to(handset)
    assert reply.total == 2 and reply.complete
    assert all(p.esm_class & 0x40 and p.data_coding == 0 for p in reply.parts)
    assert [(p.concat.total, p.concat.seq) for p in reply.parts] == [(2, 1), (2, 2)]
    assert len({p.concat.ref for p in reply.parts}) == 1
    assert [len(p.payload) for p in reply.parts] == [153, len(body) - 153]
    assert reply.text == body
    # Kannel asks for a receipt on the first part only: one report pair for the message.
    assert [p.registered_delivery & 0x03 for p in reply.parts] == [1, 0]
    final = stack.final(handset)
    assert (final.text, final.status) == (body, "D")
    assert [h[2] for h in stack.history(final.id) if h[1] == "report"] == ["8", "1"]


def test_ucs2_both_ways(stack):
    handset = "255700100004"
    text = "echo नमस्ते 😀 habari"
    [accepted] = stack.smsc.inject_mo(handset, SHORTCODE, text, coding="ucs2")
    assert accepted.status == 0
    row = inbound(stack, handset)
    assert row.text == text
    # %b is the raw UTF-16BE here: the router decoded it by charset and coding.
    assert (row.fields["coding"], row.fields["charset"]) == ("2", "UTF-16BE")
    [reply] = stack.replies_to(handset)
    [part] = reply.parts
    assert part.data_coding == 8 and part.esm_class & 0x40 == 0
    assert part.short_message == "नमस्ते 😀 habari".encode("utf-16-be")
    final = stack.final(handset)
    assert (final.text, final.status) == ("नमस्ते 😀 habari", "D")


def test_url_specials_and_euro_as_gsm(stack):
    handset = "255700100005"
    text = "echo & = + % €"
    [accepted] = stack.smsc.inject_mo(handset, SHORTCODE, text)
    assert accepted.status == 0
    [mo] = [p for p in stack.smsc.pdus("deliver_sm", "out") if p.source_addr == handset]
    assert mo.data_coding == 0 and mo.short_message == b"echo & = + % \x1b\x65"
    assert inbound_text(stack, handset) == text
    [reply] = stack.replies_to(handset)
    [part] = reply.parts
    assert part.data_coding == 0
    assert part.short_message == gsm7_encode("& = + % €") == b"& = + % \x1b\x65"
    final = stack.final(handset)
    assert (final.text, final.status) == ("& = + % €", "D")
