"""The SMSC simulator's own process: an SMPP 3.4 server on Twisted, driven over stdin/stdout.

Run by `tests.support.smsc.SMSC.start`, never imported by the test process (so no test ever
shares a reactor). It listens on 127.0.0.1 (port 0: the kernel picks one), prints
`{"event": "ready", "port": N}`, then answers one JSON line on stdout for each JSON request line
on stdin, with the request's `id`:

- `{"op": "pdus", "since": K}`: the PDUs received and sent from number K on;
- `{"op": "sessions"}`: the connections and how each is bound;
- `{"op": "receipts", "delay": S, "fail_destinations": [...], "fail_next": N}`: how receipts go;
- `{"op": "deliver", "parts": [...]}`: send deliver_sm PDUs (mobile-originated messages);
- `{"op": "stop"}`: stop; so does the end of stdin (the test process went away).

PDUs are encoded and decoded with smpp.pdu3; Twisted only carries the bytes. The log goes to
stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from io import BytesIO
from typing import Any

# Twisted and smpp.pdu3 use APIs that newer Pythons deprecate: keep those warnings in this
# process (pytest, which turns warnings into errors, never imports either).
warnings.simplefilter("ignore", DeprecationWarning)
warnings.simplefilter("ignore", PendingDeprecationWarning)

from smpp.pdu import constants  # noqa: E402
from smpp.pdu import operations as ops  # noqa: E402
from smpp.pdu import pdu_types as pt  # noqa: E402
from smpp.pdu.error import PDUCorruptError, PDUParseError  # noqa: E402
from smpp.pdu.pdu_encoding import COctetStringEncoder, PDUEncoder  # noqa: E402
from twisted.internet import reactor, stdio  # noqa: E402
from twisted.internet.protocol import Factory, Protocol  # noqa: E402
from twisted.protocols.basic import LineReceiver  # noqa: E402

from .gsm import decode_text, parse_udh  # noqa: E402


class LenientEncoder(PDUEncoder):
    """smpp.pdu3's encoder, but a bind with a system_id or password longer than SMPP 3.4 allows
    (15 and 8 characters) is still read: the simulator accepts any bind, and logs those."""

    DefaultRequiredParamEncoders = {
        **PDUEncoder.DefaultRequiredParamEncoders,
        "system_id": COctetStringEncoder(65),
        "password": COctetStringEncoder(65),
    }


ENCODER = LenientEncoder()
FIELD_ENCODERS = PDUEncoder.DefaultRequiredParamEncoders
STRING_FIELDS = (
    "system_id",
    "password",
    "system_type",
    "service_type",
    "source_addr",
    "destination_addr",
    "message_id",
    "receipted_message_id",
)
INT_FIELDS = ("esm_class", "data_coding", "registered_delivery", "protocol_id")
SAR_FIELDS = ("sar_msg_ref_num", "sar_total_segments", "sar_segment_seqnum")
BIND_KINDS = {
    "bind_transmitter": ("transmitter", ops.BindTransmitterResp),
    "bind_receiver": ("receiver", ops.BindReceiverResp),
    "bind_transceiver": ("transceiver", ops.BindTransceiverResp),
}
SYSTEM_ID = "smsc-sim"


def log(*words: object) -> None:
    print(time.strftime("%H:%M:%S"), *words, file=sys.stderr, flush=True)


def field_int(name: str, value: Any) -> int:
    """The octet smpp.pdu3 decoded into `value` (an enum or tuple for most fields)."""
    return FIELD_ENCODERS[name].encode(value)[0]


def field_value(name: str, octet: int) -> Any:
    """The smpp.pdu3 value of field `name` for the octet `octet`."""
    return FIELD_ENCODERS[name].decode(BytesIO(bytes((octet,))))


def status_code(status: Any) -> int:
    return constants.command_status_name_map[status.name]


def describe(pdu: Any) -> dict[str, Any]:
    """A JSON-ready record of a PDU: command, status and the fields a test looks at."""
    params = pdu.params
    record: dict[str, Any] = {
        "command": pdu.id.name,
        "sequence": pdu.seqNum,
        "status": status_code(pdu.status),
    }
    for name in STRING_FIELDS:
        if params.get(name) is not None:
            record[name] = bytes(params[name]).decode("latin-1")
    for name in INT_FIELDS:
        if params.get(name) is not None:
            record[name] = field_int(name, params[name])
    for name in ("short_message", "message_payload"):
        if params.get(name) is not None:
            record[name] = bytes(params[name]).hex()
    for name in SAR_FIELDS:
        if params.get(name) is not None:
            record[name] = int(params[name])
    if params.get("message_state") is not None:
        record["message_state"] = params["message_state"].name
    return record


class Simulator:
    """What the SMSC knows: sessions, the PDU log, message ids and how receipts go."""

    def __init__(self, receipt_delay: float) -> None:
        self.records: list[dict[str, Any]] = []
        self.sessions: dict[int, SMPPSession] = {}
        self.session_count = 0
        self.message_count = 0
        self.receipt_delay = receipt_delay
        self.fail_destinations: set[str] = set()
        self.fail_next = 0
        self.waiting_receipts: list[tuple[int, str, dict[str, Any]]] = []

    def record(self, session: SMPPSession, direction: str, record: dict[str, Any]) -> None:
        record.update(direction=direction, session=session.number, at=time.time())
        self.records.append(record)

    def new_message_id(self) -> str:
        self.message_count += 1
        return f"{self.message_count:08d}"

    def receiver_for(self, origin: SMPPSession | None) -> SMPPSession | None:
        """Where a deliver_sm goes: the submitting transceiver, else a receiver like it."""
        if origin is not None and origin.connected and origin.bound == "transceiver":
            return origin
        receivers = [s for s in self.sessions.values() if s.can_receive()]
        if origin is not None:
            same = [s for s in receivers if s.system_id == origin.system_id]
            receivers = same or receivers
        return receivers[0] if receivers else None

    # Receipts

    def receipt_wanted(self, submit: dict[str, Any]) -> str | None:
        """The status the receipt of this submit will carry, or None if it asked for none."""
        asked = submit.get("registered_delivery", 0) & 0x03
        if asked not in (1, 2):
            return None
        failing = self.fail_next > 0 or submit.get("destination_addr") in self.fail_destinations
        if self.fail_next > 0:
            self.fail_next -= 1
        if asked == 2 and not failing:
            return None  # receipt on failure only
        return "UNDELIV" if failing else "DELIVRD"

    def send_receipt(self, origin: int, stat: str, submit: dict[str, Any]) -> None:
        session = self.receiver_for(self.sessions.get(origin))
        if session is None:
            log("no receiver bound: receipt for", submit["message_id"], "waits")
            self.waiting_receipts.append((origin, stat, submit))
            return
        session.deliver(receipt_fields(stat, submit))

    def flush_receipts(self) -> None:
        waiting, self.waiting_receipts = self.waiting_receipts, []
        for origin, stat, submit in waiting:
            self.send_receipt(origin, stat, submit)

    # Control requests

    def control(self, request: dict[str, Any]) -> dict[str, Any]:
        op = request.get("op")
        if op == "pdus":
            return {"pdus": self.records[int(request.get("since", 0)) :]}
        if op == "sessions":
            return {"sessions": [s.info() for s in self.sessions.values()]}
        if op == "receipts":
            if "delay" in request:
                self.receipt_delay = float(request["delay"])
            if "fail_destinations" in request:
                self.fail_destinations = set(request["fail_destinations"])
            if "fail_next" in request:
                self.fail_next = int(request["fail_next"])
            return {
                "delay": self.receipt_delay,
                "fail_destinations": sorted(self.fail_destinations),
                "fail_next": self.fail_next,
            }
        if op == "deliver":
            session = self.receiver_for(None)
            if session is None:
                raise LookupError("no ESME is bound as receiver or transceiver")
            sequences = [session.deliver(part) for part in request["parts"]]
            return {"session": session.number, "sequences": sequences}
        raise ValueError(f"unknown op {op!r}")


def receipt_fields(stat: str, submit: dict[str, Any]) -> dict[str, Any]:
    """The deliver_sm of a delivery receipt for `submit`, in SMPP 3.4 appendix B's format."""
    stamp = time.strftime("%y%m%d%H%M", time.gmtime(submit["at"]))
    done = time.strftime("%y%m%d%H%M", time.gmtime())
    delivered = stat == "DELIVRD"
    text = (
        f"id:{submit['message_id']} sub:001 dlvrd:{'001' if delivered else '000'} "
        f"submit date:{stamp} done date:{done} stat:{stat} err:{'000' if delivered else '001'} "
        f"text:{receipt_excerpt(submit)}"
    )
    return {
        "source_addr": submit.get("destination_addr", ""),
        "destination_addr": submit.get("source_addr", ""),
        "esm_class": 0x04,
        "data_coding": 0x00,
        "short_message": text.encode("ascii").hex(),
        "receipted_message_id": submit["message_id"],
        "message_state": "DELIVERED" if delivered else "UNDELIVERABLE",
    }


