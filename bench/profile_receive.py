"""Profile /router/receive in process: where does a request's time go?

    .venv/bin/python -m bench.profile_receive [--database-url URL] [--requests N]

Runs N requests through Flask's test client (no sockets, no gunicorn) under pyinstrument and
prints the call tree. Without --database-url it uses a fresh SQLite file (synchronous=FULL).
"""

from __future__ import annotations

import argparse
import logging
import tempfile
from pathlib import Path

from pyinstrument import Profiler

from httprouter import create_app
from httprouter.logsetup import configure_logging

from .databases import migrated

ECHO = "httprouter.apps.echo.EchoApp"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--html", help="also write the HTML report here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = migrated(args.database_url, Path(folder))
        # Log as the service does, but to a file: the request log is part of the cost.
        with open(Path(folder) / "log", "w") as log_file:
            configure_logging("INFO", "json", log_file)
            app = create_app({"DATABASE_URL": url, "SMS_APPS": [ECHO]})
            client = app.test_client()
            for i in range(50):  # warm up caches and the connection pool
                client.get(f"/router/receive?backend=warm&sender=%2B1555{i:07d}&message=hi")
            profiler = Profiler(interval=0.0005)
            profiler.start()
            for i in range(args.requests):
                answer = client.get(
                    f"/router/receive?backend=kannel&sender=%2B2507{i % 5000:08d}"
                    f"&message=hello+world+{i}&id=p{i}"
                )
                assert answer.status_code == 200, answer.get_data(as_text=True)
            profiler.stop()
            logging.getLogger().handlers.clear()
        app.extensions["httprouter"].engine.dispose()
    print(profiler.output_text(unicode=True, color=False, show_all=False))
    if args.html:
        Path(args.html).write_text(profiler.output_html())


if __name__ == "__main__":
    main()
