"""An SMPP SMSC simulator for end-to-end tests of gateways that speak SMPP (Kannel, Jasmin).

The SMPP server runs in its own process (tests/support/smsc_server.py: Twisted + smpp.pdu3), so
no test shares a reactor with another; this module is its remote control, in plain Python::

    with SMSC.start(tmp_path) as smsc:          # or the `smsc` fixture
        ...point the gateway at 127.0.0.1:smsc.port (any system_id/password binds)...
        smsc.wait_bound()
        smsc.inject_mo("255700111222", "8080", "echo hello")
        [reply] = smsc.wait_for_messages(1)
        assert reply.text == "hello" and reply.data_coding == 0

It accepts any bind, answers enquire_link and unbind, answers every submit_sm with a fresh
message id, and sends a delivery receipt (deliver_sm, esm_class 0x04, `id:… stat:DELIVRD …`
with the receipted_message_id and message_state TLVs) `receipt_delay` seconds after each submit
that asked for one. `fail_receipts_for(number)` and `fail_next_receipts(n)` make receipts
`UNDELIV` instead. Every PDU received or sent is recorded (`pdus()`, `submits()`).
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pytest

from .gsm import Concat, concat_udh, decode_text, gsm7_decode, gsm7_encode, parse_udh, split_message

__all__ = [
    "SMSC",
    "Concat",
    "Message",
    "Pdu",
    "decode_text",
    "gsm7_decode",
    "gsm7_encode",
    "reassemble",
    "smsc",
]

REPO_ROOT = str(Path(__file__).resolve().parents[2])
CONTROL_TIMEOUT = 10.0


@dataclass(frozen=True)
class Pdu:
    """One PDU the SMSC received (`direction` "in") or sent ("out"), as recorded."""

    command: str
    direction: str
    sequence: int
    status: int
    session: int
    at: float
    source_addr: str | None = None
    destination_addr: str | None = None
    esm_class: int | None = None
    data_coding: int | None = None
    registered_delivery: int | None = None
    short_message: bytes | None = None
    message_payload: bytes | None = None
    message_id: str | None = None  # submit_sm: the id the SMSC answered with
    receipted_message_id: str | None = None
    message_state: str | None = None
    system_id: str | None = None
    password: str | None = None
    sar: Concat | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Pdu:
        def octets(name: str) -> bytes | None:
            return bytes.fromhex(record[name]) if name in record else None

        sar = None
        if "sar_msg_ref_num" in record:
            sar = Concat(
                record["sar_msg_ref_num"],
                record.get("sar_total_segments", 0),
                record.get("sar_segment_seqnum", 0),
            )
        return cls(
            command=record["command"],
            direction=record["direction"],
            sequence=record["sequence"],
            status=record["status"],
            session=record["session"],
            at=record["at"],
            source_addr=record.get("source_addr"),
            destination_addr=record.get("destination_addr"),
            esm_class=record.get("esm_class"),
            data_coding=record.get("data_coding"),
            registered_delivery=record.get("registered_delivery"),
            short_message=octets("short_message"),
            message_payload=octets("message_payload"),
            message_id=record.get("message_id"),
            receipted_message_id=record.get("receipted_message_id"),
            message_state=record.get("message_state"),
            system_id=record.get("system_id"),
            password=record.get("password"),
            sar=sar,
            raw=record,
        )

    @property
    def has_udh(self) -> bool:
        return bool((self.esm_class or 0) & 0x40)

    @property
    def udh(self) -> bytes | None:
        """The User Data Header (its length octet included), if esm_class announces one."""
        return parse_udh(self.short_message or b"")[0] if self.has_udh else None

    @property
    def concat(self) -> Concat | None:
        """Where this part sits in a concatenated message: from the UDH, else the SAR TLVs."""
        if self.has_udh:
            found = parse_udh(self.short_message or b"")[1]
            if found is not None:
                return found
        return self.sar

    @property
    def payload(self) -> bytes:
        """The message octets: message_payload if used, else short_message without its UDH."""
        if self.message_payload is not None:
            return self.message_payload
        if self.has_udh:
            return parse_udh(self.short_message or b"")[2]
        return self.short_message or b""

    @property
    def text(self) -> str:
        """This PDU's own text, decoded by its data_coding."""
        return decode_text(self.payload, self.data_coding or 0)

    @property
    def is_receipt(self) -> bool:
        return self.command == "deliver_sm" and (self.esm_class or 0) & 0x3C == 0x04