def receipt_excerpt(submit: dict[str, Any]) -> str:
    """The first 20 characters of the submitted text, printable ASCII only ('?' for others)."""
    try:
        data = bytes.fromhex(submit.get("message_payload") or submit.get("short_message", ""))
        if submit.get("esm_class", 0) & 0x40:
            data = parse_udh(data)[2]
        text = decode_text(data, submit.get("data_coding", 0))
    except ValueError:
        return ""
    return "".join(ch if " " <= ch <= "~" else "?" for ch in text[:20])


class SMPPSession(Protocol):
    """One ESME connection: frames PDUs, answers requests, sends deliver_sm."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        sim.session_count += 1
        self.number = sim.session_count
        self.buffer = b""
        self.bound: str | None = None
        self.system_id: str | None = None
        self.sequence = 0

    def info(self) -> dict[str, Any]:
        return {
            "session": self.number,
            "bound": self.bound,
            "system_id": self.system_id,
            "connected": self.connected,
        }

    def can_receive(self) -> bool:
        return bool(self.connected) and self.bound in ("receiver", "transceiver")

    def connectionMade(self) -> None:  # noqa: N802 - Twisted's name
        self.sim.sessions[self.number] = self
        log("session", self.number, "connected from", self.transport.getPeer())

    def connectionLost(self, reason: Any = None) -> None:  # noqa: N802 - Twisted's name
        self.connected = False
        self.sim.sessions.pop(self.number, None)
        log("session", self.number, "closed")

    def dataReceived(self, data: bytes) -> None:  # noqa: N802 - Twisted's name
        self.buffer += data
        while len(self.buffer) >= 4:
            length = int.from_bytes(self.buffer[:4], "big")
            if length < 16 or length > 0x10000:
                log("session", self.number, "bad command_length", length, "- closing")
                self.transport.loseConnection()
                self.buffer = b""
                return
            if len(self.buffer) < length:
                return
            raw, self.buffer = self.buffer[:length], self.buffer[length:]
            self.received(raw)

    def send(self, pdu: Any, extra: dict[str, Any] | None = None) -> None:
        self.transport.write(ENCODER.encode(pdu))
        self.sim.record(self, "out", {**describe(pdu), **(extra or {})})

    def next_sequence(self) -> int:
        self.sequence = self.sequence % 0x7FFFFFFF + 1
        return self.sequence

    def received(self, raw: bytes) -> None:
        try:
            pdu = ENCODER.decode(BytesIO(raw))
        except (PDUParseError, PDUCorruptError) as exc:
            sequence = int.from_bytes(raw[12:16], "big")
            log("session", self.number, "undecodable PDU", raw.hex(), exc)
            self.sim.record(
                self,
                "in",
                {"command": "undecodable", "sequence": sequence, "status": 0, "raw": raw.hex()},
            )
            self.send(ops.GenericNack(max(sequence, 1), status=exc.status))
            return
        name = pdu.id.name
        record = describe(pdu)
        if name in BIND_KINDS:
            kind, response = BIND_KINDS[name]
            self.sim.record(self, "in", record)
            self.bound = kind
            self.system_id = record.get("system_id", "")
            log("session", self.number, "bound as", kind, "by", repr(self.system_id))
            if len(self.system_id) > 15 or len(record.get("password", "")) > 8:
                log("session", self.number, "system_id or password longer than SMPP 3.4 allows")
            self.send(response(pdu.seqNum, system_id=SYSTEM_ID))
            if self.can_receive():
                self.sim.flush_receipts()
        elif name == "enquire_link":
            self.sim.record(self, "in", record)
            self.send(ops.EnquireLinkResp(pdu.seqNum))
        elif name == "unbind":
            self.sim.record(self, "in", record)
            self.send(ops.UnbindResp(pdu.seqNum))
            self.bound = None
            self.transport.loseConnection()
        elif name == "submit_sm":
            self.submitted(pdu, record)
        elif name.endswith("_resp") or name == "generic_nack":
            self.sim.record(self, "in", record)
        else:
            self.sim.record(self, "in", record)
            self.send(ops.GenericNack(pdu.seqNum, status=pt.CommandStatus.ESME_RINVCMDID))

    def submitted(self, pdu: Any, record: dict[str, Any]) -> None:
        if self.bound not in ("transmitter", "transceiver"):
            self.sim.record(self, "in", record)
            self.send(ops.SubmitSMResp(pdu.seqNum, status=pt.CommandStatus.ESME_RINVBNDSTS))
            return
        record["message_id"] = self.sim.new_message_id()
        self.sim.record(self, "in", record)
        self.send(ops.SubmitSMResp(pdu.seqNum, message_id=record["message_id"]))
        stat = self.sim.receipt_wanted(record)
        if stat is not None:
            reactor.callLater(
                self.sim.receipt_delay, self.sim.send_receipt, self.number, stat, record
            )

    def deliver(self, fields: dict[str, Any]) -> int:
        """Send a deliver_sm built from `fields` (a receipt or a mobile-originated part)."""
        sequence = self.next_sequence()
        options = {}
        if fields.get("receipted_message_id") is not None:
            options["receipted_message_id"] = fields["receipted_message_id"]
        if fields.get("message_state") is not None:
            options["message_state"] = getattr(pt.MessageState, fields["message_state"])
        pdu = ops.DeliverSM(
            sequence,
            service_type="",
            source_addr_ton=pt.AddrTon.UNKNOWN,
            source_addr_npi=pt.AddrNpi.UNKNOWN,
            source_addr=fields["source_addr"],
            dest_addr_ton=pt.AddrTon.UNKNOWN,
            dest_addr_npi=pt.AddrNpi.UNKNOWN,
            destination_addr=fields["destination_addr"],
            esm_class=field_value("esm_class", fields.get("esm_class", 0)),
            protocol_id=0,
            priority_flag=pt.PriorityFlag.LEVEL_0,
            schedule_delivery_time=None,
            validity_period=None,
            registered_delivery=field_value("registered_delivery", 0),
            replace_if_present_flag=pt.ReplaceIfPresentFlag.DO_NOT_REPLACE,
            data_coding=field_value("data_coding", fields.get("data_coding", 0)),
            sm_default_msg_id=0,
            short_message=bytes.fromhex(fields["short_message"]),
            **options,
        )
        self.send(pdu)
        return sequence


class SMPPFactory(Factory):
    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

    def buildProtocol(self, addr: Any) -> SMPPSession:  # noqa: N802 - Twisted's name
        return SMPPSession(self.sim)


class Control(LineReceiver):
    """JSON lines on stdin/stdout; the end of stdin stops the reactor."""

    delimiter = b"\n"

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

    def lineReceived(self, line: bytes) -> None:  # noqa: N802 - Twisted's name
        if not line.strip():
            return
        request: dict[str, Any] = {}
        try:
            request = json.loads(line)
            if request.get("op") == "stop":
                self.answer({"id": request.get("id"), "ok": True})
                reactor.callLater(0, reactor.stop)
                return
            answer = {"id": request.get("id"), "ok": True, **self.sim.control(request)}
        except Exception as exc:  # the test gets the error, the simulator goes on
            log("control request failed:", line[:200], repr(exc))
            answer = {"id": request.get("id"), "ok": False, "error": f"{type(exc).__name__}: {exc}"}
        self.answer(answer)

    def answer(self, answer: dict[str, Any]) -> None:
        self.sendLine(json.dumps(answer).encode())

    def connectionLost(self, reason: Any = None) -> None:  # noqa: N802 - Twisted's name
        if reactor.running:
            log("control channel closed: stopping")
            reactor.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--receipt-delay", type=float, default=0.2)
    args = parser.parse_args(argv)
    sim = Simulator(args.receipt_delay)
    listening = reactor.listenTCP(args.port, SMPPFactory(sim), interface="127.0.0.1")
    control = Control(sim)
    stdio.StandardIO(control)
    port = listening.getHost().port
    log("SMPP listening on 127.0.0.1:", port)
    control.answer({"event": "ready", "port": port})
    reactor.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
