"""Temp-score a reel from its cue sheet: MIDI for the DAW and a WAV to cut against.

    python examples/cue_sheet/render_reel.py            # writes out/reel1.mid and out/reel1.wav

The same as ``moodscore render examples/cue_sheet/reel1.json -o out/reel1.mid --wav
out/reel1.wav``, from Python: the cue sheet is checked whole first (a bad cue names itself and
its field), then each cue is played by the engine on a virtual clock at a tempo whose phrases end
on the cue's out point. The WAV needs FluidSynth and a GM soundfont (Debian: fluidsynth,
fluid-soundfont-gm); without them only the MIDI file is written.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from moodscore.film import cuesheet, timecode
from moodscore.film.render import render

HERE = Path(__file__).parent
OUT = Path("out")


def main() -> None:
    sheet = cuesheet.load(HERE / "reel1.json")
    OUT.mkdir(exist_ok=True)
    wav = OUT / "reel1.wav" if shutil.which("fluidsynth") else None
    report = render(sheet, OUT / "reel1.mid", wav_path=wav)
    for fit in report.score.fits:
        print(f"{fit.cue.name} {timecode.format_frames(fit.cue.start, sheet.rate)}: "
              f"{fit.bars} bars at {fit.bpm:.2f} BPM, mood {fit.cue.mood}")
    print(f"wrote {report.midi}" + (f" and {report.wav}" if report.wav else "")
          + f" ({report.speed:.0f}x real time)")


if __name__ == "__main__":
    main()
