"""Who may call: client addresses behind trusted proxies, per-backend network allow-lists, and a
brake on repeated authentication failures from one address. No Flask here."""

from __future__ import annotations

import ipaddress
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from ..errors import AuthError, ConfigError, HttpRouterError

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(values: Iterable[str], setting: str) -> list[Network]:
    """Parse CIDR strings ("10.0.0.0/8", "127.0.0.1"), or raise ConfigError naming the setting."""
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(str(value).strip(), strict=False))
        except ValueError:
            raise ConfigError(
                f"{setting}: {value!r} is not an address or network", field=setting
            ) from None
    return networks


def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        return None


def in_networks(address: str, networks: Sequence[Network]) -> bool:
    """Tell whether `address` falls in any of `networks`."""
    ip = _address(address)
    return ip is not None and any(ip in net for net in networks)


def client_address(remote_addr: str, forwarded_for: str | None, trusted: Sequence[Network]) -> str:
    """The caller's address: X-Forwarded-For is believed only when it comes from a trusted proxy.

    Walk the chain from the right (the hop nearest us) and return the first address that is not
    one of our trusted proxies.
    """
    if not forwarded_for or not in_networks(remote_addr, trusted):
        return remote_addr
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    for hop in reversed(hops):
        if not in_networks(hop, trusted):
            return hop if _address(hop) is not None else remote_addr
    return hops[0] if hops else remote_addr


class TooManyFailures(HttpRouterError):
    """An address failed authentication too often; it must wait (HTTP 429)."""

    status_code = 429


class FailureBrake:
    """Count authentication failures per address; past `allowed` in `window` seconds, refuse.

    Kept in each process's memory: with N gunicorn workers an address gets at most N × `allowed`
    tries per window, which is still a brake on guessing.
    """

    def __init__(
        self, allowed: int, window: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.allowed = allowed
        self.window = window
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, address: str, now: float) -> deque[float]:
        failures = self._failures.setdefault(address, deque())
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        return failures

    def check(self, address: str) -> None:
        """Raise TooManyFailures if `address` is over its allowance."""
        if self.allowed <= 0:
            return
        now = self._clock()
        with self._lock:
            failures = self._recent(address, now)
            if len(failures) >= self.allowed:
                wait = max(1, int(failures[0] + self.window - now + 1))
                raise TooManyFailures(
                    "too many failed authentications from this address; try again later",
                    field="password",
                    retry_after=wait,
                )
            if not failures:
                self._failures.pop(address, None)

    def failed(self, address: str) -> None:
        """Count one failure for `address`."""
        now = self._clock()
        with self._lock:
            self._recent(address, now).append(now)
            if len(self._failures) > 100_000:  # bound memory under a spray of addresses
                self._failures.clear()


def check_network(address: str, networks: Sequence[Network], backend: str) -> None:
    """Refuse (403) a caller outside the backend's allowed networks, when it has a list."""
    if networks and not in_networks(address, networks):
        raise AuthError(
            f"address not allowed for backend {backend!r}", field="backend", status_code=403
        )


class AccessPolicy:
    """The access rules of one app, parsed once from the configuration."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.trusted = parse_networks(config.get("TRUSTED_PROXIES") or [], "TRUSTED_PROXIES")
        self.backend_networks: dict[str, list[Network]] = {}
        for name, options in (config.get("BACKENDS") or {}).items():
            allowed = options.get("allow_networks")
            if allowed:
                self.backend_networks[name] = parse_networks(
                    allowed, f"BACKENDS[{name!r}].allow_networks"
                )
        self.brake = FailureBrake(
            int(config.get("AUTH_FAILURE_LIMIT", 10)),
            float(config.get("AUTH_FAILURE_WINDOW", 60)),
        )

    def client(self, remote_addr: str | None, forwarded_for: str | None) -> str:
        """The caller's address for these rules."""
        return client_address(remote_addr or "", forwarded_for, self.trusted)

    def check_backend(self, address: str, backend: str) -> None:
        """Refuse callers outside `backend`'s allow-list (or the "default" entry's)."""
        networks = self.backend_networks.get(backend)
        if networks is None:
            networks = self.backend_networks.get("default", [])
        check_network(address, networks, backend)
