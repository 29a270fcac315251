"""EchoApp: answers `ping` with `pong`, `echo TEXT` with TEXT, anything else with itself."""

from __future__ import annotations

from ..domain.messages import IncomingMessage
from .base import AppBase


class EchoApp(AppBase):
    """Reply to every message, for trying a gateway end to end."""

    def handle(self, msg: IncomingMessage) -> bool:
        word, _, rest = msg.text.strip().partition(" ")
        if word.lower() == "ping" and not rest:
            msg.respond("pong")
        elif word.lower() == "echo" and rest:
            msg.respond(rest)
        else:
            msg.respond(msg.text)
        return True
