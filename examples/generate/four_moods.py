"""Generate 16 bars for each corner of the mood plane, with both models, and say where they are.

    python examples/generate/four_moods.py [OUT_DIR]
"""
from __future__ import annotations

import sys
from pathlib import Path

from moodscore.cli import main

MOODS = {"happy": (0.8, 0.8), "angry": (-0.8, 0.8), "sad": (-0.8, -0.8), "calm": (0.8, -0.8)}


def run(out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    for model in ("abc", "lstm"):
        for name, (v, a) in MOODS.items():
            stem = out / f"{name}-{model}"
            code = main(["generate", "-v", str(v), "-a", str(a), "--bars", "16", "--seed", "1",
                         "--model", model, "-o", f"{stem}.mid", "--abc", f"{stem}.abc"])
            if code:
                return code
    print(f"\n{len(MOODS) * 2} MIDI files (and their melodies as ABC) are in {out.resolve()}")
    return 0


if __name__ == "__main__":
    sys.exit(run(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("out")))
