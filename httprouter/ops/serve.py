"""`httprouter serve`'s process supervision: the steps before gunicorn, gunicorn, its children.

    serve (this process, gunicorn's arbiter)
    ├── a forked child that migrates and builds the push backends, then exits
    ├── the embedded dispatcher: `python -m httprouter worker --parent <pid>`
    └── gunicorn's web workers, forked from this process

gunicorn forks the web workers from this process, so each starts with all of its memory: what
start-up alone needs (alembic, the migration scripts, the push backends) is loaded in the forked
child and goes away with it. Every process of the service counts its metrics into one folder.
"""

from __future__ import annotations

import errno
import logging
import multiprocessing
import os
import shutil
import signal
import socket
import subprocess  # nosec B404
import sys
import tempfile
from collections.abc import Callable
from typing import Any

from ..errors import ConfigError, HttpRouterError
from ..logsetup import gunicorn_logger_class
from ..redact import redact_url

log = logging.getLogger(__name__)

STOP_SECONDS = 40  # how long the embedded dispatcher may take to finish its sends in flight


def serve(
    config: dict[str, Any], host: str, port: int, workers: int, threads: int, migrate: bool
) -> None:
    """Prepare the database, start the embedded dispatcher and run gunicorn until stopped.

    The address is taken first (and the database file checked by the command before): when
    either cannot be used, serve stops before anything has started.
    """
    listener = listen(host, port)
    metrics_dir = make_metrics_dir()
    try:
        run_apart(lambda: prepare(config, migrate))
        apps = [a if isinstance(a, str) else a["ENGINE"] for a in config["SMS_APPS"]]
        log.info(
            "httprouter listening on http://%s:%s; database: %s; apps: %s",
            host,
            port,
            redact_url(config["DATABASE_URL"]),
            ", ".join(apps) or "(none)",
            extra={"event": "start"},
        )
        dispatcher = None
        if config["EMBEDDED_DISPATCHER"]:
            dispatcher = start_embedded_dispatcher(config, port)
        # gunicorn takes the socket over (it closes the descriptor it is given).
        settings = gunicorn_settings(config, f"fd://{listener.detach()}", workers, threads)
        if dispatcher is not None:
            settings["on_exit"] = lambda _arbiter: stop_child(dispatcher)
        run_gunicorn(settings)
    finally:
        listener.close()  # a no-op once gunicorn has it
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)


def listen(host: str, port: int) -> socket.socket:
    """Bind `host`:`port` now (as gunicorn would); a ConfigError saying why when it cannot be."""
    where = f"port {port} on {host}"
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except (socket.gaierror, UnicodeError) as exc:
        raise ConfigError(f"cannot listen on {host!r}: {exc}; see --host", field="host") from None
    listener = socket.socket(family, kind, proto)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind(address)
    except OSError as exc:
        listener.close()
        if exc.errno == errno.EADDRINUSE:
            why = f"{where} is in use (another httprouter serve?)"
        elif exc.errno == errno.EACCES:
            why = f"{where} needs privileges this user lacks (ports below 1024 do)"
        elif exc.errno == errno.EADDRNOTAVAIL:
            why = f"{host} is not an address of this machine"
        else:
            why = f"cannot listen on {where}: {exc.strerror}"
        raise ConfigError(
            f"{why}; choose another with --port or --host (or the PORT setting)", field="PORT"
        ) from None
    return listener


def gunicorn_settings(
    config: dict[str, Any], bind: str, workers: int, threads: int
) -> dict[str, Any]:
    """gunicorn's settings for the service."""
    return {
        "bind": bind,
        "workers": workers,
        "worker_class": "gthread",
        "threads": threads,
        "timeout": 60,
        "graceful_timeout": 30,
        # Kannel puts a whole message, URL-encoded, in the query string: a 10,000-character
        # UCS-2 text is ~60 kB. Our own MAX_MESSAGE_LENGTH check (413) is the limit instead.
        "limit_request_line": 0,
        "accesslog": None,  # our own request log masks passwords
        "errorlog": "-",
        "loglevel": config["LOG_LEVEL"].lower(),
        "logger_class": gunicorn_logger_class(config["LOG_FORMAT"]),
    }


