"""The container recipe: this machine cannot build images, so the Dockerfile's own COPY, install
and start steps are replayed in a fresh virtualenv from a copy of the source, as Docker would."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import time
import venv
from pathlib import Path

import pytest
import requests
import yaml

from httprouter.config import SETTINGS
from tests.support.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    """The Dockerfile as (INSTRUCTION, arguments), continuation lines joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            found.append((word.upper(), rest.strip()))
    return found


def env_of(steps: list[tuple[str, str]]) -> dict[str, str]:
    env: dict[str, str] = {}
    for word, rest in steps:
        if word == "ENV":
            for item in shlex.split(rest):
                key, _, value = item.partition("=")
                env[key] = value
    return env


def test_dockerfile_is_slim_non_root_with_healthcheck_and_entrypoint():
    steps = instructions()
    words = [w for w, _ in steps]
    assert dict(steps)["FROM"].startswith("python:3.1") and "-slim" in dict(steps)["FROM"]
    users = [rest for w, rest in steps if w == "USER"]
    assert users and users[-1] not in ("root", "0")
    health = dict(steps)["HEALTHCHECK"]
    assert "/healthz" in health
    assert words.index("USER") < words.index("ENTRYPOINT")
    assert "httprouter-entrypoint" in dict(steps)["ENTRYPOINT"]


def test_compose_example_has_postgres_web_and_two_workers_with_known_settings():
    compose = yaml.safe_load((ROOT / "docker-compose.example.yml").read_text())
    services = compose["services"]
    assert services["db"]["image"].startswith("postgres")
    assert "serve" in services["web"]["command"]
    workers = [s for s in services.values() if s.get("command") == ["worker"]]
    assert len(workers) == 2
    for name, service in services.items():
        for key in service.get("environment", {}):
            if key.startswith("HTTPROUTER_"):
                assert key[len("HTTPROUTER_") :] in SETTINGS, (name, key)


@pytest.fixture(scope="module")
def image(tmp_path_factory) -> dict[str, Path]:
    """Replay COPY and `RUN pip install` into a fresh virtualenv, as `docker build` would."""
    base = tmp_path_factory.mktemp("image")
    app, bin_dir = base / "app", base / "venv" / "bin"
    app.mkdir()
    venv.create(base / "venv", with_pip=True)
    workdir = app
    for word, rest in instructions():
        if word == "WORKDIR" and rest == "/app":
            workdir = app
        elif word == "COPY":
            *sources, dest = shlex.split(rest)
            for source in sources:
                src = ROOT / source
                if dest.startswith("/usr/local/bin/"):
                    target = bin_dir / Path(dest).name
                else:
                    target = workdir / dest / src.name if dest.endswith("/") else workdir / dest
                if src.is_dir():
                    shutil.copytree(src, target, ignore=shutil.ignore_patterns("__pycache__"))
                else:
                    shutil.copy2(src, target)
        elif word == "RUN" and rest.startswith("pip install"):
            env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
            subprocess.run(rest, shell=True, cwd=workdir, env=env, check=True, timeout=900)  # noqa: S602
    return {"base": base, "bin": bin_dir}


def container_env(image, data: Path, **extra: str) -> dict[str, str]:
    """The image's ENV (with /data mapped to `data`) on a free port, plus `extra`."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("HTTPROUTER_", "PROMETHEUS", "PYTHONPATH"))
    }
    env.update({k: v.replace("/data", str(data)) for k, v in env_of(instructions()).items()})
    env.update(PATH=f"{image['bin']}:{os.environ['PATH']}", HTTPROUTER_PORT=str(free_port()))
    env.update(BIND_HOST="127.0.0.1", **extra)
    return env


class Container:
    """The image's ENTRYPOINT with its CMD (or `command`), run the way `docker run` would."""

    def __init__(self, image, data: Path, command: list[str] | None = None, **env: str) -> None:
        steps = dict(instructions())
        entry = json.loads(steps["ENTRYPOINT"])
        self.env = container_env(image, data, **env)
        self.url = f"http://127.0.0.1:{self.env['HTTPROUTER_PORT']}"
        self.log_path = data / "container.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [str(image["bin"] / entry[0]), *(command or json.loads(steps["CMD"]))],
            cwd=data,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_healthy(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log_path.read_text()
            try:
                if requests.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise AssertionError(f"not healthy in {timeout}s:\n{self.log_path.read_text()}")

    def healthcheck(self) -> int:
        """Run the Dockerfile's HEALTHCHECK command; return its exit status."""
        command = dict(instructions())["HEALTHCHECK"].split(" CMD ", 1)[1]
        return subprocess.run(command, shell=True, env=self.env, timeout=30).returncode  # noqa: S602

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._log.close()


@pytest.mark.slow
def test_image_installs_migrates_on_start_and_passes_its_healthcheck(image, tmp_path):
    container = Container(image, tmp_path, HTTPROUTER_SMS_APPS='["httprouter.apps.echo.EchoApp"]')
    try:
        container.wait_healthy()
        assert container.healthcheck() == 0
        ready = requests.get(container.url + "/readyz", timeout=10)
        assert ready.status_code == 200, ready.text  # migrated on start
        r = requests.get(
            container.url + "/router/receive",
            params={"backend": "kannel", "sender": "+250788000001", "message": "ping"},
            timeout=10,
        )
        assert r.json()["responses"][0]["text"] == "pong"
    finally:
        container.stop()
    assert (tmp_path / "httprouter.sqlite3").exists()  # the image's DATABASE_URL, under /data
    # the installed copy ran, not this checkout
    assert (
        str(image["base"])
        in subprocess.run(
            [str(image["bin"] / "python"), "-c", "import httprouter; print(httprouter.__file__)"],
            capture_output=True,
            text=True,
            check=True,
            cwd=tmp_path,
            env=container.env,
        ).stdout
    )


@pytest.mark.slow
def test_migrations_on_start_can_be_disabled(image, tmp_path):
    container = Container(image, tmp_path, ["serve", "--workers", "1"], MIGRATE_ON_START="false")
    try:
        container.wait_healthy()
        ready = requests.get(container.url + "/readyz", timeout=10)
    finally:
        container.stop()
    assert ready.status_code == 503
    assert ready.json()["checks"]["migrations"]["current"] is None


@pytest.mark.slow
def test_other_commands_run_as_httprouter_subcommands(image, tmp_path):
    env = container_env(image, tmp_path, HTTPROUTER_ROUTER_PASSWORD="container-pw")
    entry = image["bin"] / json.loads(dict(instructions())["ENTRYPOINT"])[0]
    result = subprocess.run(
        [str(entry), "config", "check"], env=env, cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["ROUTER_PASSWORD"] == "***"
