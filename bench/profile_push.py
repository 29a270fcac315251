"""Profile the push dispatcher in process: where does a push's time go?

    .venv/bin/python -m bench.profile_push [--database-url URL] [--messages N] [--concurrency C]

Queues N messages, starts the benchmark gateway (`bench.gateway`, answers 202) on loopback and
runs one Dispatcher in this process under cProfile until every message is sent. Prints the rate
and the functions with the most cumulative time. Without --database-url it uses a fresh SQLite
file (synchronous=FULL).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import subprocess
import sys
import tempfile
import threading
import time
from functools import partial
from pathlib import Path

from httprouter import build_router
from httprouter.config import load_config
from httprouter.delivery.dispatcher import Dispatcher

from .databases import migrated
from .drains import count_sent, queue
from .servers import free_port


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url")
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--concurrency", type=int)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--no-profile", action="store_true", help="only measure the rate")
    args = parser.parse_args()
    port = free_port()
    gateway = subprocess.Popen([sys.executable, "-m", "bench.gateway", str(port)])
    try:
        with tempfile.TemporaryDirectory() as folder:
            url = migrated(args.database_url, Path(folder))
            template = f"http://127.0.0.1:{port}/cgi-bin/sendsms?to=%(recipient)s&text=%(text)s"
            settings = {"DATABASE_URL": url, "ROUTER_URL": template, "SMS_APPS": []}
            queue(settings, "bench-push", args.messages)
            router = build_router(load_config(settings))
            dispatcher = Dispatcher(router, concurrency=args.concurrency)
            time.sleep(0.5)  # the gateway is listening by now
            profiler = cProfile.Profile()
            run = dispatcher.run if args.no_profile else partial(profiler.runcall, dispatcher.run)
            started, cpu = time.perf_counter(), time.process_time()
            runner = threading.Thread(target=run)
            runner.start()
            while count_sent(url) < args.messages:
                time.sleep(0.1)
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
            dispatcher.stop.set()
            runner.join()
            router.engine.dispose()
    finally:
        gateway.terminate()
        gateway.wait()
    rate = (
        f"{args.messages} pushes in {elapsed:.2f} s: {args.messages / elapsed:.0f}/s, "
        f"CPU {cpu / args.messages * 1000:.2f} ms per push"
    )
    if args.no_profile:
        print(f"{rate} (concurrency {dispatcher.concurrency})")
        return
    print(f"{rate} (concurrency {dispatcher.concurrency}; with the profiler's overhead)")
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(args.top)


if __name__ == "__main__":
    main()
