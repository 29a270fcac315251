"""GSM 03.38 text, SMPP data_coding and the concatenation UDH, as SMSCs see them.

SMPP carries GSM 03.38 unpacked: one septet per octet (`@` is 0x00, `€` is the escape 0x1B then
0x65). `decode_text` turns a short message back into text by its data_coding; `parse_udh` reads
the concatenation elements of a User Data Header; `split_message` builds the parts a handset
would send for a long text.
"""

from __future__ import annotations

from dataclasses import dataclass

ESCAPE = 0x1B

# GSM 03.38 default alphabet, septets 0x00-0x7F in order (0x1B is the escape, never a character).
_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
assert len(_BASIC) == 128

# The extension table: the septet that follows an escape, and the character it stands for.
_EXTENSION = {
    0x0A: "\f",
    0x14: "^",
    0x28: "{",
    0x29: "}",
    0x2F: "\\",
    0x3C: "[",
    0x3D: "~",
    0x3E: "]",
    0x40: "|",
    0x65: "€",
}

_ENCODE_BASIC = {ch: code for code, ch in enumerate(_BASIC) if code != ESCAPE}
_ENCODE_EXTENSION = {ch: code for code, ch in _EXTENSION.items()}


def gsm7_decode(data: bytes) -> str:
    """Decode unpacked GSM 03.38 septets (one per byte), escapes included.

    An escape followed by a septet the extension table does not define stands for that septet's
    basic character (GSM 03.38: "display the default character"); a trailing escape is dropped.
    """
    out = []
    i = 0
    while i < len(data):
        code = data[i]
        if code > 0x7F:
            raise ValueError(f"byte {code:#04x} at {i} is not a GSM 03.38 septet")
        if code == ESCAPE:
            if i + 1 >= len(data):
                break
            following = data[i + 1]
            if following > 0x7F:
                raise ValueError(f"byte {following:#04x} at {i + 1} is not a GSM 03.38 septet")
            out.append(_EXTENSION.get(following, _BASIC[following]))
            i += 2
            continue
        out.append(_BASIC[code])
        i += 1
    return "".join(out)


def gsm7_encode(text: str) -> bytes:
    """Encode text as unpacked GSM 03.38 septets; ValueError for a character it lacks."""
    out = bytearray()
    for ch in text:
        if ch in _ENCODE_BASIC:
            out.append(_ENCODE_BASIC[ch])
        elif ch in _ENCODE_EXTENSION:
            out += bytes((ESCAPE, _ENCODE_EXTENSION[ch]))
        else:
            raise ValueError(f"{ch!r} is not in the GSM 03.38 alphabet")
    return bytes(out)


def is_gsm_coding(data_coding: int) -> bool:
    """data_coding values whose octets are GSM 03.38 septets (0 SMSC default, 1 IA5, 0xF0-0xF3)."""
    return data_coding in (0x00, 0x01) or (data_coding & 0xF4) == 0xF0


def decode_text(data: bytes, data_coding: int) -> str:
    """The text of a short message (UDH already removed) by its SMPP data_coding."""
    if is_gsm_coding(data_coding):
        return gsm7_decode(data)
    if data_coding == 0x03:
        return data.decode("latin-1")
    if data_coding == 0x08:
        return data.decode("utf-16-be")
    raise ValueError(f"data_coding {data_coding:#04x} is not a text coding this decoder knows")


@dataclass(frozen=True)
class Concat:
    """One part of a concatenated message: reference, number of parts, this part's number."""

    ref: int
    total: int
    seq: int


def parse_udh(short_message: bytes) -> tuple[bytes, Concat | None, bytes]:
    """Split a short message with a UDH into (UDH, its concatenation element or None, payload).

    Knows the 8-bit (IEI 0x00) and 16-bit (IEI 0x08) reference forms; other elements are kept
    in the UDH bytes and skipped.
    """
    if not short_message:
        raise ValueError("a UDH was announced but the short message is empty")
    length = short_message[0]
    if length + 1 > len(short_message):
        raise ValueError(f"UDH length {length} exceeds the short message")
    udh = short_message[: length + 1]
    concat = None
    i = 1
    while i + 1 < len(udh):
        iei, ie_len = udh[i], udh[i + 1]
        value = udh[i + 2 : i + 2 + ie_len]
        if len(value) != ie_len:
            raise ValueError(f"UDH element {iei:#04x} is cut short")
        if iei == 0x00 and ie_len == 3:
            concat = Concat(value[0], value[1], value[2])
        elif iei == 0x08 and ie_len == 4:
            concat = Concat(int.from_bytes(value[:2], "big"), value[2], value[3])
        i += 2 + ie_len
    return udh, concat, short_message[length + 1 :]


def concat_udh(ref: int, total: int, seq: int) -> bytes:
    """The 6-octet UDH of part `seq` of `total` with the 8-bit reference `ref`."""
    return bytes((0x05, 0x00, 0x03, ref & 0xFF, total, seq))


def _chunks(units: list[bytes], limit: int) -> list[bytes]:
    parts: list[bytes] = []
    current = b""
    for unit in units:
        if len(current) + len(unit) > limit:
            parts.append(current)
            current = b""
        current += unit
    parts.append(current)
    return parts


def split_message(text: str, coding: str) -> tuple[int, list[bytes]]:
    """(data_coding, payloads) for `text`: one payload if it fits a single SMS, else several.

    `coding` is "gsm7" (data_coding 0, 160 septets, 153 per part) or "ucs2" (data_coding 8,
    140 octets, 134 per part). An escape pair or a UTF-16 surrogate pair is never split.
    """
    if coding == "gsm7":
        data_coding, single, per_part = 0x00, 160, 153
        units = [gsm7_encode(ch) for ch in text]
    elif coding == "ucs2":
        data_coding, single, per_part = 0x08, 140, 134
        units = [ch.encode("utf-16-be") for ch in text]
    else:
        raise ValueError(f"coding must be 'gsm7' or 'ucs2', not {coding!r}")
    if sum(len(u) for u in units) <= single:
        return data_coding, [b"".join(units)]
    return data_coding, _chunks(units, per_part)
