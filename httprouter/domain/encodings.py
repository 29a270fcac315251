"""Text encodings of SMS: decoding what gateways send, and GSM 03.38 arithmetic for replies."""

from __future__ import annotations

import codecs
import math
from urllib.parse import unquote_to_bytes

from ..errors import ValidationError

# GSM 03.38 default alphabet in code order (0x1B is the escape to the extension table), and the
# extension table: each of its characters costs two septets (ESC + code).
GSM7_TABLE = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_ESCAPE = 0x1B
GSM7_EXTENSION = {
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
GSM7_BASIC = frozenset(GSM7_TABLE) - {"\x1b"}
GSM7_EXTENDED = frozenset(GSM7_EXTENSION.values())


def decode_gsm7(raw: bytes) -> str:
    """Decode GSM 03.38 text given one septet per byte (unpacked, as SMPP gateways hand it on).

    An escape followed by a code outside the extension table stands for the basic character
    (03.38's rule for unknown extensions); a trailing lone escape is dropped.
    """
    out: list[str] = []
    escaped = False
    for byte in raw:
        code = byte & 0x7F
        if escaped:
            out.append(GSM7_EXTENSION.get(code, GSM7_TABLE[code]))
            escaped = False
        elif code == GSM7_ESCAPE:
            escaped = True
        else:
            out.append(GSM7_TABLE[code])
    return "".join(out)


_CHARSET_ALIASES = {
    "ucs-2": "utf-16-be",
    "ucs2": "utf-16-be",
    "utf-16be": "utf-16-be",
    "8-bit": "latin-1",
    "binary": "latin-1",
    "gsm": "utf-8",  # Kannel hands 7-bit text over as UTF-8
}


def is_gsm7(text: str) -> bool:
    """Tell whether `text` fits the GSM 03.38 alphabet (with its extension table)."""
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENDED for ch in text)


def segment_count(text: str) -> tuple[str, int]:
    """Return the encoding a text needs ("GSM-7" or "UCS-2") and how many SMS parts it takes."""
    if is_gsm7(text):
        septets = sum(2 if ch in GSM7_EXTENDED else 1 for ch in text)
        return "GSM-7", 1 if septets <= 160 else math.ceil(septets / 153)
    units = len(text.encode("utf-16-be")) // 2
    return "UCS-2", 1 if units <= 70 else math.ceil(units / 67)


def python_codec(charset: str) -> str:
    """Map a gateway's charset name to a Python codec, or raise ValidationError naming it."""
    name = charset.strip().lower()
    name = _CHARSET_ALIASES.get(name, name)
    try:
        return codecs.lookup(name).name
    except LookupError:
        raise ValidationError(f"unknown charset {charset!r}", field="charset") from None


def raw_form_value(raw: bytes, name: str) -> bytes | None:
    """Return the undecoded bytes of the first `name=` field of a urlencoded string."""
    key = name.encode("ascii")
    for part in raw.split(b"&"):
        field, sep, value = part.partition(b"=")
        if unquote_to_bytes(field.replace(b"+", b" ")) == key:
            return unquote_to_bytes(value.replace(b"+", b" ")) if sep else b""
    return None


def decode_message(raw: bytes, coding: str | None, charset: str | None) -> str:
    """Decode a message body the gateway url-encoded byte for byte (Kannel's %b).

    coding=2 (UCS-2) defaults to UTF-16BE; otherwise the charset given, else UTF-8.
    """
    if charset:
        codec = python_codec(charset)
    elif coding == "2":
        codec = "utf-16-be"
    else:
        codec = "utf-8"
    try:
        return raw.decode(codec)
    except UnicodeDecodeError:
        raise ValidationError(
            f"message is not valid {codec} text", field="message", charset=codec
        ) from None


def needs_raw_decoding(coding: str | None, charset: str | None) -> bool:
    """Tell whether the message must be decoded from its raw bytes rather than as UTF-8."""
    if coding == "2":
        return True
    if charset:
        return python_codec(charset) != "utf-8"
    return False
