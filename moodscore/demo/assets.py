"""What the page's SoundFont must hold: the General MIDI programs and drum keys moodscore plays.

``web/build.sh`` runs ``python -m moodscore.demo.assets`` and keeps only these presets of
FluidR3_GM (bank 0 programs; the standard kit, bank 128, with only these keys) in the SF3 it
writes to ``static/soundfont/``, so the file stays small. A preset with other programs still
plays: the synth falls back to the nearest preset it has (piano), and ``--soundfont`` gives the
page a full GM SoundFont.

Public API: :func:`gm_subset`, :data:`STATIC`, :data:`SOUNDFONT`.
"""
from __future__ import annotations

import json
from pathlib import Path

from ..arranger.patterns import DRUM_FAMILIES, DRUM_FILLS, ORCHESTRAL_FILLS
from ..arranger.styles import QuadrantPrograms, builtin
from ..engine.template import Programs, Template

STATIC = Path(__file__).with_name("static")
SOUNDFONT = STATIC / "soundfont" / "moodscore-gm.sf3"


def gm_subset(template: Template | None = None) -> dict[str, list[int]]:
    """``{"programs": [...], "drum_kits": [...], "drum_keys": [...]}`` the template's music can
    ask for in any of the built-in styles."""
    template = template or Template()
    programs = {p for q in (template.q1, template.q2, template.q3, template.q4)
                for p in q.programs.model_dump().values()}
    programs |= set(Programs().model_dump().values())  # what a preset without programs gets
    kits, keys = set(), set()
    for style in builtin().values():
        for role in ("melody", "counter", "pad", "rhythm", "bass"):
            chosen = getattr(style, role).programs
            if isinstance(chosen, QuadrantPrograms):
                programs |= set(chosen.model_dump().values())
        kits.add(style.drums.kit)
        voices = {v for fam in style.drums.patterns for p in DRUM_FAMILIES[fam].values() for bar in p
                  for v in bar}
        voices |= {v for fills in (DRUM_FILLS, ORCHESTRAL_FILLS) for p in fills.values() for bar in p
                   for v in bar} | {"crash"}
        for voice in voices:
            key = style.drums.keys.get(voice)
            if key is None:
                continue
            keys |= set(range(key, key + 12)) if voice == "timp" else {key}  # timpani are tuned
    return {"programs": sorted(programs), "drum_kits": sorted(kits), "drum_keys": sorted(keys)}


if __name__ == "__main__":
    print(json.dumps(gm_subset()))
