"""What each process carries. gunicorn forks the web workers from serve's process, so neither that
process nor the app may load what only start-up needs; the dispatcher does without the web app."""

from __future__ import annotations

import json
import subprocess
import sys

# alembic (migrations), requests (push backends), the ORM (unused), psycopg (on SQLite), Flask.
WATCHED = ["alembic", "requests", "sqlalchemy.orm", "psycopg", "flask"]

SERVE_THEN_WORK = """
from httprouter import create_app
from httprouter.ops import cli, serve

config = cli._config("create")
serve.run_apart(lambda: serve.prepare(config, True))  # what serve does before gunicorn forks
loaded("arbiter")
client = create_app().test_client()
received = client.get("/router/receive", query_string={"backend": "b", "sender": "1", "message": "hi"})
ready = client.get("/readyz")
assert (received.status_code, ready.status_code) == (200, 200), (received.text, ready.text)
loaded("worker")
"""

DISPATCH = """
from httprouter import build_router
from httprouter.ops import cli, serve
from httprouter.delivery.dispatcher import Dispatcher

serve.run_apart(lambda: serve.prepare(cli._config("create"), True))
Dispatcher(build_router(cli._config())).run_until_idle()
loaded("dispatcher")
"""


def _loaded(script, tmp_path):
    """Run `script` on a SQLite database; return {stage: the WATCHED modules loaded by then}."""
    prelude = (
        "import json, sys\n"
        "def loaded(stage):\n"
        f"    print(json.dumps([stage, [m for m in {WATCHED!r} if m in sys.modules]]))\n"
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "HTTPROUTER_DATABASE_URL": f"sqlite:///{tmp_path}/imports.sqlite3",
        "HTTPROUTER_SMS_APPS": '["httprouter.apps.echo.EchoApp"]',
        "HTTPROUTER_ROUTER_URL": '{"gw": "http://127.0.0.1:9/send?to=%(recipient)s"}',
    }
    proc = subprocess.run(
        [sys.executable, "-c", prelude + script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return dict(json.loads(line) for line in proc.stdout.splitlines())


def test_serve_migrates_apart_and_the_app_loads_no_start_up_tools(tmp_path):
    found = _loaded(SERVE_THEN_WORK, tmp_path)
    assert found == {"arbiter": [], "worker": ["flask"]}


def test_the_dispatcher_loads_no_web_app(tmp_path):
    assert _loaded(DISPATCH, tmp_path) == {"dispatcher": []}  # requests: on the first send