@dataclass(frozen=True)
class Message:
    """A message put back together from its submit_sm parts (one part if not concatenated)."""

    source: str
    destination: str
    data_coding: int
    parts: tuple[Pdu, ...]
    total: int  # the parts the UDH announced (1 if not concatenated)

    @property
    def complete(self) -> bool:
        return len(self.parts) == self.total

    @property
    def payload(self) -> bytes:
        return b"".join(p.payload for p in self.parts)

    @property
    def text(self) -> str:
        """The exact text: the parts' octets joined, then decoded (so a character split
        across two parts comes back whole)."""
        return decode_text(self.payload, self.data_coding)

    @property
    def message_ids(self) -> list[str]:
        return [p.message_id or "" for p in self.parts]


def reassemble(submits: list[Pdu]) -> list[Message]:
    """Group concatenated parts by (destination, reference), order them by part number, and
    return the messages in the order of their first part. A part number seen again under the same
    reference starts a new message (the sender reused the reference)."""
    messages: list[dict[str, Any]] = []
    open_groups: dict[tuple[str, int], dict[str, Any]] = {}
    for pdu in submits:
        concat = pdu.concat
        if concat is None:
            messages.append({"first": pdu, "parts": {1: pdu}, "total": 1})
            continue
        key = (pdu.destination_addr or "", concat.ref)
        group = open_groups.get(key)
        if group is None or concat.seq in group["parts"]:
            group = {"first": pdu, "parts": {}, "total": concat.total}
            open_groups[key] = group
            messages.append(group)
        group["parts"][concat.seq] = pdu
    return [
        Message(
            source=g["first"].source_addr or "",
            destination=g["first"].destination_addr or "",
            data_coding=g["first"].data_coding or 0,
            parts=tuple(g["parts"][n] for n in sorted(g["parts"])),
            total=g["total"],
        )
        for g in messages
    ]


