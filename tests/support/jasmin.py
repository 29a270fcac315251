"""A real Jasmin SMS gateway for tests: installed once into a cached venv, run per test run.

`install()` builds (or reuses) a venv with jasmin 0.11.1 from its sdist and applies the fixes
listed in PATCHES to that scratch install only. `Jasmin` runs one `jasmind.py` with its own
RabbitMQ vhost, its own Redis database, its own folders and free loopback ports, configures it
through jCli with the commands of docs/gateways/jasmin.md, and cleans everything up in `stop()`.
The `jasmin` fixture yields a started (not yet configured) `Jasmin`.

What Jasmin needs from the machine: RabbitMQ on 127.0.0.1:5672 (guest/guest, `rabbitmqctl` on
PATH, run as a user allowed to call it) and Redis on 127.0.0.1:6379 without a password.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import signal
import socket
import string
import subprocess
import sys
import tarfile
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

VERSION = "0.11.1"
SETUPTOOLS = "setuptools<70"  # jasmin imports pkg_resources, gone from setuptools 70
SPEC_IN_SDIST = f"jasmin-{VERSION}/misc/config/resource/amqp0-9-1.xml"
DOC = Path(__file__).resolve().parents[2] / "docs" / "gateways" / "jasmin.md"
RABBITMQ = ("127.0.0.1", 5672)
REDIS = ("127.0.0.1", 6379)
JCLI_USER = "jcliadmin"
JCLI_PASSWORD = "jclipwd"
SMSC_SYSTEM_ID = "jasmin"  # what the SMPP client connector binds with
SMSC_PASSWORD = "jasmin"


@dataclass(frozen=True)
class Patch:
    """A text substitution applied to the scratch install, checked against what is there."""

    path: str  # relative to site-packages ("jasmin/...") or to the venv ("bin/...")
    old: str
    new: str
    count: int  # how many times `old` must occur in the installed file
    why: str


PATCHES = (
    Patch(
        "jasmin/managers/listeners.py",
        "_pdu.response",
        "r.response",
        5,
        "delivery receipts are never thrown: a SubmitSM request PDU has no `response` "
        "(fixed on Jasmin's main branch, unreleased)",
    ),
    Patch(
        "jasmin/redis/client.py",
        "RedisForJasminFactory(uuid, None, poolsize",
        "RedisForJasminFactory(uuid, dbid, poolsize",
        1,
        "[redis-client] dbid is ignored unless Redis has a password: every key lands in db 0",
    ),
    Patch(
        "bin/jasmind.py",
        'FileLock("/tmp/jasmind")',
        'FileLock(ROOT_PATH + "/jasmind")',
        1,
        "one machine-wide lock file: a killed run would keep every later jasmind from starting",
    ),
    Patch(
        "jasmin/bin/jasmind.py",
        'FileLock("/tmp/jasmind")',
        'FileLock(ROOT_PATH + "/jasmind")',
        1,
        "the same, in the package's copy of the script",
    ),
)


def on_ci() -> bool:
    return bool(os.environ.get("CI"))


def reachable(address: tuple[str, int], timeout: float = 1.0) -> bool:
    with socket.socket() as s:
        s.settimeout(timeout)
        return s.connect_ex(address) == 0


def missing_services() -> str | None:
    """Why Jasmin cannot run here, or None when RabbitMQ and Redis are there."""
    if not reachable(RABBITMQ):
        return "RabbitMQ does not answer on 127.0.0.1:5672"
    if rabbitmqctl_path() is None:
        return "rabbitmqctl is not installed (needed to make a vhost per run)"
    if not reachable(REDIS):
        return "Redis does not answer on 127.0.0.1:6379"
    return None


def require_services() -> None:
    """Skip (locally) or fail (on CI) when RabbitMQ or Redis is missing."""
    reason = missing_services()
    if reason is None:
        return
    if on_ci():
        raise RuntimeError(f"Jasmin's end-to-end test cannot run on CI: {reason}")
    pytest.skip(f"{reason}; Jasmin needs RabbitMQ and Redis (CI always has them)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- install --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Install:
    venv: Path

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    @property
    def jasmind(self) -> Path:
        return self.venv / "bin" / "jasmind.py"

    @property
    def spec(self) -> Path:
        return self.venv / "share" / "jasmin" / "amqp0-9-1.xml"

    @property
    def site_packages(self) -> Path:
        (found,) = self.venv.glob("lib/python*/site-packages")
        return found


def install_key() -> str:
    """Cache key: Jasmin's version, what the venv is built with, and every patch."""
    material = repr(
        (VERSION, SETUPTOOLS, sys.version_info[:2], [p.__dict__ for p in PATCHES], SPEC_IN_SDIST)
    )
    return f"jasmin-{VERSION}-{hashlib.sha256(material.encode()).hexdigest()[:12]}"


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "httprouter-tests"


