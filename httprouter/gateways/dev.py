"""Engines for development and demos, as django-simple-sms's Dummy, Console and FileBased backends:
every message becomes sent, and nothing leaves the machine.

- `dummy`: accepts it, nothing else.
- `log`: writes it to the log (logger `httprouter.gateways.dev`, INFO).
- `file`: appends one JSON line per message to `path` (several dispatchers may share the file:
  each line is written whole under an exclusive lock).
"""

from __future__ import annotations

import fcntl
import json
import logging
import os

from .. import clock
from ..errors import ConfigError
from .base import GatewayEngine, Outbound, Outcome, PreparedRequest, SendResult

log = logging.getLogger(__name__)


class DummyEngine(GatewayEngine):
    """Accept every message as sent, and do nothing else."""

    def prepare_request(self, message: Outbound) -> PreparedRequest:
        """The message as one JSON object (what `log` logs and `file` writes)."""
        line = {
            "id": message.id,
            "backend": message.backend,
            "to": message.recipient,
            "from": message.sender or None,
            "text": message.text,
            "time": clock.now().isoformat(),
        }
        body = json.dumps(line, ensure_ascii=False).encode("utf-8")
        return PreparedRequest("SEND", f"{type(self).__name__}:{self.name}", body=body)

    def send(self, request: PreparedRequest) -> SendResult:
        """Accept it."""
        return SendResult(Outcome.SENT, body="accepted")


class LogEngine(DummyEngine):
    """Write every message to the log, and accept it."""

    def send(self, request: PreparedRequest) -> SendResult:
        """Log the message's JSON line."""
        log.info(
            "message for %s: %s",
            self.name,
            (request.body or b"").decode("utf-8"),
            extra={"backend": self.name},
        )
        return SendResult(Outcome.SENT, body="logged")


class FileEngine(DummyEngine):
    """Append every message to a file as one JSON line, and accept it. Option: `path`."""

    def configure(self, path: str) -> None:
        """Take the file's path (made if missing; its folder must exist)."""
        if not isinstance(path, str) or not path:
            raise ConfigError(
                f"BACKENDS[{self.name!r}]: path must be a file path", field="BACKENDS"
            )
        folder = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(folder):
            raise ConfigError(
                f"BACKENDS[{self.name!r}]: path {path!r}: no folder {folder!r}", field="BACKENDS"
            )
        self.path = path

    def send(self, request: PreparedRequest) -> SendResult:
        """Append the line; a write that fails is retried like a gateway that is down."""
        try:
            with open(self.path, "ab") as out:
                fcntl.flock(out, fcntl.LOCK_EX)
                out.write((request.body or b"") + b"\n")
                out.flush()
                os.fsync(out.fileno())
        except OSError as exc:
            return SendResult(Outcome.RETRY, error=f"{type(exc).__name__}: {exc}")
        return SendResult(Outcome.SENT, body=f"written to {self.path}")


# The short names of this module's engines, for BACKENDS' ENGINE.
ENGINES = {"dummy": DummyEngine, "log": LogEngine, "file": FileEngine}
