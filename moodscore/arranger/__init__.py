"""The arranger: a melody phrase in, its accompaniment out, one module per concern.

:func:`arrange` plans the phrase's harmony (:mod:`.harmony`), writes every role of the style
(:mod:`.parts`, on patterns from :mod:`.patterns`), performs them (:mod:`.performance`) and
keeps the layers the intensity asks for (:func:`active_roles`). Pure and deterministic: the
same phrase, controls, seed, style and intensity give the same notes. Times are beats from the
phrase start; each role has its own channel (``CHANNELS``: melody 0, pad 1, bass 2, counter 4,
rhythm 5, drums 9; 3 is the stingers').

Public API: :func:`arrange`, :func:`arrange_parts`, :func:`harmony_for`, :func:`active_roles`,
:func:`default_intensity`, :func:`programs_for`, :func:`melody_velocities`, ``CHANNELS``,
``ROLES``, ``TRACK_NAMES``; :mod:`.harmony` (:class:`~.harmony.Chord`,
:func:`~.harmony.plan_harmony`, :func:`~.harmony.voice_chords`); :mod:`.styles`
(:class:`~.styles.Style`, :func:`~.styles.load_style`, :func:`~.styles.names`).
"""
from __future__ import annotations

import math
import random
import zlib
from typing import TYPE_CHECKING

from ..music import Note, Phrase
from . import parts, performance
from .harmony import Chord, plan_harmony, voice_chords
from .patterns import feel_of
from .styles import ACCOMPANIMENT, ROLES, Style, default_style, load_style, names

if TYPE_CHECKING:
    from ..engine.template import Controls

CHANNELS = parts.CHANNELS
TRACK_NAMES = {0: "Melody", 1: "Pad", 2: "Bass", 3: "Stingers", 4: "Counter", 5: "Rhythm", 9: "Drums"}
_ROLE_SALT = {role: zlib.crc32(role.encode()) for role in ROLES}

__all__ = ["arrange", "arrange_parts", "harmony_for", "active_roles", "default_intensity", "programs_for",
           "melody_velocities", "CHANNELS", "ROLES", "ACCOMPANIMENT", "TRACK_NAMES", "Style",
           "load_style", "names", "default_style"]


def default_intensity(arousal: float) -> float:
    """The intensity when none is sent: calm music is sparse, driving music full."""
    return max(0.0, min(1.0, (arousal + 1) / 2))


def active_roles(style: Style, intensity: float) -> tuple[str, ...]:
    """The melody and the first layers of the style's order: ``base_layers`` at intensity 0,
    all five at 1, one more at each equal step between."""
    extra = len(style.layers) - style.base_layers
    count = style.base_layers + math.floor(max(0.0, min(1.0, intensity)) * extra + 0.5)
    return ("melody",) + tuple(style.layers[:count])


def _rng(seed: int, role: str) -> random.Random:
    # one stream per role, so a part's notes do not depend on which other parts play
    return random.Random(seed * 1_000_003 + _ROLE_SALT[role])


def harmony_for(phrase: Phrase, controls: Controls, *, seed: int = 0, style: Style | None = None,
                phrase_index: int = 0) -> list[Chord]:
    """The chords :func:`arrange_parts` writes the parts on."""
    return plan_harmony(phrase, valence=controls.valence, arousal=controls.arousal,
                        phrase_index=phrase_index, cadences=(style or default_style()).cadences,
                        rng=_rng(seed, "melody"))


def _write(role: str, ctx: parts.Context, seed: int) -> list[Note]:
    rng = _rng(seed, role)
    if role == "pad":
        return parts.pad(ctx, voice_chords(ctx.chords, 48, 67, 4), rng)
    if role == "rhythm":
        return parts.rhythm(ctx, voice_chords(ctx.chords, 55, 76, 4), rng)
    writer = {"bass": parts.bass, "counter": parts.counter, "drums": parts.drums}[role]
    return writer(ctx, rng)


def arrange_parts(phrase: Phrase, controls: Controls, *, seed: int = 0, style: Style | None = None,
                  phrase_index: int = 0, roles: tuple[str, ...] = ACCOMPANIMENT,
                  chords: list[Chord] | None = None) -> dict[str, list[Note]]:
    """The accompaniment ``roles`` of ``style`` for ``phrase``, performed, by role name. Each
    role has its own random stream, so a role's notes do not depend on which others are asked
    for; ``chords`` (from :func:`harmony_for` with the same arguments) saves planning again."""
    style = style or default_style()
    if chords is None:
        chords = harmony_for(phrase, controls, seed=seed, style=style, phrase_index=phrase_index)
    feel = feel_of(phrase.meter)
    ctx = parts.Context(phrase, chords, feel, controls.velocity, controls.arousal, phrase_index, style)
    written = {role: _write(role, ctx, seed) for role in roles}
    peak = performance.peak_time(phrase)
    out = {}
    for role, notes in written.items():
        lay_back = getattr(style, role).timing
        shaped = performance.shape(notes, feel=feel, bar_len=phrase.meter.beats, phrase_beats=phrase.beats,
                                   peak=peak, humanise=style.humanise, lay_back=lay_back,
                                   rng=_rng(seed + 1, role))
        end = phrase.beats
        out[role] = [n if n.start + n.duration <= end else Note(n.pitch, n.start, end - n.start, n.velocity,
                                                                  n.channel)
                     for n in shaped if n.start < end and 0 <= n.pitch <= 127]
    return out


def arrange(phrase: Phrase, controls: Controls, *, seed: int = 0, style: Style | None = None,
            intensity: float | None = None, phrase_index: int = 0) -> list[Note]:
    """The accompaniment of ``phrase`` (not the melody) at ``intensity`` (default: from the
    arousal, and then drums only above the template's ``drums_above``), sorted by onset,
    channel and pitch."""
    style = style or default_style()
    level = default_intensity(controls.arousal) if intensity is None else intensity
    written = arrange_parts(phrase, controls, seed=seed, style=style, phrase_index=phrase_index)
    roles = active_roles(style, level)
    if intensity is None and not controls.drums:  # the template's drums_above, while unsent
        roles = tuple(r for r in roles if r != "drums")
    notes = [n for role in ACCOMPANIMENT if role in roles for n in written[role]]
    return sorted(notes, key=lambda n: (n.start, n.channel, n.pitch))


def melody_velocities(phrase: Phrase, velocity: int, *, seed: int = 0,
                      style: Style | None = None) -> list[int]:
    """The melody's velocity per note of ``phrase``: the mood's ``velocity`` performed."""
    factors = performance.melody_factors(phrase, feel_of(phrase.meter), (style or default_style()).humanise,
                                         _rng(seed + 2, "melody"))
    return [max(1, min(127, round(velocity * f))) for f in factors]


def programs_for(controls: Controls, style: Style | None = None) -> dict[int, int]:
    """Channel -> General MIDI program of every role (and the template's stinger) for this mood;
    channel 9 gets the drum kit."""
    style = style or default_style()
    p = controls.programs
    template = {"melody": p.melody, "counter": p.melody, "pad": p.chords, "rhythm": p.chords, "bass": p.bass}
    quadrant = ("q1" if controls.arousal >= 0 else "q4") if controls.valence >= 0 else (
        "q2" if controls.arousal >= 0 else "q3")
    out = {CHANNELS[role]: style.program(role, quadrant, template) for role in ROLES}
    out[3] = p.stinger
    return dict(sorted(out.items()))
