"""The structure measures of real music, taken the same way as of generated pieces.

Real pieces from music21's corpus are written to MIDI files in memory (melody on channel 1,
every other part or the chord symbols on the channels after it, a pickup bar padded to a whole
bar) and measured by :func:`moodscore.measure.structure.measure`:

- ``bach``: Bach chorales (soprano as the melody, alto, tenor and bass as the accompaniment);
- ``folk``: every tune with chord symbols in music21's corpus (two Nottingham folk tunes and
  the two lead sheets: few, but the only ones), the symbols realised as block chords;
- ``essen``: Essen folk songs, melodies only (melodic measures).

music21 is needed only to rebuild them; the means are kept in ``references.json`` beside this
module, so ``moodscore evaluate`` reads them without music21. Rebuild with::

    python -m moodscore.measure.references --limit 100

Public API: :func:`load_references`, :func:`build_references`, ``REFERENCES_PATH``, ``COMMAND``.
"""
from __future__ import annotations

import argparse
import itertools
import json
import re
from pathlib import Path
from typing import Any, Callable, Iterator

import mido

from ..errors import DataError
from ..export.atomic import atomic_write_bytes
from .structure import Structure, measure, summarise

REFERENCES_PATH = Path(__file__).parent / "references.json"
COMMAND = "python -m moodscore.measure.references --limit 100"
TPB = 480
_CHORDED = ("nottingham-dataset", "oneills1850", "ryansMammoth", "miscFolk", "airdsAirs")
CHORD_LOW = 48  # chord-symbol realisations sit in C3..B4, root position
_DESCRIPTIONS = {
    "bach": "Bach chorales (music21 corpus.chorales, Riemenschneider order): soprano = melody",
    "folk": "every tune with chord symbols in music21's corpus: ABC tunes with at least 8 "
            "(only two of the Nottingham set) and the two lead sheets (leadSheet/*.mxl)",
    "essen": "Essen folk songs, melody only (music21 corpus essenFolksong)",
}