class SMSC:
    """Remote control of one simulator process. Build it with `SMSC.start(workdir)`."""

    def __init__(self, process: subprocess.Popen[bytes], port: int, log_path: Path) -> None:
        self.process = process
        self.host = "127.0.0.1"
        self.port = port
        self.log_path = log_path
        self._lines: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._lock = threading.Lock()  # one control request at a time
        self._cache_lock = threading.Lock()  # the PDUs fetched so far
        self._request_id = 0
        self._pdus: list[Pdu] = []
        self._ref = 0
        self._reader: threading.Thread | None = None

    @classmethod
    def start(cls, workdir: Path | str, *, receipt_delay: float = 0.2, timeout: float = 20) -> SMSC:
        """Start a simulator listening on a free loopback port; its log is workdir/smsc.log."""
        workdir = Path(workdir)
        log_path = workdir / "smsc.log"
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [REPO_ROOT, env.get("PYTHONPATH")]))
        with open(log_path, "ab") as log:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tests.support.smsc_server",
                    "--receipt-delay",
                    str(receipt_delay),
                ],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                cwd=workdir,
                env=env,
            )
        lines: queue.Queue[dict[str, Any] | None] = queue.Queue()
        assert process.stdout is not None
        reader = threading.Thread(target=_read_lines, args=(process.stdout, lines), daemon=True)
        reader.start()
        try:
            ready = lines.get(timeout=timeout)
        except queue.Empty:
            ready = None
        if not ready or ready.get("event") != "ready":
            process.kill()
            process.wait()
            reader.join(5)
            _close(process)
            raise RuntimeError(f"the SMSC simulator did not start:\n{log_path.read_text()}")
        smsc = cls(process, ready["port"], log_path)
        smsc._lines = lines
        smsc._reader = reader
        return smsc

    def __enter__(self) -> SMSC:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop the simulator process (idempotent)."""
        if self.process.poll() is None:
            with contextlib.suppress(RuntimeError, OSError):
                self._call("stop", timeout=5)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._reader is not None:
            self._reader.join(5)
        _close(self.process)

    def log(self) -> str:
        """What the simulator process logged (sessions, binds, undecodable PDUs)."""
        return self.log_path.read_text(errors="replace")

    def _call(self, op: str, timeout: float = CONTROL_TIMEOUT, **args: Any) -> dict[str, Any]:
        with self._lock:
            if self.process.poll() is not None:
                raise RuntimeError(f"the SMSC simulator has exited:\n{self.log()}")
            self._request_id += 1
            request_id = self._request_id
            assert self.process.stdin is not None
            self.process.stdin.write(json.dumps({"id": request_id, "op": op, **args}).encode())
            self.process.stdin.write(b"\n")
            self.process.stdin.flush()
            deadline = time.monotonic() + timeout
            while True:
                remaining = deadline - time.monotonic()
                try:
                    answer = self._lines.get(timeout=max(remaining, 0.001))
                except queue.Empty:
                    raise RuntimeError(f"the SMSC simulator did not answer {op!r}") from None
                if answer is None:
                    raise RuntimeError(f"the SMSC simulator exited during {op!r}:\n{self.log()}")
                if answer.get("id") == request_id:
                    break
        if not answer.get("ok"):
            raise RuntimeError(f"SMSC simulator: {op}: {answer.get('error')}")
        return answer

    # What was recorded

    def pdus(self, command: str | None = None, direction: str | None = None) -> list[Pdu]:
        """Every PDU recorded so far (received "in" and sent "out"), optionally filtered."""
        with self._cache_lock:
            answer = self._call("pdus", since=len(self._pdus))
            self._pdus += [Pdu.from_record(r) for r in answer["pdus"]]
            known = list(self._pdus)
        return [
            p
            for p in known
            if (command is None or p.command == command)
            and (direction is None or p.direction == direction)
        ]

    def submits(self) -> list[Pdu]:
        """The submit_sm PDUs received so far, in arrival order."""
        return self.pdus("submit_sm", "in")

    def receipts(self) -> list[Pdu]:
        """The delivery receipts (deliver_sm, esm_class 0x04) the SMSC sent so far."""
        return [p for p in self.pdus("deliver_sm", "out") if p.is_receipt]

    def messages(self) -> list[Message]:
        """The submitted messages, reassembled (see `reassemble`)."""
        return reassemble(self.submits())

    def wait_for(
        self,
        n: int,
        timeout: float = 30,
        command: str = "submit_sm",
        direction: str = "in",
    ) -> list[Pdu]:
        """Wait until at least `n` PDUs of `command` (default: submit_sm received) are recorded;
        return them all. TimeoutError (listing what did arrive) if they do not."""
        return self._wait(lambda: self.pdus(command, direction), n, timeout, command)

    def wait_for_messages(self, n: int, timeout: float = 30) -> list[Message]:
        """Wait until at least `n` complete reassembled messages were submitted; return all."""
        return self._wait(
            lambda: [m for m in self.messages() if m.complete], n, timeout, "complete messages"
        )

    def wait_for_receipts(self, n: int, timeout: float = 30) -> list[Pdu]:
        """Wait until the SMSC has sent at least `n` delivery receipts; return them all."""
        return self._wait(self.receipts, n, timeout, "receipts")

    def _wait(self, found: Any, n: int, timeout: float, what: str) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            items = found()
            if len(items) >= n:
                return items
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(items)} of {n} {what} after {timeout}s: {items}")
            time.sleep(0.05)

    def sessions(self) -> list[dict[str, Any]]:
        """The open connections: session number, `bound` (None, "transmitter", "receiver",
        "transceiver"), system_id."""
        return self._call("sessions")["sessions"]

    def wait_bound(self, timeout: float = 30, receiver: bool = True) -> dict[str, Any]:
        """Wait for an ESME bound to receive (receiver or transceiver; any bind if not
        `receiver`) and return its session."""
        kinds = (
            ("receiver", "transceiver") if receiver else ("transmitter", "receiver", "transceiver")
        )
        deadline = time.monotonic() + timeout
        while True:
            bound = [s for s in self.sessions() if s["bound"] in kinds]
            if bound:
                return bound[0]
            if time.monotonic() > deadline:
                raise TimeoutError(f"no ESME bound within {timeout}s:\n{self.log()}")
            time.sleep(0.05)

    # What the SMSC does

    def fail_receipts_for(self, *destinations: str) -> None:
        """Receipts for submits to these numbers say UNDELIV (replaces the earlier set)."""
        self._call("receipts", fail_destinations=list(destinations))

    def fail_next_receipts(self, n: int) -> None:
        """The receipts of the next `n` submits that ask for one say UNDELIV."""
        self._call("receipts", fail_next=n)

    def set_receipt_delay(self, seconds: float) -> None:
        self._call("receipts", delay=seconds)

    def inject_mo(
        self,
        source: str,
        destination: str,
        text: str,
        coding: str = "gsm7",
        timeout: float = 10,
    ) -> list[Pdu]:
        """Send a mobile-originated message from `source` (the handset) to `destination`.

        "gsm7": data_coding 0, GSM 03.38 one septet per octet; "ucs2": data_coding 8, UTF-16BE.
        A text too long for one SMS goes as concatenated parts (UDH, 8-bit reference). Waits for
        the ESME's deliver_sm_resp to each part and returns those (status 0 = accepted).
        """
        data_coding, payloads = split_message(text, coding)
        parts = []
        if len(payloads) == 1:
            parts.append({"esm_class": 0x00, "short_message": payloads[0].hex()})
        else:
            self._ref = self._ref % 255 + 1
            for seq, payload in enumerate(payloads, start=1):
                udh = concat_udh(self._ref, len(payloads), seq)
                parts.append({"esm_class": 0x40, "short_message": (udh + payload).hex()})
        for part in parts:
            part.update(source_addr=source, destination_addr=destination, data_coding=data_coding)
        return self.deliver(parts, timeout=timeout)

    def deliver(self, parts: list[dict[str, Any]], timeout: float = 10) -> list[Pdu]:
        """Send deliver_sm PDUs as given (fields: source_addr, destination_addr, esm_class,
        data_coding, short_message as hex) and wait for the ESME's responses."""
        answer = self._call("deliver", parts=parts)
        session, sequences = answer["session"], set(answer["sequences"])

        def responses() -> list[Pdu]:
            return [
                p
                for p in self.pdus("deliver_sm_resp", "in")
                if p.session == session and p.sequence in sequences
            ]

        return self._wait(responses, len(sequences), timeout, "deliver_sm_resp")


def _close(process: subprocess.Popen[bytes]) -> None:
    for stream in (process.stdin, process.stdout):
        if stream is not None and not stream.closed:
            with contextlib.suppress(OSError):
                stream.close()


def _read_lines(stream: IO[bytes], lines: queue.Queue[dict[str, Any] | None]) -> None:
    for line in stream:
        try:
            lines.put(json.loads(line))
        except ValueError:
            continue
    lines.put(None)


@pytest.fixture
def smsc(tmp_path: Path) -> Iterator[SMSC]:
    """An SMSC simulator for one test (import it into a conftest to use it)."""
    with SMSC.start(tmp_path) as simulator:
        yield simulator
