"""The SMSC simulator (tests/support): its GSM 03.38 codec, UDH reassembly, and the SMPP server
itself, driven by an ESME made of smpp.pdu3 PDUs over a plain socket."""

from __future__ import annotations

import socket
import threading
from io import BytesIO
from typing import Any

import pytest
from smpp.pdu import operations as ops
from smpp.pdu import pdu_types as pt
from smpp.pdu.pdu_encoding import PDUEncoder

from httprouter.domain.encodings import GSM7_BASIC, GSM7_EXTENDED

from ...support.gsm import Concat, concat_udh, decode_text, gsm7_decode, gsm7_encode, split_message
from ...support.smsc import SMSC, Pdu, reassemble, smsc  # noqa: F401 - the fixture

ENCODER = PDUEncoder()


def test_gsm7_codec_basic_table_and_escapes():
    assert gsm7_encode("@") == b"\x00"
    assert gsm7_encode("€") == b"\x1b\x65"
    assert gsm7_encode("a&b=c+5%") == b"a&b=c+5%"
    assert gsm7_decode(b"\x00\x01\x02\x11\x1b\x65\x1b\x3c\x1b\x3e") == "@£$_€[]"
    assert gsm7_decode(b"\x1b\x14\x1b\x28\x1b\x29\x1b\x2f\x1b\x3d\x1b\x40") == "^{}\\~|"
    assert gsm7_decode(b"\x7f\x5b\x1e\x60") == "àÄß¿"
    # An escape the extension table lacks stands for the basic character.
    assert gsm7_decode(b"\x1bA") == "A"
    every = "".join(sorted(set(GSM7_BASIC) | set(GSM7_EXTENDED)))
    assert gsm7_decode(gsm7_encode(every)) == every
    with pytest.raises(ValueError):
        gsm7_encode("ç")
    with pytest.raises(ValueError):
        gsm7_decode(b"\x80")
    assert decode_text("नमस्ते 😀".encode("utf-16-be"), 8) == "नमस्ते 😀"
    assert decode_text(b"\xe9", 3) == "é"


def test_split_and_reassemble_concatenated_parts():
    text = "x" * 152 + "€" + "y" * 20  # the escape pair must not straddle parts
    data_coding, payloads = split_message(text, "gsm7")
    assert data_coding == 0 and [len(p) for p in payloads] == [152, 22]
    emoji = "😀" * 40  # 160 octets of UTF-16: surrogate pairs stay whole
    assert [len(p) for p in split_message(emoji, "ucs2")[1]] == [132, 28]

    def part(seq: int, total: int, payload: bytes, ref: int = 7, to: str = "255700") -> Pdu:
        short_message = concat_udh(ref, total, seq) + payload
        return Pdu.from_record(
            {
                "command": "submit_sm",
                "direction": "in",
                "sequence": seq,
                "status": 0,
                "session": 1,
                "at": 0.0,
                "destination_addr": to,
                "esm_class": 0x40,
                "data_coding": 0,
                "short_message": short_message.hex(),
            }
        )

    parts = [part(2, 2, payloads[1]), part(1, 1, b"other", ref=9), part(1, 2, payloads[0])]
    first, other = reassemble(parts)
    assert first.complete and first.text == text
    assert [p.concat.seq for p in first.parts] == [1, 2]
    assert first.parts[0].udh == bytes.fromhex("050003070201")
    assert other.text == "other" and other.total == 1


