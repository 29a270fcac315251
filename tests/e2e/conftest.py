"""Fixtures for the end-to-end tests: `smsc`, an SMPP SMSC simulator for one test, and `jasmin`,
a started Jasmin gateway (module scope)."""

from __future__ import annotations

from ..support.jasmin import jasmin  # noqa: F401 - a fixture, found by name
from ..support.smsc import smsc  # noqa: F401 - a fixture, found by name