def _run(command: list[str], log: Path, timeout: float = 900) -> None:
    with open(log, "ab") as out:
        out.write(f"$ {' '.join(command)}\n".encode())
        out.flush()
        done = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, timeout=timeout)
    if done.returncode != 0:
        tail = log.read_text(errors="replace")[-4000:]
        raise RuntimeError(f"{command[0]} failed ({done.returncode}):\n{tail}")


def apply_patches(install: Install) -> None:
    for patch in PATCHES:
        base = install.venv if patch.path.startswith("bin/") else install.site_packages
        path = base / patch.path
        text = path.read_text()
        found = text.count(patch.old)
        if found != patch.count:
            raise RuntimeError(
                f"{path}: expected {patch.count} x {patch.old!r}, found {found}: "
                "the installed Jasmin is not the source these patches were checked against"
            )
        path.write_text(text.replace(patch.old, patch.new))
        for stale in path.parent.glob(f"__pycache__/{path.stem}.*.pyc"):
            stale.unlink()


def install(root: Path | None = None) -> Install:
    """The cached Jasmin venv, built first if it is missing or was left half-built."""
    root = root or cache_root()
    root.mkdir(parents=True, exist_ok=True)
    target = Install(root / install_key())
    done_marker = target.venv / ".complete"
    with open(root / f"{install_key()}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # concurrent runs wait for one build
        if done_marker.exists():
            return target
        shutil.rmtree(target.venv, ignore_errors=True)
        log = root / f"{install_key()}.log"
        log.write_text("")
        _run([sys.executable, "-m", "venv", str(target.venv)], log)
        pip = [str(target.python), "-m", "pip", "--disable-pip-version-check", "--no-input"]
        _run([*pip, "install", "--quiet", SETUPTOOLS, "wheel"], log)
        sdist_dir = target.venv / "sdist"
        _run(
            [*pip, "download", "--quiet", "--no-deps", "--no-binary", "jasmin"]
            + ["--dest", str(sdist_dir), f"jasmin=={VERSION}"],
            log,
        )
        (sdist,) = sdist_dir.glob(f"jasmin-{VERSION}.tar.gz")
        _run([*pip, "install", "--quiet", "--no-binary", "jasmin", str(sdist)], log)
        target.spec.parent.mkdir(parents=True, exist_ok=True)
        with tarfile.open(sdist) as archive:
            member = archive.extractfile(SPEC_IN_SDIST)
            assert member is not None, f"{SPEC_IN_SDIST} is not in {sdist}"
            target.spec.write_bytes(member.read())
        apply_patches(target)
        done_marker.write_text(f"{VERSION}\n")
        return target


# --- RabbitMQ and Redis, one of each per run ------------------------------------------------


def rabbitmqctl_path() -> str | None:
    return shutil.which("rabbitmqctl") or next(
        (
            p
            for p in ("/usr/sbin/rabbitmqctl", "/usr/lib/rabbitmq/bin/rabbitmqctl")
            if os.access(p, os.X_OK)
        ),
        None,
    )


def rabbitmqctl(*args: str) -> str:
    command = rabbitmqctl_path() or "rabbitmqctl"
    done = subprocess.run(
        [command, "-q", *args], capture_output=True, text=True, timeout=60, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"rabbitmqctl {' '.join(args)} failed: {done.stdout}{done.stderr}")
    return done.stdout


class Redis:
    """Just enough RESP to pick, check and flush a database, over a loopback socket."""

    def __init__(self, address: tuple[str, int] = REDIS) -> None:
        self.sock = socket.create_connection(address, timeout=10)
        self.reader = self.sock.makefile("rb")

    def close(self) -> None:
        self.reader.close()
        self.sock.close()

    def __call__(self, *args: str | int) -> object:
        parts = [str(a).encode() for a in args]
        self.sock.sendall(
            b"".join(
                [f"*{len(parts)}\r\n".encode()] + [b"$%d\r\n%s\r\n" % (len(p), p) for p in parts]
            )
        )
        return self._read()

    def _read(self) -> object:
        line = self.reader.readline().rstrip(b"\r\n")
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RuntimeError(f"redis: {rest.decode()}")
        if kind == b":":
            return int(rest)
        if kind == b"$":
            size = int(rest)
            if size < 0:
                return None
            data = self.reader.read(size + 2)
            return data[:-2].decode(errors="replace")
        if kind == b"*":
            count = int(rest)
            return None if count < 0 else [self._read() for _ in range(count)]
        raise RuntimeError(f"redis: unexpected answer {line!r}")


CLAIM_KEY = "httprouter-tests:jasmin-run"
VHOST_PREFIX = "httprouter-test-"


def new_run_id() -> str:
    """`<pid>-<random>`: the pid tells a later run whether this one is still alive."""
    return f"{os.getpid()}-{uuid.uuid4().hex[:8]}"


def run_alive(run_id: str) -> bool:
    try:
        os.kill(int(run_id.split("-", 1)[0]), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, ValueError):
        return True  # someone else's process, or not our format: leave it alone
    return True


def remove_dead_vhosts() -> None:
    """Delete the vhosts of earlier runs that died before cleaning up."""
    for name in rabbitmqctl("list_vhosts", "name").split():
        if name.startswith(VHOST_PREFIX) and not run_alive(name.removeprefix(VHOST_PREFIX)):
            rabbitmqctl("delete_vhost", name)


def claim_redis_db(run_id: str) -> int:
    """A database number no one else uses: empty, then marked with this run's id. A database
    still marked by a run that died is flushed and taken."""
    redis = Redis()
    try:
        try:
            found = redis("CONFIG", "GET", "databases")
            count = int(found[1]) if isinstance(found, list) and len(found) == 2 else 16
        except RuntimeError:
            count = 16
        for db in range(1, count):
            redis("SELECT", db)
            if redis("SET", CLAIM_KEY, run_id, "NX") != "OK":
                holder = redis("GET", CLAIM_KEY)
                if not isinstance(holder, str) or run_alive(holder):
                    continue  # another run holds it
                redis("FLUSHDB")
                if redis("SET", CLAIM_KEY, run_id, "NX") != "OK":
                    continue
            if redis("DBSIZE") == 1:
                return db
            redis("DEL", CLAIM_KEY)  # someone's data: leave it alone
        raise RuntimeError(f"no empty Redis database among 1..{count - 1}")
    finally:
        redis.close()


def redis_db(db: int, *command: str | int) -> object:
    redis = Redis()
    try:
        redis("SELECT", db)
        return redis(*command)
    finally:
        redis.close()


# --- jCli -----------------------------------------------------------------------------------

IAC, SB, SE = 255, 250, 240
ANSI = re.compile(r"\x1b(?:\[[0-9;?]*[A-Za-z@]|[()][A-Za-z0-9]|[=>78cDEHM])")
PROMPTS = ("jcli : ", "> ")


def _strip_telnet(data: bytes) -> bytes:
    out = bytearray()
    i = 0
    while i < len(data):
        b = data[i]
        if b != IAC:
            out.append(b)
            i += 1
        elif i + 1 < len(data) and data[i + 1] == IAC:
            out.append(IAC)
            i += 2
        elif i + 1 < len(data) and data[i + 1] == SB:
            end = data.find(bytes([IAC, SE]), i)
            i = len(data) if end < 0 else end + 2
        else:
            i += 3  # IAC WILL/WONT/DO/DONT option: we negotiate nothing
    return bytes(out)


class JCliError(RuntimeError):
    pass


class JCli:
    """A jCli session over a plain socket: log in, send lines, keep the whole transcript."""

    def __init__(self, port: int, user: str = JCLI_USER, password: str = JCLI_PASSWORD) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.transcript: list[str] = []
        self._pending = b""
        # No `Username:` prompt is drawn: the banner ends with "Authentication required."
        self._read_until(lambda text: "Authentication required." in text)
        self._send(user)
        self._read_until(lambda text: text.endswith("Password: "))
        self._send(password)
        banner = self._read_until(lambda text: text.endswith(PROMPTS) or "Incorrect" in text)
        if "Incorrect" in banner:
            raise JCliError(f"jCli refused the login:\n{self.text()}")

    def text(self) -> str:
        return "".join(self.transcript)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.sendall(b"quit\r\n")
        self.sock.close()

    def _send(self, line: str) -> None:
        # jCli echoes what is typed (all but the password): the transcript is what it printed.
        self.sock.sendall(line.encode("ascii") + b"\r\n")

    def _read_until(self, done, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        text = ""
        while True:
            cleaned = ANSI.sub("", text.replace("\r\n", "\n").replace("\r", ""))
            if done(cleaned):
                self.transcript.append(cleaned)
                return cleaned
            left = deadline - time.monotonic()
            if left <= 0:
                self.transcript.append(cleaned)
                raise JCliError(f"jCli did not answer in {timeout}s:\n{self.text()}")
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError:
                continue
            if not chunk:
                self.transcript.append(cleaned)
                raise JCliError(f"jCli closed the connection:\n{self.text()}")
            self._pending += chunk
            # Keep an incomplete telnet command for the next chunk.
            cut = self._pending.rfind(bytes([IAC]))
            if cut >= 0 and len(self._pending) - cut < 3:
                ready, self._pending = self._pending[:cut], self._pending[cut:]
            else:
                ready, self._pending = self._pending, b""
            text += _strip_telnet(ready).decode("utf-8", errors="replace")

    def line(self, line: str, timeout: float = 30) -> str:
        """Send one line; answer what jCli printed after its echo, up to the next prompt."""
        self._send(line)
        raw = self._read_until(lambda text: text.endswith(PROMPTS), timeout)
        # The line comes back as it was typed, then a newline, the answer and the prompt.
        _echo, _, rest = raw.partition("\n")
        for prompt in PROMPTS:
            if rest.endswith(prompt):
                rest = rest[: -len(prompt)]
                break
        return rest.strip()


@dataclass
class Block:
    """One jCli command and, for `-a`/`-u`, the session lines closed by `ok`."""

    command: str
    lines: list[str] = field(default_factory=list)

    @property
    def opens_session(self) -> bool:
        return bool({"-a", "--add", "-u", "--update"} & set(self.command.split()[1:2]))


def doc_commands() -> str:
    """The jCli commands block of docs/gateways/jasmin.md (`<!-- jcli:begin -->` ... end)."""
    text = DOC.read_text()
    match = re.search(r"<!-- jcli:begin -->\s*```text\n(.*?)```\s*<!-- jcli:end -->", text, re.S)
    if not match:
        raise RuntimeError(f"{DOC} has no jcli:begin/jcli:end block")
    return match.group(1)


def placeholders() -> set[str]:
    """The {names} the doc's commands want filled in."""
    return {name for _, name, _, _ in string.Formatter().parse(doc_commands()) if name}


def parse_blocks(text: str) -> list[Block]:
    blocks: list[Block] = []
    current: Block | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if current is None:
            current = Block(line)
            if not current.opens_session:
                blocks.append(current)
                current = None
            continue
        current.lines.append(line)
        if line in ("ok", "ko"):
            blocks.append(current)
            current = None
    if current is not None:
        raise RuntimeError(f"jCli block {current.command!r} is not closed with ok")
    return blocks


def jcli_blocks(values: Mapping[str, object]) -> list[Block]:
    """The doc's commands with this run's values put in for the {placeholders}."""
    return parse_blocks(doc_commands().format_map(dict(values)))


# What jCli prints while a session is open, when a line is taken (an empty answer, or the
# arguments a route type wants).
_ACCEPTED = re.compile(r"|<class '[\w.]+'> arguments:\n[\w\s,]*")


def run_blocks(cli: JCli, blocks: list[Block]) -> None:
    for block in blocks:
        answer = cli.line(block.command)
        if block.opens_session:
            if "(ok: save, ko: exit)" not in answer:
                raise JCliError(f"jCli did not open a session for {block.command!r}:\n{cli.text()}")
            for line in block.lines[:-1]:
                answer = cli.line(line)
                if not _ACCEPTED.fullmatch(answer):
                    raise JCliError(f"jCli refused {line!r} in {block.command!r}:\n{cli.text()}")
            answer = cli.line(block.lines[-1])
        if not answer.startswith("Successfully"):
            raise JCliError(f"jCli refused {block.command!r}:\n{cli.text()}")


# --- the daemon ----------------------------------------------------------------------------


FIELD = re.compile(r"\[([\w -]+):([^\]]*)\]")


def md5_hex(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


class Jasmin:
    """One jasmind with its own vhost, Redis database, folders and loopback ports."""

    user = "router"
    group = "routers"
    smsc_cid = "smsc"
    http_cid = "httprouter"

    def __init__(
        self,
        workdir: Path,
        install_: Install | None = None,
        *,
        retry_delay: int = 3,
        max_retries: int = 2,
    ) -> None:
        self.install = install_ or install()
        self.workdir = workdir
        self.root = workdir / "root"
        self.logs = workdir / "logs"
        self.run_id = new_run_id()
        self.password = uuid.uuid4().hex[:16]  # the `user`'s password: Jasmin allows 16 chars
        self.vhost = VHOST_PREFIX + self.run_id
        self.retry_delay = retry_delay
        self.max_retries = max_retries
        self.ports = {
            name: free_port()
            for name in ("http", "jcli", "smpp_server", "smpp_server_pb", "router_pb", "smppcm_pb")
        }
        self.redis_db: int | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self._vhost_made = False
        self.jcli_transcripts: list[str] = []

    # URLs and credentials the router is given
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.ports['http']}"

    @property
    def send_url(self) -> str:
        return self.url + "/send"

    def config_text(self) -> str:
        p = self.ports
        store = self.root / "etc" / "jasmin" / "store"
        return f"""\
[smpp-server]
bind = 127.0.0.1
port = {p["smpp_server"]}

[smpp-server-pb]
bind = 127.0.0.1
port = {p["smpp_server_pb"]}

[client-management]
store_path = {store}
bind = 127.0.0.1
port = {p["smppcm_pb"]}

[router]
store_path = {store}
bind = 127.0.0.1
port = {p["router_pb"]}

[http-api]
bind = 127.0.0.1
port = {p["http"]}
access_log = {self.logs}/http-accesslog.log

[jcli]
bind = 127.0.0.1
port = {p["jcli"]}
authentication = True
admin_username = {JCLI_USER}
admin_password = {md5_hex(JCLI_PASSWORD)}

[amqp-broker]
host = {RABBITMQ[0]}
port = {RABBITMQ[1]}
vhost = {self.vhost}
spec = {self.install.spec}
username = guest
password = guest
connection_loss_retry = False
connection_failure_retry = False

[redis-client]
host = {REDIS[0]}
port = {REDIS[1]}
dbid = {self.redis_db}
poolsize = 2

[deliversm-thrower]
http_timeout = 10
retry_delay = {self.retry_delay}
max_retries = {self.max_retries}

[dlr-thrower]
http_timeout = 10
retry_delay = {self.retry_delay}
max_retries = {self.max_retries}

[dlr]
dlr_lookup_retry_delay = 1
dlr_lookup_max_retries = 5
"""

    def start(self, timeout: float = 60) -> Jasmin:
        try:
            self._start(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self, timeout: float) -> None:
        for folder in (self.root / "etc" / "jasmin" / "store", self.logs):
            folder.mkdir(parents=True, exist_ok=True)
        remove_dead_vhosts()
        rabbitmqctl("add_vhost", self.vhost)
        self._vhost_made = True
        rabbitmqctl("set_permissions", "-p", self.vhost, "guest", ".*", ".*", ".*")
        self.redis_db = claim_redis_db(self.run_id)
        config = self.workdir / "jasmin.cfg"
        config.write_text(self.config_text())
        env = {  # jasmind takes SECTION_OPTION variables as overrides: give it only these
            "PATH": f"{self.install.venv / 'bin'}:/usr/local/bin:/usr/bin:/bin",
            "HOME": str(self.root),
            "LANG": "C.UTF-8",
            "ROOT_PATH": str(self.root),
            "LOG_PATH": str(self.logs),
            "PYTHONUNBUFFERED": "1",
        }
        with open(self.workdir / "jasmind.out", "wb") as out:
            self.process = subprocess.Popen(
                [str(self.install.python), str(self.install.jasmind), "-c", str(config)]
                + ["--enable-deliver-thrower", "--enable-dlr-thrower", "--enable-dlr-lookup"],
                cwd=self.root,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._wait_ready(timeout)

    def output(self) -> str:
        path = self.workdir / "jasmind.out"
        return path.read_text(errors="replace") if path.exists() else ""

    def log(self, name: str) -> str:
        """One of Jasmin's own logs in LOG_PATH, e.g. "messages", "http-api", "dlr-thrower"."""
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def message_log(self, kind: str = "SMS-MT") -> list[dict[str, str]]:
        """messages.log's `SMS-MT` (or `SMS-MO`) lines, each as its [key:value] fields:
        queue-msgid (Jasmin's id: the one `/send` answered, or the `id` of an inbound call),
        smpp-msgid (the SMSC's, as repr'd bytes: "b'7'"), status, from, to, content..."""
        return [
            dict(FIELD.findall(line))
            for line in self.log("messages").splitlines()
            if f" {kind} " in line
        ]

    def thrown(self, msgid: str) -> dict[str, int]:
        """How often a message was thrown to the HTTP connector: `ok` calls and `failed` ones."""
        text = self.log("deliversm-thrower")
        return {
            "ok": text.count(f"Throwed message [msgid:{msgid}]"),
            "failed": text.count(f"Throwing message [msgid:{msgid}]"),
        }

    def dlr_thrown(self, msgid: str) -> int:
        """How many delivery reports on Jasmin's message `msgid` it posted and had acknowledged."""
        return self.log("dlr-thrower").count(f"Throwed DLR [msgid:{msgid}]")

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            out = self.output()
            if self.process.poll() is not None or "Cannot start" in out:
                raise RuntimeError(f"jasmind did not start:\n{out}")
            if "jCli Started." in out:
                try:
                    ping = requests.get(self.url + "/ping", timeout=5)
                except requests.RequestException:
                    ping = None
                if ping is not None and ping.ok and reachable(("127.0.0.1", self.ports["jcli"])):
                    return
            time.sleep(0.2)
        raise RuntimeError(f"jasmind was not ready in {timeout}s:\n{self.output()}")

    def jcli(self) -> JCli:
        return JCli(self.ports["jcli"])

    def configure(
        self,
        *,
        smsc_port: int,
        router_url: str,
        router_password: str,
        backend: str = "jasmin",
        smsc_host: str = "127.0.0.1",
        smsc_username: str = SMSC_SYSTEM_ID,
        smsc_password: str = SMSC_PASSWORD,
    ) -> None:
        """Group, user, SMPP client connector (started), HTTP connector and both routes."""
        values = {
            "gid": self.group,
            "uid": self.user,
            "username": self.user,
            "password": self.password,
            "smsc_cid": self.smsc_cid,
            "smsc_host": smsc_host,
            "smsc_port": smsc_port,
            "smsc_username": smsc_username,
            "smsc_password": smsc_password,
            "http_cid": self.http_cid,
            "router_url": router_url,
            "backend": backend,
            "router_password": router_password,
        }
        cli = self.jcli()
        try:
            run_blocks(cli, jcli_blocks(values))
        finally:
            self.jcli_transcripts.append(cli.text())
            cli.close()

    def connector_state(self, cid: str | None = None) -> str:
        """The `smppccm -l` row of a connector: "<cid> <service> <session> ..."."""
        cid = cid or self.smsc_cid
        cli = self.jcli()
        try:
            listing = cli.line("smppccm -l")
        finally:
            cli.close()
        for row in listing.splitlines():
            if row.startswith(f"#{cid} "):
                return " ".join(row[1:].split())
        raise JCliError(f"no connector {cid} in:\n{listing}")

    def wait_bound(self, cid: str | None = None, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        state = ""
        while time.monotonic() < deadline:
            state = self.connector_state(cid)
            if "BOUND_TRX" in state:
                return
            time.sleep(0.3)
        raise RuntimeError(f"connector is not bound after {timeout}s: {state}\n{self.output()}")

    def send(self, **params: str) -> requests.Response:
        """Call /send as the router's user (`username`/`password` added unless given)."""
        params = {"username": self.user, "password": self.password, **params}
        return requests.post(self.send_url, data=params, timeout=30)

    def redis_keys(self) -> list[str]:
        assert self.redis_db is not None
        found = redis_db(self.redis_db, "KEYS", "*")
        assert isinstance(found, list)
        return sorted(k for k in found if k != CLAIM_KEY)

    def stop(self) -> None:
        """Stop jasmind and remove its vhost and Redis data; safe to call twice."""
        errors = []
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if self._vhost_made:
            try:
                rabbitmqctl("delete_vhost", self.vhost)
                self._vhost_made = False
            except (RuntimeError, subprocess.TimeoutExpired) as exc:
                errors.append(str(exc))
        if self.redis_db is not None:
            try:
                redis_db(self.redis_db, "FLUSHDB")
                self.redis_db = None
            except (OSError, RuntimeError) as exc:
                errors.append(f"redis FLUSHDB: {exc}")
        if errors:
            raise RuntimeError("Jasmin cleanup failed: " + "; ".join(errors))

    def __enter__(self) -> Jasmin:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@pytest.fixture(scope="module")
def jasmin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Jasmin]:
    """A started Jasmin (call `.configure(...)` once the SMSC and the router are up)."""
    require_services()
    with Jasmin(tmp_path_factory.mktemp("jasmin")) as running:
        yield running
