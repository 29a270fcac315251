"""Identity normalisers."""

from __future__ import annotations

import pytest

from httprouter.domain.identities import legacy, plus_digits, unchanged


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+250788383383", "+250788383383"),
        ("250788383383", "250788383383"),
        ("250-7883-83383", "250788383383"),
        ("+1 (206) 555-1212", "+12065551212"),
        ("+44 20.7946.0958", "+442079460958"),
        (" 0788 383 383 ", "0788383383"),
        ("MTN-Info", "MTN-Info"),
        ("asdfASDF", "asdfASDF"),
    ],
)
def test_plus_digits(raw, expected):
    assert plus_digits(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+250788383383", "250788383383"),
        ("250-7883-83383", "250788383383"),
        ("asdfASDF", "asdfasdf"),
        ("café", "caf"),
    ],
)
def test_legacy(raw, expected):
    assert legacy(raw) == expected


def test_none_keeps_everything():
    assert unchanged(" +1 (2) ") == " +1 (2) "
