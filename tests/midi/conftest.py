"""Fixtures for the MIDI tests: a virtual clock. The private JACK server (``jack_server``) is
in ``tests/conftest.py``, shared with the tests outside this folder.
"""
from __future__ import annotations

import pytest


class VirtualClock:
    """A clock that moves only when told, for deterministic scheduler tests."""

    def __init__(self, t: float = 0.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def vclock() -> VirtualClock:
    return VirtualClock()
