"""Scripted conversations, RapidSMS style::

    +15551234 > ping
    +15551234 < pong

`>` lines are sent to the router as inbound messages; `<` lines are the replies expected, in order.
"""

from __future__ import annotations

from httprouter.router import Router


def run_conversation(router: Router, script: str, backend: str = "console") -> None:
    """Play `script` against `router`, asserting every expected reply and no unexpected one."""
    pending: list[tuple[str, str]] = []
    for number, line in enumerate(script.strip().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if " > " in line:
            assert not pending, f"line {number}: replies not expected by the script: {pending}"
            identity, text = line.split(" > ", 1)
            result = router.receive(text, (backend, identity))
            pending = [(r.contact, r.text) for r in result.responses]
        elif " < " in line:
            identity, text = line.split(" < ", 1)
            assert pending, f"line {number}: expected {text!r} to {identity}, but no reply came"
            got = pending.pop(0)
            assert got == (identity, text), f"line {number}: expected {(identity, text)}, got {got}"
        else:
            raise ValueError(f"line {number}: neither '>' nor '<': {line!r}")
    assert not pending, f"replies not expected by the script: {pending}"
