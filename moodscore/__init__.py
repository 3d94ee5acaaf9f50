"""moodscore: a real-time adaptive music engine driven by valence and arousal."""
from __future__ import annotations

from .errors import MoodscoreError
from .music import Meter, Note, Phrase

__version__ = "0.1.0"
__all__ = ["MoodscoreError", "Meter", "Note", "Phrase", "__version__"]
