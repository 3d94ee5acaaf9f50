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
from typing import Any

from ..arranger.patterns import DRUM_FAMILIES, DRUM_FILLS, ORCHESTRAL_FILLS
from ..arranger.styles import QuadrantPrograms, builtin
from ..engine.template import Programs, Template

STATIC = Path(__file__).with_name("static")
SOUNDFONT = STATIC / "soundfont" / "moodscore-gm.sf3"


def gm_subset(template: Template | None = None) -> dict[str, Any]:
    """``{"programs": [...], "drum_kits": [...], "drum_keys": [...], "kit_keys": {kit: [...]}}``
    the template's music can ask for in any of the built-in styles (``drum_keys``: all kits')."""
    template = template or Template()
    programs = {p for q in (template.q1, template.q2, template.q3, template.q4)
                for p in q.programs.model_dump().values()}
    programs |= set(Programs().model_dump().values())  # what a preset without programs gets
    kits: set[int] = set()
    keys: set[int] = set()
    kit_keys: dict[int, set[int]] = {}
    for style in builtin().values():
        for role in ("melody", "counter", "pad", "rhythm", "bass"):
            chosen = getattr(style, role).programs
            if isinstance(chosen, QuadrantPrograms):
                programs |= set(chosen.model_dump().values())
        kits.add(style.drums.kit)
        voices = {v for fam in style.drums.patterns for p in DRUM_FAMILIES[fam].values() for bar in p
                  for v in bar}
        for fam in style.drums.patterns:  # the fills that family plays (see patterns.drum_hits)
            fills = ORCHESTRAL_FILLS if fam == "orchestral" else DRUM_FILLS
            voices |= {v for p in fills.values() for bar in p for v in bar} | {"crash"}
        mine = kit_keys.setdefault(style.drums.kit, set())
        for voice in voices:
            key = style.drums.keys.get(voice)
            if key is None:
                continue
            mine |= set(range(key, key + 12)) if voice == "timp" else {key}  # timpani are tuned
        keys |= mine
    return {"programs": sorted(programs), "drum_kits": sorted(kits), "drum_keys": sorted(keys),
            "kit_keys": {str(k): sorted(v) for k, v in sorted(kit_keys.items())}}


if __name__ == "__main__":
    print(json.dumps(gm_subset()))