def run_gunicorn(settings: dict[str, Any]) -> None:
    """Run gunicorn's arbiter with `settings`, serving `create_app()`, until it is stopped."""
    from gunicorn.app.base import BaseApplication

    class Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for key, value in settings.items():
                self.cfg.set(key, value)
            if "control_socket_disable" in self.cfg.settings:  # gunicorn >= 24
                self.cfg.set("control_socket_disable", True)

        def load(self) -> Any:
            from .. import create_app

            return create_app()

    Server().run()


def prepare(config: dict[str, Any], migrate: bool) -> None:
    """What serve does before the web workers start: migrate, check the push backends."""
    from ..gateways.registry import GatewayRegistry
    from ..store.engine import make_engine
    from .migrate import upgrade

    if migrate:
        engine = make_engine(config["DATABASE_URL"])
        try:
            upgrade(engine)
        finally:
            engine.dispose()
    if config["EMBEDDED_DISPATCHER"]:
        # Build every configured push backend now, so a bad option stops start-up naming it.
        GatewayRegistry(config).check()


def run_apart(action: Callable[[], None]) -> None:
    """Run `action` in a forked child and wait for it to end; exit as it did if it failed.

    A HttpRouterError ends the child as it would end a command: `Error: <message>`, exit 1.
    """
    child = multiprocessing.get_context("fork").Process(target=_as_command, args=(action,))
    child.start()
    child.join()
    if child.exitcode != 0:  # negative when a signal ended it
        raise SystemExit(max(child.exitcode or 1, 1))


def _as_command(action: Callable[[], None]) -> None:
    try:
        action()
    except HttpRouterError as exc:
        print(f"Error: {exc.message}", file=sys.stderr)
        sys.exit(1)


def make_metrics_dir() -> str | None:
    """Make sure every process of this service counts into one metrics folder.

    An operator's PROMETHEUS_MULTIPROC_DIR is used as it is; otherwise a temporary folder is made
    (and returned, to be removed on exit).
    """
    from ..store import metrics

    given = os.environ.get(metrics.MULTIPROC_ENV)
    if given:
        os.makedirs(given, exist_ok=True)
        metrics.use_multiprocess_dir(given)
        return None
    made = tempfile.mkdtemp(prefix="httprouter-metrics-")
    metrics.use_multiprocess_dir(made)
    return made


def start_embedded_dispatcher(config: dict[str, Any], port: int) -> subprocess.Popen[bytes]:
    """Start `httprouter worker` as a child process that stops with serve (never a thread in
    gunicorn's arbiter, which forks the web workers)."""
    env = dict(os.environ)
    if not config["PUBLIC_URL"]:
        env["HTTPROUTER_PORT"] = str(port)  # delivery-report URLs point at this server
    # This package's own worker, run by this interpreter: no untrusted input.
    command = [sys.executable, "-m", "httprouter", "worker", "--parent", str(os.getpid())]
    log.info("dispatcher: embedded (EMBEDDED_DISPATCHER = True)", extra={"event": "start"})
    return subprocess.Popen(command, env=env)  # nosec B603


def stop_child(process: subprocess.Popen[bytes]) -> None:
    """Ask a child to stop (SIGTERM), and kill it if it has not within STOP_SECONDS."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
    except ChildProcessError:  # gunicorn's arbiter already reaped it
        pass


def watch_parent(parent: int, stop: Any) -> None:
    """Set `stop` (a threading.Event) when process `parent` is gone: the worker serve started."""
    while not stop.wait(1.0):
        if os.getppid() != parent:
            log.warning("httprouter serve is gone; the dispatcher stops")
            stop.set()
