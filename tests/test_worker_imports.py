"""What a web worker carries: gunicorn forks the workers from serve's process, so neither that
process nor the app may load what only start-up or other commands need."""

from __future__ import annotations

import json
import subprocess
import sys

# alembic (migrations), requests (push backends), the ORM (unused), psycopg (on SQLite).
START_UP_ONLY = ["alembic", "requests", "sqlalchemy.orm", "psycopg"]

SERVE_THEN_WORK = """
import json, sys
from httprouter import cli, create_app

config = cli._config()
cli._run_apart(lambda: cli._prepare(config, True))  # what serve does before gunicorn forks
arbiter = [m for m in %(names)r if m in sys.modules]
client = create_app().test_client()
received = client.get("/router/receive", query_string={"backend": "b", "sender": "1", "message": "hi"})
ready = client.get("/readyz")
worker = [m for m in %(names)r if m in sys.modules]
print(json.dumps({"arbiter": arbiter, "worker": worker, "codes": [received.status_code, ready.status_code]}))
"""


def test_serve_migrates_apart_and_the_app_loads_no_start_up_tools(tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "HTTPROUTER_DATABASE_URL": f"sqlite:///{tmp_path}/imports.sqlite3",
        "HTTPROUTER_SMS_APPS": '["httprouter.apps.echo.EchoApp"]',
        "HTTPROUTER_ROUTER_URL": '{"gw": "http://127.0.0.1:9/send?to=%(recipient)s"}',
    }
    proc = subprocess.run(
        [sys.executable, "-c", SERVE_THEN_WORK % {"names": START_UP_ONLY}],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    found = json.loads(proc.stdout.splitlines()[-1])
    assert found == {"arbiter": [], "worker": [], "codes": [200, 200]}