def load_references(path: Path = REFERENCES_PATH) -> dict[str, Any]:
    """The cached reference means: ``{"command", "sets": {name: {"pieces", "means"}}}``."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise DataError(f"reference measures {path}: cannot read ({err}); rebuild with {COMMAND}") from err


# --- music21 scores to MIDI -------------------------------------------------------------------


def _timing(score) -> tuple[float, tuple[int, int], float]:
    """(bar length, time signature, pickup padding) of a music21 score, in quarter notes."""
    from music21 import meter, stream

    ts = next(iter(score.recurse().getElementsByClass(meter.TimeSignature)), None)
    num, den = (ts.numerator, ts.denominator) if ts is not None else (4, 4)
    bar = num * 4.0 / den
    part = score.parts[0] if score.parts else score
    first = next(iter(part.getElementsByClass(stream.Measure)), None)
    pad = 0.0
    if first is not None and 0 < first.duration.quarterLength < bar - 1e-6:
        pad = bar - float(first.duration.quarterLength)
    return bar, (num, den), pad


def _midi(events: list[tuple[float, float, int, int, int]], signature: tuple[int, int]) -> mido.MidiFile:
    """A type 1 file from (start, duration, pitch, velocity, channel), one track per channel."""
    mid = mido.MidiFile(type=1, ticks_per_beat=TPB)
    head = mido.MidiTrack([mido.MetaMessage("time_signature", numerator=signature[0],
                                            denominator=signature[1]),
                           mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(100))])
    mid.tracks.append(head)
    for channel in sorted({e[4] for e in events}):
        timed = []
        for start, dur, pitch, vel, ch in events:
            if ch != channel or dur <= 0:
                continue
            on, off = round(start * TPB), max(round(start * TPB) + 1, round((start + dur) * TPB))
            timed.append((on, 1, mido.Message("note_on", channel=ch, note=pitch, velocity=vel)))
            timed.append((off, 0, mido.Message("note_off", channel=ch, note=pitch)))
        track, now = mido.MidiTrack(), 0
        for tick, _, msg in sorted(timed, key=lambda x: (x[0], x[1])):
            track.append(msg.copy(time=tick - now))
            now = tick
        mid.tracks.append(track)
    return mid


def _part_events(part, channel: int, pad: float) -> list[tuple[float, float, int, int, int]]:
    from music21 import harmony

    events = []
    for n in part.stripTies().flatten().notes:
        if isinstance(n, harmony.ChordSymbol) or n.duration.isGrace or n.duration.quarterLength <= 0:
            continue
        vel = int(n.volume.velocity) if n.volume.velocity is not None else 80
        for p in n.pitches:
            events.append((float(n.offset) + pad, float(n.duration.quarterLength), int(p.midi), vel, channel))
    return events


def chorale_midi(score) -> mido.MidiFile:
    """A chorale: soprano on channel 1, the lower parts on 2, 3, 4."""
    _, signature, pad = _timing(score)
    events = []
    for i, part in enumerate(score.parts[:4]):
        events += _part_events(part, i, pad)
    return _midi(events, signature)


def lead_sheet_midi(score) -> mido.MidiFile:
    """A tune with chord symbols: the melody on channel 1, each chord held until the next."""
    from music21 import harmony

    _, signature, pad = _timing(score)
    part = score.parts[0] if score.parts else score
    flat = part.stripTies().flatten()
    melody = _part_events(part, 0, pad)
    end = max((s + d for s, d, *_ in melody), default=0.0)
    symbols = [c for c in flat.getElementsByClass(harmony.ChordSymbol) if c.pitches]
    events = list(melody)
    for i, c in enumerate(symbols):
        start = float(c.offset) + pad
        stop = float(symbols[i + 1].offset) + pad if i + 1 < len(symbols) else end
        root = c.root().pitchClass
        for p in c.pitches:
            pitch = CHORD_LOW + root + (p.pitchClass - root) % 12
            events.append((start, stop - start, pitch, 70, 1))
    return _midi(events, signature)


def melody_midi(score) -> mido.MidiFile:
    _, signature, pad = _timing(score)
    part = score.parts[0] if score.parts else score
    return _midi(_part_events(part, 0, pad), signature)


# --- building ---------------------------------------------------------------------------------


def _chorales(limit: int) -> Iterator[Any]:
    from music21 import corpus

    for i, score in enumerate(corpus.chorales.Iterator(numberingSystem="riemenschneider", returnType="stream")):
        if i >= limit:
            return
        if score is not None and len(score.parts) >= 4:
            yield score


_CHORD_SYMBOL = re.compile(r'"[A-G][b#]?(?:m|min|maj|dim|aug|sus)?[0-9]*(?:/[A-Ga-g][b#]?)?"')


def _abc_scores(folders: tuple[str, ...], limit: int, min_chords: int = 0) -> Iterator[Any]:
    """Tunes of music21's ABC collections in a stable order, those with at least
    ``min_chords`` chord symbols, parsed one by one (faster than whole collections)."""
    import music21
    from music21 import converter

    root = Path(music21.__file__).parent / "corpus"
    count = 0
    for folder in folders:
        for path in sorted((root / folder).rglob("*.abc")):
            text = path.read_text(encoding="latin-1")
            tunes = re.split(r"(?m)^(?=X:)", text)
            for tune in tunes:
                if not tune.startswith("X:") or len(_CHORD_SYMBOL.findall(tune)) < min_chords:
                    continue
                try:
                    score = converter.parse(tune, format="abc")
                except Exception:  # noqa: BLE001 - a tune music21 cannot read is skipped
                    continue
                yield score
                count += 1
                if count >= limit:
                    return


def _lead_sheets() -> Iterator[Any]:
    import music21
    from music21 import converter

    for path in sorted((Path(music21.__file__).parent / "corpus" / "leadSheet").glob("*.mxl")):
        yield converter.parse(path)


def _measure_all(scores: Iterator[Any], to_midi: Callable[[Any], mido.MidiFile]) -> list[Structure]:
    out = []
    for score in scores:
        try:
            out.append(measure(to_midi(score)))
        except (DataError, ValueError, AttributeError, IndexError):
            continue
    return out


def build_references(limit: int = 100, path: Path = REFERENCES_PATH) -> dict[str, Any]:
    """Measure up to ``limit`` pieces of each set and write the means to ``path``."""
    try:
        import music21
    except ImportError as err:
        raise DataError("building the references needs music21: pip install 'moodscore[train]'") from err
    sets = {
        "bach": _measure_all(_chorales(limit), chorale_midi),
        "folk": _measure_all(itertools.chain(_abc_scores(_CHORDED, limit, min_chords=8),
                                             _lead_sheets()), lead_sheet_midi),
        "essen": _measure_all(_abc_scores(("essenFolksong",), limit), melody_midi),
    }
    result = {"command": COMMAND, "music21": music21.__version__, "limit": limit,
              "sets": {name: {"description": _DESCRIPTIONS[name], "pieces": len(found),
                              "means": summarise(found)} for name, found in sets.items()}}
    atomic_write_bytes(path, (json.dumps(result, indent=1) + "\n").encode())
    return result


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description="rebuild the real-music reference measures (needs music21)")
    p.add_argument("--limit", type=int, default=100, help="pieces per set")
    p.add_argument("--out", type=Path, default=REFERENCES_PATH)
    args = p.parse_args(argv)
    result = build_references(args.limit, args.out)
    for name, s in result["sets"].items():
        print(f"{name} ({s['pieces']} pieces): {json.dumps(s['means'])}")


if __name__ == "__main__":
    main()
