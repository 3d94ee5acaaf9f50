"""The one exception tree of moodscore.

Every error the package raises on purpose derives from :class:`MoodscoreError`, so a caller
can catch them all; foreign errors are wrapped with ``raise ... from err``.
"""
from __future__ import annotations


class MoodscoreError(Exception):
    """Root of all moodscore errors."""


class ConfigError(MoodscoreError, ValueError):
    """A setting, preset or argument is outside what is allowed."""


class DataError(MoodscoreError):
    """The training corpus could not be built or read."""


class ModelError(MoodscoreError):
    """A model file is missing, malformed or does not match its card."""


class TokenizeError(MoodscoreError, ValueError):
    """ABC text or a token is not in the vocabulary or grammar."""


class OutputError(MoodscoreError, OSError):
    """A file or port could not be written."""


class BenchError(MoodscoreError):
    """A benchmark run ended without its figures."""