class ESME:
    """A bare SMPP client: smpp.pdu3 PDUs over a blocking socket."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.sequence = 0

    def close(self) -> None:
        self.sock.close()

    def next_sequence(self) -> int:
        self.sequence += 1
        return self.sequence

    def send(self, pdu: Any) -> None:
        self.sock.sendall(ENCODER.encode(pdu))

    def read(self) -> Any:
        header = self._exactly(4)
        raw = header + self._exactly(int.from_bytes(header, "big") - 4)
        return ENCODER.decode(BytesIO(raw))

    def _exactly(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("the SMSC closed the connection")
            data += chunk
        return data

    def bind(self, kind: type = ops.BindTransceiver) -> Any:
        self.send(
            kind(
                self.next_sequence(),
                system_id="esme",
                password="pw",
                system_type="",
                interface_version=0x34,
                addr_ton=pt.AddrTon.UNKNOWN,
                addr_npi=pt.AddrNpi.UNKNOWN,
                address_range="",
            )
        )
        return self.read()

    def submit(
        self,
        to: str,
        short_message: bytes,
        data_coding: int = 0,
        receipt: bool = True,
        **options: Any,
    ) -> Any:
        field = PDUEncoder.DefaultRequiredParamEncoders["data_coding"]
        self.send(
            ops.SubmitSM(
                self.next_sequence(),
                service_type="",
                source_addr_ton=pt.AddrTon.UNKNOWN,
                source_addr_npi=pt.AddrNpi.UNKNOWN,
                source_addr="8080",
                dest_addr_ton=pt.AddrTon.INTERNATIONAL,
                dest_addr_npi=pt.AddrNpi.ISDN,
                destination_addr=to,
                esm_class=pt.EsmClass(pt.EsmClassMode.DEFAULT, pt.EsmClassType.DEFAULT),
                protocol_id=0,
                priority_flag=pt.PriorityFlag.LEVEL_0,
                schedule_delivery_time=None,
                validity_period=None,
                registered_delivery=pt.RegisteredDelivery(
                    pt.RegisteredDeliveryReceipt.SMSC_DELIVERY_RECEIPT_REQUESTED
                    if receipt
                    else pt.RegisteredDeliveryReceipt.NO_SMSC_DELIVERY_RECEIPT_REQUESTED
                ),
                replace_if_present_flag=pt.ReplaceIfPresentFlag.DO_NOT_REPLACE,
                data_coding=field.decode(BytesIO(bytes((data_coding,)))),
                sm_default_msg_id=0,
                short_message=short_message,
                **options,
            )
        )
        return self.read()

    def answer(self, deliver: Any) -> None:
        self.send(ops.DeliverSMResp(deliver.seqNum, message_id=None))


def test_bind_submit_receipts_and_mobile_originated(tmp_path):
    with SMSC.start(tmp_path, receipt_delay=0.05) as sim:
        esme = ESME(sim.port)
        bound = esme.bind()
        assert bound.id == pt.CommandId.bind_transceiver_resp
        assert bound.status == pt.CommandStatus.ESME_ROK
        esme.send(ops.EnquireLink(esme.next_sequence()))
        assert esme.read().id == pt.CommandId.enquire_link_resp
        assert sim.wait_bound()["bound"] == "transceiver"

        answer = esme.submit("255700111222", gsm7_encode("hi @ €"))
        assert answer.id == pt.CommandId.submit_sm_resp
        mid = answer.params["message_id"].decode()
        receipt = esme.read()
        esme.answer(receipt)
        assert receipt.id == pt.CommandId.deliver_sm
        assert receipt.params["esm_class"].type == pt.EsmClassType.SMSC_DELIVERY_RECEIPT
        assert receipt.params["receipted_message_id"].decode() == mid
        assert receipt.params["message_state"] == pt.MessageState.DELIVERED
        assert receipt.params["source_addr"] == b"255700111222"
        text = receipt.params["short_message"].decode()
        assert text.startswith(f"id:{mid} sub:001 dlvrd:001 submit date:")
        assert " stat:DELIVRD err:000 text:hi @ ?" in text

        [submit] = sim.submits()
        assert (submit.destination_addr, submit.data_coding, submit.esm_class) == (
            "255700111222",
            0,
            0,
        )
        assert submit.registered_delivery == 1 and submit.message_id == mid
        assert submit.short_message == b"hi \x00 \x1b\x65" and submit.text == "hi @ €"

        # Failures: by destination, and for the next N receipts.
        sim.fail_receipts_for("255700999999")
        esme.submit("255700999999", b"no")
        failed = esme.read()
        esme.answer(failed)
        assert failed.params["message_state"] == pt.MessageState.UNDELIVERABLE
        assert b"stat:UNDELIV" in failed.params["short_message"]
        sim.fail_next_receipts(1)
        esme.submit("255700111222", b"a")
        esme.submit("255700111222", b"b")
        states = []
        for _ in range(2):
            got = esme.read()
            esme.answer(got)
            states.append(got.params["message_state"])
        assert states == [pt.MessageState.UNDELIVERABLE, pt.MessageState.DELIVERED]
        assert [r.message_state for r in sim.wait_for_receipts(4)] == [
            "DELIVERED",
            "UNDELIVERABLE",
            "UNDELIVERABLE",
            "DELIVERED",
        ]

        # Mobile-originated: GSM-7 as data_coding 0, a long UCS-2 text in UDH parts.
        hello = "echo @ & €"
        [mo] = read_while(esme, 1, lambda: sim.inject_mo("255700111222", "8080", hello))
        assert mo.params["short_message"] == gsm7_encode(hello)
        assert mo.params["esm_class"].type == pt.EsmClassType.DEFAULT
        assert mo.params["data_coding"].schemeData == pt.DataCodingDefault.SMSC_DEFAULT_ALPHABET
        long_ucs2 = "नमस्ते 😀 " * 14  # 140 UTF-16 units: three parts
        parts = read_while(
            esme, 3, lambda: sim.inject_mo("255700111222", "8080", long_ucs2, coding="ucs2")
        )
        assert all(p.params["data_coding"].schemeData == pt.DataCodingDefault.UCS2 for p in parts)
        assert all(
            pt.EsmClassGsmFeatures.UDHI_INDICATOR_SET in p.params["esm_class"].gsmFeatures
            for p in parts
        )
        udhs = [p.params["short_message"][:6] for p in parts]
        assert [u[:5] for u in udhs] == [udhs[0][:5]] * 3 and [u[5] for u in udhs] == [1, 2, 3]
        joined = b"".join(p.params["short_message"][6:] for p in parts)
        assert joined.decode("utf-16-be") == long_ucs2
        responses = sim.pdus("deliver_sm_resp", "in")
        assert len(responses) == 4 + 1 + 3 and all(r.status == 0 for r in responses)

        esme.send(ops.Unbind(esme.next_sequence()))
        assert esme.read().id == pt.CommandId.unbind_resp
        commands = [p.command for p in sim.pdus(direction="in")]
        assert commands[:2] == ["bind_transceiver", "enquire_link"]
        assert commands[-1] == "unbind"
        esme.close()


def read_while(esme: ESME, n: int, action: Any) -> list[Any]:
    """Run `action` while a thread reads `n` deliver_sm PDUs and answers each."""
    got: list[Any] = []

    def read() -> None:
        for _ in range(n):
            pdu = esme.read()
            esme.answer(pdu)
            got.append(pdu)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        answers = action()
    finally:
        reader.join(10)
    assert [a.status for a in answers] == [0] * n
    return got


def test_receipt_goes_to_the_receiver_session(tmp_path):
    with SMSC.start(tmp_path, receipt_delay=0.05) as sim:
        transmitter, receiver = ESME(sim.port), ESME(sim.port)
        assert transmitter.bind(ops.BindTransmitter).status == pt.CommandStatus.ESME_ROK
        # Any bind is accepted, even with a password longer than SMPP's 8 characters (which
        # smpp.pdu3 will not encode: the bind_receiver is spelled out).
        body = b"esme\0longer-than-8\0\0\x34\0\0\0"
        receiver.sock.sendall(
            (16 + len(body)).to_bytes(4, "big") + bytes.fromhex("000000010000000000000001") + body
        )
        assert receiver.read().status == pt.CommandStatus.ESME_ROK
        assert [b.password for b in sim.pdus("bind_receiver")] == ["longer-than-8"]
        mid = transmitter.submit("255700111222", b"x").params["message_id"]
        receipt = receiver.read()
        assert receipt.params["receipted_message_id"] == mid
        # A submit on a receiver session is refused.
        refused = receiver.submit("255700111222", b"x")
        assert refused.status == pt.CommandStatus.ESME_RINVBNDSTS
        transmitter.close()
        receiver.close()


def test_parts_linked_by_sar_options(tmp_path):
    """Jasmin links the parts of a long message with the sar_* TLVs by default, not a UDH."""
    text = "€" + "z" * 200
    payloads = split_message(text, "gsm7")[1]
    with SMSC.start(tmp_path) as sim:
        esme = ESME(sim.port)
        esme.bind(ops.BindTransmitter)
        for seq in (2, 1):
            sar = {"sar_msg_ref_num": 300, "sar_total_segments": 2, "sar_segment_seqnum": seq}
            esme.submit("255700111222", payloads[seq - 1], receipt=False, **sar)
        [message] = sim.messages()
        assert message.complete and message.text == text
        assert [p.concat for p in message.parts] == [Concat(300, 2, 1), Concat(300, 2, 2)]
        assert not any(p.has_udh for p in message.parts)
        esme.close()


def test_the_fixture_gives_a_running_simulator(smsc):  # noqa: F811 - the fixture
    assert smsc.sessions() == []
    with socket.create_connection((smsc.host, smsc.port), timeout=5):
        assert smsc.pdus() == []
    assert "SMPP listening" in smsc.log()
