"""Helpers shared by end-to-end tests: an SMPP SMSC simulator and the codecs it needs."""
