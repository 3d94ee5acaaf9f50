"""Build the training corpus from the ABC collections that ship inside music21.

Each tune is tokenised by music21's ABC handler, cleaned (grace notes, chords, lyrics,
decorations and comments dropped; ties merged; triplets kept as a long-short-short figure),
cut into whole bars of its meter, transposed to a tonic of C and written in the ABC subset of
:mod:`moodscore.models.abc`. Tunes that cannot be represented are dropped with a reason.
Needs the ``train`` extra (music21).

Public API: :func:`corpus_files`, :func:`read_tunes`, :class:`Tune`, :func:`build`.
"""
from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import numpy as np

from ..analysis import KK_MAJOR, KK_MINOR
from ..errors import DataError
from ..music import Meter
from . import labels
from .abc import BAR, DURATIONS, BarState, ParsedToken, Spelled, key_signature

if TYPE_CHECKING:
    from music21.abcFormat import ABCHandler, ABCMetadata

SOURCES = ("essenFolksong", "oneills1850", "airdsAirs", "ryansMammoth", "miscFolk",
           "nottingham-dataset")
METERS = ("2/4", "3/4", "4/4", "6/8", "3/8", "9/8", "12/8", "2/2", "3/2", "6/4")
_MODE_MAP = {"major": "maj", "ionian": "maj", "minor": "min", "aeolian": "min",
             "dorian": "dor", "mixolydian": "mix", "lydian": "lyd", "phrygian": "phr",
             "locrian": "loc"}
_PITCH_RE = re.compile(r"([A-G])(#{1,2}|-{1,2}|n|~)?(-?\d+)")
_ALTER = {None: 0, "n": 0, "#": 1, "##": 2, "-": -1, "--": -2}
MIN_BARS = 4
# One element of a tune body while cleaning it: (pitch or None for a rest, quarterLength) or BAR.
_Event = tuple[Spelled | None, float] | str


class Dropped(Exception):
    """A tune that cannot be represented; the message is the reason counted in the summary."""


@dataclass
class Tune:
    """One cleaned tune, tonic C, L:1/8, body tokens including bar lines."""

    id: str
    source: str
    title: str
    meter: str
    mode: str
    tonic: str  # the original tonic, e.g. "G" or "F#"
    rhythm: str  # the R: field, lower case
    notes_text: str  # T:, R:, N: words used as evidence of tune type
    tokens: list[str]
    features: dict[str, float] = field(default_factory=dict)
    valence: float = 0.0
    arousal: float = 0.0
    quadrant: int = 0
    split: str = "train"


def corpus_files(root: Path | None = None) -> list[tuple[str, Path]]:
    """(source, path) of every ABC file in music21's corpus, in a stable order."""
    if root is None:
        try:
            import music21
        except ImportError as err:
            raise DataError("building the corpus needs music21: pip install 'moodscore[train]'") from err
        root = Path(music21.__file__).parent / "corpus"
    files = [(p.relative_to(root).parts[0], p) for p in root.rglob("*.abc")]
    return sorted(files, key=lambda item: str(item[1]))


def _spelled(pitch_name: str | None) -> Spelled:
    if pitch_name is None:  # music21 gives None only for rests, which never get here
        raise Dropped("unreadable pitch")
    m = _PITCH_RE.fullmatch(pitch_name)
    if m is None or m.group(2) == "~":
        raise Dropped("unreadable pitch")
    letter, acc, octave = m.groups()
    return Spelled("CDEFGAB".index(letter), int(octave), _ALTER[acc])


def _meter(text: str) -> Meter:
    text = text.strip()
    text = {"C": "4/4", "C|": "2/2"}.get(text, text)
    if text not in METERS:
        raise Dropped("unsupported meter")
    return Meter.parse(text)


def _tonic_and_mode(token) -> tuple[Spelled, str]:
    try:
        key = token.getKeySignatureObject()
        tonic, mode = key.tonic, key.mode
    except Exception as err:  # music21 raises several kinds for odd K: fields
        raise Dropped("unreadable key") from err
    if mode not in _MODE_MAP:
        raise Dropped("unsupported mode")
    acc = tonic.accidental.alter if tonic.accidental is not None else 0
    if abs(acc) > 1:
        raise Dropped("unsupported mode")
    return Spelled("CDEFGAB".index(tonic.step), 4, int(acc)), _MODE_MAP[mode]


