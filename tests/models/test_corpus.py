"""The corpus from music21's ABC collections, and the labels of tunes we know."""
from __future__ import annotations

from collections import Counter

import pytest

pytest.importorskip("music21")  # the train extra; CI installs it

from moodscore.models import corpus, labels  # noqa: E402
from moodscore.models.abc import BAR, parse_token  # noqa: E402
from moodscore.music import Meter  # noqa: E402


@pytest.fixture(scope="module")
def oneills():
    files = [f for f in corpus.corpus_files() if f[0] == "oneills1850"]
    drops: Counter = Counter()
    tunes = list(corpus.read_tunes(files, drops))
    labels.label_tunes(tunes)
    return {t.id: t for t in tunes}, drops


def test_the_corpus_ships_with_music21():
    sources = Counter(s for s, _ in corpus.corpus_files())
    for name in ("essenFolksong", "oneills1850", "ryansMammoth", "airdsAirs"):
        assert sources[name] > 0


def test_tunes_are_whole_bars_in_c(oneills):
    tunes, drops = oneills
    assert len(tunes) > 1500
    assert sum(drops.values()) < 0.2 * len(tunes)
    for tune in list(tunes.values())[::50]:
        meter = Meter.parse(tune.meter)
        pos = 0
        for tok in tune.tokens:
            if tok == BAR:
                assert pos == meter.ticks, tune.id
                pos = 0
            else:
                pos += parse_token(tok).ticks
        assert tune.tokens[-1] == BAR


def test_known_tunes(oneills):
    tunes, _ = oneills
    valley = tunes["oneills1850/0001-0050/1"]  # The Enchanted Valley, K:Gm, "Very slow"
    assert valley.title == "The Enchanted Valley" and valley.mode == "min" and valley.tonic == "G"
    assert valley.valence < 0 and valley.arousal < 0 and valley.quadrant == 3
    fare = tunes["oneills1850/0001-0050/2"]  # Fare You Well, K:D, "Slow"
    assert fare.valence > 0 and fare.arousal < 0 and fare.quadrant == 4
    donnybrook = tunes["oneills1850/0001-0050/5"]  # The Fun at Donnybrook, K:Gm, "Cheerfully"
    assert donnybrook.quadrant == 2
    reels = [t for t in tunes.values() if "reel" in t.rhythm and t.mode == "maj"]
    assert len(reels) > 50
    assert sum(t.quadrant == 1 for t in reels) > 0.8 * len(reels)


def test_labels_are_calibrated_so_every_quadrant_is_there(oneills):
    tunes, _ = oneills
    q = Counter(t.quadrant for t in tunes.values())
    assert set(q) == {1, 2, 3, 4}
    assert min(q.values()) > 0.05 * len(tunes)
    assert all(-1 <= t.valence <= 1 and -1 <= t.arousal <= 1 for t in tunes.values())
    weights = labels.quadrant_weights(list(tunes.values()))
    per_q = Counter()
    for t, w in zip(tunes.values(), weights):
        per_q[t.quadrant] += w
    assert max(per_q.values()) - min(per_q.values()) < 1e-9


def test_final_note_names_the_mode_of_a_minor_tune_under_a_major_signature():
    # "K:G" as the Essen collection writes it, but the tune lives in E minor and ends on E
    abc = "X:1\nT:t\nM:4/4\nL:1/8\nK:G\nE2G2B2e2|d2B2G2E2|F2A2c2B2|G2F2E4|E2B,2E2G2|B4A2G2|F2D2F2A2|G2F2E4|]\n"
    from music21 import abcFormat

    handler = abcFormat.ABCHandler()
    handler.process(abc)
    tune = corpus._tune("test", corpus.Path("t.abc"), 1, handler)
    assert (tune.mode, tune.tonic) == ("min", "E")
    assert tune.tokens[:4] == ["C2", "E2", "G2", "c2"]  # moved to C minor: E G B e -> C Eb G c


def test_split_is_deterministic_by_tune():
    assert corpus._split("a/b/1", 5) == corpus._split("a/b/1", 5)
    splits = Counter(corpus._split(f"x/{i}", 5) for i in range(4000))
    assert 120 < splits["valid"] < 280
