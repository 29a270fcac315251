"""A minimal loopback SMS gateway for the push benchmark: every request gets 202 Accepted.

    python -m bench.gateway PORT

GET /stats answers {"count": n, "first": t, "last": t} (wall-clock times of the first and last
accepted message). HTTP/1.1 keep-alive, so the gateway is never the bottleneck.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

stats: dict[str, float] = {"count": 0, "first": 0.0, "last": 0.0}


def answer(status: bytes, body: bytes) -> bytes:
    """An HTTP/1.1 response with a body."""
    return (
        b"HTTP/1.1 " + status + b"\r\nContent-Type: text/plain\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.lower().split(b"\r\n")
            length = next(
                (int(x.split(b":", 1)[1]) for x in lines if x.startswith(b"content-length:")), 0
            )
            if length:
                await reader.readexactly(length)
            if head.split(b" ", 2)[1].startswith(b"/stats"):
                writer.write(answer(b"200 OK", json.dumps(stats).encode()))
            else:
                now = time.time()
                stats["count"] += 1
                stats["first"] = stats["first"] or now
                stats["last"] = now
                writer.write(answer(b"202 Accepted", b"0: Accepted for delivery"))
            await writer.drain()
            if b"connection: close" in lines:
                break
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        pass
    finally:
        writer.close()


async def serve(port: int) -> None:
    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1])))
