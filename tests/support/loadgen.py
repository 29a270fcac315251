"""A small asyncio HTTP/1.1 load generator: N keep-alive connections for D seconds.

Unlike a tool that stops mid-flight at its deadline, it stops *starting* requests at the deadline
and waits for every answer, so the count of 200s can be compared exactly with rows stored.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import quote_plus


@dataclass
class LoadResult:
    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    elapsed: float = 0.0

    @property
    def requests(self) -> int:
        return sum(self.statuses.values()) + sum(self.errors.values())

    def percentile(self, p: float) -> float:
        data = sorted(self.latencies)
        return data[min(len(data) - 1, int(len(data) * p))] if data else 0.0


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("connection closed")
    status = int(status_line.split()[1])
    length, close = 0, False
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.decode("latin-1").partition(":")
        if name.lower() == "content-length":
            length = int(value)
        elif name.lower() == "connection" and "close" in value.lower():
            close = True
    await reader.readexactly(length)
    return status, close


async def _connection(
    host: str, port: int, path_for, deadline: float, result: LoadResult, n: int
) -> None:
    reader = writer = None
    i = 0
    while time.monotonic() < deadline:
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(host, port)
            path = path_for(n, i)
            i += 1
            started = time.monotonic()
            writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
            await writer.drain()
            status, close = await asyncio.wait_for(_read_response(reader), 120)
            result.latencies.append(time.monotonic() - started)
            result.statuses[status] += 1
            if close:  # the server ends this keep-alive connection: open another
                writer.close()
                writer = None
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
            result.errors[type(exc).__name__] += 1
            if writer is not None:
                writer.close()
            writer = None
            await asyncio.sleep(0.05)
    if writer is not None:
        writer.close()


def receive_path(password: str | None = None):
    """A path function for /router/receive varying the sender and the text per request."""

    def path_for(conn: int, i: int) -> str:
        text = quote_plus(f"load {conn}-{i} café ✓")
        path = f"/router/receive?backend=load&sender=%2B2557{conn:04d}{i % 1000:03d}&message={text}"
        return path + (f"&password={password}" if password else "")

    return path_for


def run_load(host: str, port: int, connections: int, seconds: float, path_for) -> LoadResult:
    """Drive `connections` keep-alive connections for `seconds`; wait for every answer."""
    result = LoadResult()

    async def main() -> None:
        deadline = time.monotonic() + seconds
        await asyncio.gather(
            *(_connection(host, port, path_for, deadline, result, n) for n in range(connections))
        )

    started = time.monotonic()
    asyncio.run(main())
    result.elapsed = time.monotonic() - started
    return result