def _events(handler: ABCHandler) -> tuple[dict[str, str], ABCMetadata | None, list[_Event]]:
    """Split a tune's music21 tokens into header fields, the K: token and a list of
    (spelled|None, ql) / BAR."""
    from music21 import abcFormat as af

    header: dict[str, str] = {}
    key: ABCMetadata | None = None
    events: list[_Event] = []
    in_body = in_grace = False
    tuplet: list[int] = []  # [notes left, notes in group]
    group: list[int] = []  # indices in events of the current tuplet's notes
    prev_tie = False
    for tok in handler.tokens:
        if isinstance(tok, af.ABCMetadata):
            if in_body and tok.tag in ("M", "K", "L"):
                raise Dropped(f"{tok.tag}: changes inside the tune")
            if tok.tag == "V":
                raise Dropped("several voices")
            if not in_body:
                header.setdefault(tok.tag, tok.data.strip())
                if tok.tag == "K" and key is None:
                    key = tok
                in_body = tok.tag == "K"
            continue
        if isinstance(tok, af.ABCGraceStart):
            in_grace = True
        elif isinstance(tok, af.ABCGraceStop):
            in_grace = False
        elif isinstance(tok, af.ABCTuplet):
            tok.updateRatio()
            if tok.numberNotesActual != 3:
                raise Dropped("tuplet other than a triplet")
            tuplet, group = [3, 3], []
        elif isinstance(tok, af.ABCBar):
            events.append(BAR)
        elif isinstance(tok, (af.ABCNote, af.ABCChord)) and not in_grace and in_body:
            if isinstance(tok, af.ABCChord):
                subs = [s for s in tok.subTokens if isinstance(s, af.ABCNote) and not s.isRest]
                if not subs:
                    raise Dropped("empty chord")
                top = max(subs, key=lambda s: _spelled(s.pitchName).midi)
                pitch: Spelled | None = _spelled(top.pitchName)
            else:
                pitch = None if tok.isRest else _spelled(tok.pitchName)
            ql = float(tok.quarterLength)
            if prev_tie and pitch is not None and events and isinstance(events[-1], tuple) \
                    and events[-1][0] is not None and events[-1][0].midi == pitch.midi:
                events[-1] = (events[-1][0], events[-1][1] + ql)
            else:
                events.append((pitch, ql))
                if tuplet and tuplet[0] > 0:
                    group.append(len(events) - 1)
                    tuplet[0] -= 1
                    if tuplet[0] == 0:
                        _fix_triplet(events, group)
                        tuplet = []
            prev_tie = tok.tie in ("start", "continue") if isinstance(tok, af.ABCNote) else False
    if tuplet:
        raise Dropped("unfinished tuplet")
    return header, key, events


def _fix_triplet(events: list[_Event], group: list[int]) -> None:
    """A triplet lasts two of its notes; keep its pitches as a long-short-short figure."""
    notes = [ev for ev in (events[i] for i in group) if isinstance(ev, tuple)]  # group holds notes only
    total = sum(ql for _, ql in notes) * 2 / 3
    for i, (pitch, _), share in zip(group, notes, (0.5, 0.25, 0.25)):
        events[i] = (pitch, total * share)


def _bars(events: list[_Event], meter: Meter) -> list[list[tuple[Spelled | None, int]]]:
    """Whole bars of (pitch, ticks). Pickups and part bars that pair up are joined."""
    bars: list[list[tuple[Spelled | None, int]]] = []
    current: list[tuple[Spelled | None, int]] = []
    for ev in events + [BAR]:
        if isinstance(ev, str):  # BAR, the only text event
            if current:
                bars.append(current)
            current = []
            continue
        pitch, ql = ev
        ticks = ql * 8
        if abs(ticks - round(ticks)) > 1e-6 or round(ticks) <= 0:
            raise Dropped("duration off the 1/32 grid")
        current.append((pitch, int(round(ticks))))
    whole: list[list[tuple[Spelled | None, int]]] = []
    pending: list[tuple[Spelled | None, int]] = []
    for bar in bars:
        length = sum(t for _, t in bar)
        if length == meter.ticks and not pending:
            whole.append(bar)
        elif length < meter.ticks:
            joined = pending + bar
            total = sum(t for _, t in joined)
            if total == meter.ticks:
                whole.append(joined)
                pending = []
            else:
                pending = bar  # a pickup or a part bar waiting for its partner
        else:
            pending = []
            if length != meter.ticks:
                continue  # an over-full bar is a transcription error: skip it
            whole.append(bar)
    return whole


def _refine_mode(bars, tonic: Spelled, mode: str) -> tuple[Spelled, str]:
    """Take the final note as the tonic when K: gives only the key signature.

    Folk transcriptions (the Essen collection above all) write a minor tune under its relative
    major's K: field. As in modal analysis of folk song, the final is the tonic: a "major" tune
    ending on the 6th (aeolian) or 2nd (dorian) degree whose Krumhansl-Kessler minor profile on
    that final fits better than the major profile on the written tonic is relabelled.
    """
    if mode != "maj":
        return tonic, mode
    notes = [(p, t) for bar in bars for p, t in bar if p is not None]
    final = notes[-1][0]
    new_mode = {5: "min", 1: "dor"}.get((final.step - tonic.step) % 7)
    if new_mode is None:
        return tonic, mode
    hist = np.zeros(12)
    for pitch, ticks in notes:
        hist[pitch.midi % 12] += ticks
    major = np.corrcoef(hist, np.roll(KK_MAJOR, tonic.midi % 12))[0, 1]
    minor = np.corrcoef(hist, np.roll(KK_MINOR, final.midi % 12))[0, 1]
    if not minor > major:
        return tonic, mode
    return Spelled(final.step, 4, key_signature(mode, tonic)[final.step]), new_mode


