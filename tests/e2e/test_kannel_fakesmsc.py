"""Real Kannel end to end: fakesmsc → bearerbox → smsbox → /router/receive → echo app →
dispatcher → Kannel sendsms → fakesmsc, and Kannel's delivery report → /router/delivered → D.

Runs docs/kannel.conf.example with free loopback ports. Starts and stops only its own processes.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import unquote_plus, unquote_to_bytes

import pytest
from sqlalchemy import select

from httprouter.store.engine import make_engine
from httprouter.store.schema import messages

from ..support.kannel import (
    BEARERBOX,
    FAKESMSC,
    SMSBOX,
    Processes,
    fill_kannel_conf,
    wait_port,
    wait_until,
)
from ..support.servers import ServedRouter, free_port

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "kannel.conf.example"
ROUTER_PASSWORD = "router-pw-e2e"
SENDSMS_PASSWORD = "sendsms-pw-e2e"
SHORTCODE = "8080"
SENDER = "255700111222"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not os.environ.get("CI") and not all(os.path.exists(p) for p in (BEARERBOX, FAKESMSC)),
        reason="Kannel is not installed (apt-get install kannel kannel-extras; CI always has it)",
    ),
]

# (label, fakesmsc message type, payload as fakesmsc wants it, the exact text it stands for)
CASES = [
    ("plain", "text", "echo hello", "echo hello"),
    ("url specials", "text", "echo a & b = c + 5% done", "echo a & b = c + 5% done"),
    ("accents", "text", "echo Habari yako? ñ €", "echo Habari yako? ñ €"),
    (
        "emoji as UCS-2",
        "ucs2",
        "".join(f"%{b:02X}" for b in "echo 😀 sawa".encode("utf-16-be")),
        "echo 😀 sawa",
    ),
]


def kannel_conf(workdir: Path, router_url: str, ports: dict[str, int]) -> str:
    """The example configuration with this run's ports, paths and secrets."""
    return fill_kannel_conf(
        EXAMPLE,
        workdir,
        router_url,
        {**ports, "smsc": ports["fake"]},
        {"CHANGE-ME-router": ROUTER_PASSWORD, "CHANGE-ME-sendsms": SENDSMS_PASSWORD},
    )


def mt_texts(output: str) -> list[str]:
    """The texts fakesmsc received from Kannel (its 'Got message' lines), decoded."""
    texts = []
    for line in output.splitlines():
        match = re.search(r"Got message \d+: <(\S+) (\S+) (\S+) (.*)>\s*$", line)
        if not match:
            continue
        kind, payload = match.group(3), match.group(4)
        if kind in ("ucs2", "ucs-2"):
            raw = unquote_to_bytes(payload.replace("+", "%20"))
            texts.append(raw.decode("utf-16-be"))
        elif kind == "data":
            texts.append(unquote_plus(payload))
        else:
            texts.append(payload)
    return texts


def test_kannel_round_trip_exact_texts_and_delivery_reports(tmp_path):
    ports = {name: free_port() for name in ("admin", "smsbox", "fake", "sendsms")}
    procs = Processes(tmp_path)
    server = None
    try:
        server = ServedRouter(
            tmp_path,
            {
                "SMS_APPS": ["httprouter.apps.echo.EchoApp"],
                "ROUTER_PASSWORD": ROUTER_PASSWORD,
                "BACKENDS": {
                    "default": {
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
        router_url = server.url  # also the PUBLIC_URL the dispatcher signs DLR URLs with
        conf = tmp_path / "kannel.conf"
        conf.write_text(kannel_conf(tmp_path, router_url, ports))
        procs.start("bearerbox", BEARERBOX, str(conf))
        wait_port(ports["smsbox"])
        procs.start("smsbox", SMSBOX, str(conf))
        wait_port(ports["sendsms"])
        wait_port(ports["fake"])
        # fakesmsc picks at random among the messages it is given: run one per message, in turn,
        # each staying connected until Kannel hands it the echo.
        received = []
        for i, (_label, kind, payload, _text) in enumerate(CASES):
            name = f"fakesmsc{i}"
            procs.start(
                name,
                FAKESMSC,
                "-H",
                "127.0.0.1",
                "-r",
                str(ports["fake"]),
                "-m",
                "1",
                f"{SENDER} {SHORTCODE} {kind} {payload}",
            )
            got = wait_until(lambda n=name: mt_texts(procs.output(n)), timeout=120)
            assert got, f"{procs.output(name)}\n{server.output()}"
            received += got
            procs.stop_last()
        engine = make_engine(f"sqlite:///{tmp_path}/httprouter.sqlite3")

        def rows(direction):
            with engine.connect() as conn:
                return conn.execute(
                    select(messages)
                    .where(messages.c.direction == direction)
                    .order_by(messages.c.id)
                ).all()

        def delivered():
            out = rows("O")
            return out if len(out) >= len(CASES) and all(r.status == "D" for r in out) else None

        final = wait_until(delivered, timeout=120)
        logs = f"\n{server.output()}"
        assert final, [(r.text, r.status, r.error) for r in rows("O")] + [logs]
        inbound = rows("I")
        expected = [case[3] for case in CASES]
        echoes = [t.removeprefix("echo ") for t in expected]
        assert [r.text for r in inbound] == expected, logs
        assert all(r.external_id for r in inbound)  # Kannel's %I, for de-duplication
        assert [r.text for r in final] == echoes
        assert received == echoes, logs
        history = history_of(engine, [r.id for r in final])
        engine.dispose()
        # Q → S on sendsms's 202 and Kannel's report 8, then D on report 1. A report may arrive
        # before the dispatcher has recorded the 202: then it moves Q → D and S is only recorded.
        assert all(h[:2] == ["P", "Q"] and h[-1] == "D" for h in history), history
        assert all(r.sent_at is not None and r.attempts == 1 for r in final)
    finally:
        procs.stop()
        if server is not None:
            server.stop()
    assert SENDSMS_PASSWORD not in server.output()
    assert ROUTER_PASSWORD not in server.output()


def history_of(engine, ids):
    from httprouter.store.schema import status_changes

    with engine.connect() as conn:
        found = {i: [] for i in ids}
        rows = conn.execute(
            select(status_changes.c.message_id, status_changes.c.new_status)
            .where(status_changes.c.message_id.in_(ids))
            .order_by(status_changes.c.id)
        )
        for message_id, status in rows:
            found[message_id].append(status)
    return list(found.values())
