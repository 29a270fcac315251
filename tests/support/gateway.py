"""A scripted SMS gateway on loopback: records every request and answers from a script."""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

# A Kannel-style sendsms template for ROUTER_URL, appended to a Gateway's url.
TEMPLATE = "/cgi-bin/sendsms?to=%(recipient)s&text=%(text)s&smsc=%(backend)s&id=%(id)s"


@dataclass
class Answer:
    status: int = 202
    body: str = "0: Accepted for delivery"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    at: float


class Gateway:
    """Answers each request with the next scripted Answer (then the default, 202)."""

    def __init__(self, script: list[Answer] | None = None, default: Answer | None = None) -> None:
        self.script = list(script or [])
        self.default = default or Answer()
        self.seen: list[Seen] = []
        self.ids: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.arrived = threading.Condition(self.lock)
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go in separate writes

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
                seen = Seen(
                    self.command, parts.path, query, dict(self.headers), body, time.monotonic()
                )
                with gateway.lock:
                    gateway.seen.append(seen)
                    if "id" in query:
                        gateway.ids[query["id"]] += 1
                    answer = gateway.script.pop(0) if gateway.script else gateway.default
                    gateway.arrived.notify_all()
                if answer.delay:
                    time.sleep(answer.delay)
                data = answer.body.encode("utf-8")
                try:
                    self.send_response(answer.status)
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Type", "text/plain; charset=utf-8")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST = _handle

            def log_message(self, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that went away (a killed worker) is part of the test

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait_for(self, count: int, timeout: float = 60) -> bool:
        """Wait until `count` requests arrived."""
        with self.arrived:
            return self.arrived.wait_for(lambda: len(self.seen) >= count, timeout)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
