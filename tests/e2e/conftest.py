"""Fixtures of the end-to-end tests: real gateways in front of a served router."""

from ..support.jasmin import jasmin  # noqa: F401
