"""Fixtures for the end-to-end tests: `smsc`, an SMPP SMSC simulator for one test."""

from __future__ import annotations

from ..support.smsc import smsc  # noqa: F401 - a fixture, found by name