def _split_ticks(ticks: int) -> list[int]:
    """A length not on the grid becomes tied grid lengths (longest first)."""
    parts: list[int] = []
    for d in sorted(DURATIONS, reverse=True):
        while ticks >= d:
            parts.append(d)
            ticks -= d
    return parts


def _tokens(bars, meter: Meter, mode: str, tonic: Spelled) -> list[str]:
    """Bars transposed from ``tonic`` to C (nearest octave) and spelled as body tokens."""
    steps = -tonic.step if tonic.step <= 3 else 7 - tonic.step
    target = Spelled(0, (tonic.diatonic + steps) // 7, 0)
    semis = target.midi - tonic.midi
    state = BarState(meter, key_signature(mode))
    tokens: list[str] = []
    for bar in bars:
        for pitch, ticks in bar:
            for part in _split_ticks(ticks):
                if pitch is None:
                    state.advance(ParsedToken(None, 0, None, part))
                    tokens.append("z" + DURATIONS[part])
                else:
                    moved = pitch.transposed(steps, semis)
                    if abs(moved.alter) > 1:
                        raise Dropped("double accidental after transposition")
                    tokens.append(state.spell(moved, part))
        state.bar_line()
        tokens.append(BAR)
    return tokens


def _tune(source: str, path: Path, number: int | None, handler: ABCHandler) -> Tune:
    header, key, events = _events(handler)
    if key is None:  # set together with header["K"]
        raise Dropped("no K: field")
    meter = _meter(header.get("M", "4/4"))
    tonic, mode = _tonic_and_mode(key)
    bars = _bars(events, meter)
    tonic, mode = _refine_mode(bars, tonic, mode)
    if len(bars) < MIN_BARS:
        raise Dropped(f"fewer than {MIN_BARS} whole bars")
    tokens = _tokens(bars, meter, mode, tonic)
    title = header.get("T", "")
    uid = f"{source}/{path.stem}/{number}"
    words = " ".join(header.get(k, "") for k in ("T", "R", "N")).lower()
    return Tune(uid, source, title, str(meter), mode,
                "CDEFGAB"[tonic.step] + {1: "#", -1: "b", 0: ""}[tonic.alter],
                header.get("R", "").lower(), words, tokens)


def read_tunes(files: list[tuple[str, Path]], drops: Counter | None = None) -> Iterator[Tune]:
    """Yield every representable tune of ``files``; count the others in ``drops`` by reason."""
    from music21 import abcFormat as af

    drops = Counter() if drops is None else drops
    for source, path in files:
        handler = af.ABCHandler()
        try:
            handler.process(path.read_text(encoding="utf-8", errors="replace"))
            books = handler.splitByReferenceNumber()
        except Exception:  # music21's tokenizer raises assorted errors on damaged files
            drops["file music21 cannot read"] += 1
            continue
        # Reference numbers, or a single None when the file has no X: field.
        for number in sorted(books, key=lambda n: -1 if n is None else n):
            try:
                yield _tune(source, path, number, books[number])
            except Dropped as why:
                drops[str(why)] += 1
            except Exception:  # one damaged tune must not stop the build
                drops["tune music21 cannot read"] += 1


def _split(uid: str, valid_percent: int) -> str:
    h = int(hashlib.sha1(uid.encode()).hexdigest()[:8], 16)
    return "valid" if h % 100 < valid_percent else "train"


def build(out_dir: Path, *, valid_percent: int = 5, limit: int | None = None,
          root: Path | None = None) -> dict:
    """Build ``corpus.jsonl`` and ``summary.json`` in ``out_dir``; return the summary."""
    files = corpus_files(root)
    drops: Counter = Counter()
    tunes = []
    for tune in read_tunes(files, drops):
        tunes.append(tune)
        if limit is not None and len(tunes) >= limit:
            break
    if not tunes:
        raise DataError("no tunes could be read from the music21 corpus")
    labels.label_tunes(tunes)
    for tune in tunes:
        tune.split = _split(tune.id, valid_percent)
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = out_dir / "corpus.jsonl.tmp"
    with tmp.open("w", encoding="utf-8") as fh:
        for tune in tunes:
            fh.write(json.dumps(asdict(tune), separators=(",", ":")) + "\n")
    tmp.replace(out_dir / "corpus.jsonl")
    summary = labels.summarise(tunes)
    summary["dropped"] = dict(drops.most_common())
    summary["kept"] = len(tunes)
    summary["sources"] = dict(Counter(t.source for t in tunes).most_common())
    summary["splits"] = dict(Counter(t.split for t in tunes))
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def load(path: Path) -> list[Tune]:
    """Read a ``corpus.jsonl`` written by :func:`build`."""
    if not path.exists():
        raise DataError(f"{path} does not exist: run `moodscore data build` first")
    with path.open(encoding="utf-8") as fh:
        return [Tune(**json.loads(line)) for line in fh]
