"""``moodscore demo`` in a real browser: Debian's Chromium, headless, driven by Playwright.

A person opens the page, starts audio, hears music, drags the pad to a corner and hears it turn,
fires a stinger, stops and starts the music, and taps the pad on a touch screen. Everything is
real: the demo process (engine and web server on one port), Chromium with its WebAudio and the
SoundFont synth in an AudioWorklet, and a WebSocket client of the test's own, subscribed to the
same events, that tells what the engine did. The page's state is read from the debug object it
keeps (``window.moodscoreDemo``). Run with ``pytest -s`` to see the measured figures.
"""
from __future__ import annotations

import json
import time

from support import WsClient, wait_until

from moodscore.engine.template import Template

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--autoplay-policy=no-user-gesture-required"]
Q2 = Template().q2.programs


class Page:
    """A Playwright page with shortcuts to the demo's debug object, collecting its errors."""

    def __init__(self, page) -> None:
        self.page = page
        self.problems: list[str] = []
        page.on("pageerror", lambda err: self.problems.append(f"page error: {err}"))
        page.on("console", lambda msg: msg.type == "error" and self.problems.append(f"console: {msg.text}"))

    def js(self, expression: str):
        return self.page.evaluate(f"() => {expression}")

    def why(self) -> str:
        return f"page problems: {self.problems or 'none'}; debug: " + json.dumps(self.js(
            "({connected: moodscoreDemo.connected, counts: moodscoreDemo.counts, errors: moodscoreDemo.errors, "
            "ready: moodscoreDemo.synth.ready, level: moodscoreDemo.synth.level})"))

    def drag(self, start: tuple[float, float], end: tuple[float, float]) -> None:
        """Drag on the pad between two moods (valence, arousal), as a mouse would."""
        box = self.page.locator("#pad").bounding_box()

        def at(mood: tuple[float, float]) -> tuple[float, float]:
            return box["x"] + (mood[0] + 1) / 2 * box["width"], box["y"] + (1 - mood[1]) / 2 * box["height"]

        self.page.mouse.move(*at(start))
        self.page.mouse.down()
        self.page.mouse.move(*at(end), steps=15)
        self.page.mouse.up()


def moods_since(engine: WsClient, since: float) -> list[tuple[float, float]]:
    return [tuple(e["mood"]) for _, e in engine.of("phrase", since) if e.get("mood")]


def test_the_page_plays_what_the_engine_plays_and_the_pad_turns_it(chromium, demo_server, tmp_path):
    from playwright.sync_api import sync_playwright

    engine = WsClient(demo_server.port)
    assert engine.request({"type": "subscribe", "events": ["beat", "bar", "phrase", "midi"]}) == {"type": "ack"}
    figures: dict[str, float] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(chromium), args=ARGS)
        try:
            page = Page(browser.new_page(viewport={"width": 1280, "height": 860}))
            page.page.goto(demo_server.url)
            wait_until(lambda: page.js("window.moodscoreDemo?.connected && moodscoreDemo.state !== null"), 15,
                       "the page connected to the engine", page.why)
            assert page.page.locator("#overlay").is_visible(), "audio waits for a click"

            # Start audio: the synth loads its SoundFont and plays what arrives.
            page.page.click("#start-audio")
            wait_until(lambda: page.js("moodscoreDemo.synth.ready"), 30, "the synth ready", page.why)
            assert page.page.locator("#overlay").is_hidden()
            wait_until(lambda: page.js("moodscoreDemo.synth.level.frames") >= 3, 20, "audio from the synth", page.why)
            wait_until(lambda: page.js("moodscoreDemo.notation.notes") > 0, 40, "the phrase as notation", page.why)
            assert page.page.locator("#notation svg .abcjs-note").count() == page.js("moodscoreDemo.notation.notes")
            assert page.js("moodscoreDemo.roll.drawn") > 0, "notes in the piano roll"
            timing = page.js("moodscoreDemo.synth.timing")
            first_sound = page.js("moodscoreDemo.synth.level.firstSoundAt")
            figures |= {"load_to_first_sound_ms": first_sound,
                        "click_to_first_sound_ms": first_sound - page.js("moodscoreDemo.startClickedAt"),
                        "soundfont_fetch_ms": timing["fetchMs"], "soundfont_load_ms": timing["loadMs"],
                        "soundfont_bytes": timing["soundfontBytes"]}
            assert timing["soundfontBytes"] == demo_server_state(page)["soundfont"]["bytes"]

            # The page plays exactly the notes the engine sent, as the engine's own subscriber saw them.
            time.sleep(1.0)
            now = page.js("moodscoreDemo.clock.now()")
            window = (now - 3.0, now - 0.5)
            seen_by_page = page.js(f"moodscoreDemo.roll.notes.filter(n => n.on >= {window[0]} && n.on < {window[1]})"
                                   ".map(n => [n.ch, n.pitch, n.vel, n.on])")
            sent = [[d[0] & 0x0F, d[1], d[2], e["time"]] for _, e in engine.of("midi")
                    for d in e["data"] if d[0] & 0xF0 == 0x90 and d[2] > 0 and window[0] <= e["time"] < window[1]]
            # the same notes at the same engine times (compared as numbers: JS and Python round .5 apart)
            assert sent and len(seen_by_page) == len(sent)
            by_time = sorted(seen_by_page, key=lambda n: (n[3], n[:3])), sorted(sent, key=lambda n: (n[3], n[:3]))
            for page_note, sent_note in zip(*by_time):
                assert page_note[:3] == sent_note[:3] and abs(page_note[3] - sent_note[3]) < 1e-6, (page_note, sent_note)

            # Drag to the angry/tense corner: the engine gets it, and the music turns.
            since = time.perf_counter()
            page.drag((0.0, 0.0), (-0.9, 0.9))
            assert page.js("moodscoreDemo.target") == [-0.9, 0.9]
            wait_until(lambda: [m for m in moods_since(engine, since) if m[0] < -0.7 and m[1] > 0.7], 20,
                       "a phrase made for the tense corner", page.why)
            wait_until(lambda: "Q2 angry" in page.page.locator("#current-mood").inner_text(), 20,
                       "the page showing the tense music playing", page.why)
            assert "Q2 angry / tense" in page.page.locator("#target-mood").inner_text()
            wait_until(lambda: page.js("moodscoreDemo.synth.programs.get(0)") == Q2.melody, 20,
                       "the synth switched to the tense melody's program", page.why)
            latency = page.js("moodscoreDemo.latencies.find(l => l.mood[0] < -0.5 && l.mood[1] > 0.5)")
            assert latency and latency["phraseMs"] < 5000, page.js("moodscoreDemo.latencies")
            figures |= {"drag_to_phrase_ms": latency["phraseMs"], "drag_to_new_material_sounding_ms": latency["soundMs"]}
            level_before = page.js("moodscoreDemo.synth.level.frames")
            wait_until(lambda: page.js("moodscoreDemo.synth.level.frames") > level_before + 5, 10,
                       "audio after the change", page.why)

            # A stinger from its button: brass on channel 4 (index 3) in the roll.
            page.page.get_by_role("button", name="victory").click()
            wait_until(lambda: page.js("moodscoreDemo.roll.notes.filter(n => n.ch === 3).length") > 0, 10,
                       "the stinger's notes", page.why)
            page.page.screenshot(path=str(tmp_path / "demo.png"))

            # Stop: every note ends, the synth falls silent. Play: the music comes back.
            page.page.click("#stop")
            wait_until(lambda: page.js("[...moodscoreDemo.roll.sounding.values()].every(a => a.length === 0)"),
                       5, "every note ended after stop", page.why)
            wait_until(lambda: page.js("moodscoreDemo.synth.level.rms") < 1e-4, 8, "silence after stop", page.why)
            before = page.js("moodscoreDemo.counts.midiMessages")
            time.sleep(1.0)
            assert page.js("moodscoreDemo.counts.midiMessages") == before, "nothing plays while stopped"
            page.page.click("#play")
            wait_until(lambda: page.js("moodscoreDemo.synth.level.rms") > 1e-3, 15, "music after play", page.why)

            # The transition mode from its selector.
            page.page.select_option("#transition", "beat")
            wait_until(lambda: demo_server_state(page)["transition"] == "beat", 5, "transition mode beat")

            # Style and intensity from their controls: parts and instruments change at the bar line.
            assert page.page.locator("#style option").all_inner_texts() == demo_server_state(page)["styles"]
            page.page.locator("#intensity").fill("0")
            wait_until(lambda: demo_server_state(page)["intensity"] == 0, 5, "intensity 0", page.why)
            time.sleep(3.0)  # two bars or more at this tempo
            now = page.js("moodscoreDemo.clock.now()")
            sparse = set(page.js(f"moodscoreDemo.roll.notes.filter(n => n.on >= {now - 1.0}).map(n => n.ch)"))
            page.page.select_option("#style", "orchestral")
            page.page.locator("#intensity").fill("1")
            wait_until(lambda: demo_server_state(page)["style"] == "orchestral", 5, "style orchestral", page.why)
            wait_until(lambda: page.js("moodscoreDemo.synth.programs.get(9)") == 48, 10,
                       "the orchestra kit on channel 10", page.why)
            time.sleep(3.0)
            now = page.js("moodscoreDemo.clock.now()")
            full = set(page.js(f"moodscoreDemo.roll.notes.filter(n => n.on >= {now - 2.0}).map(n => n.ch)"))
            assert len(sparse - {3}) <= 3 and full - {3} == {0, 1, 2, 4, 5, 9}, (sparse, full)
            assert page.js("moodscoreDemo.counts.errors") == 0, page.why()
            assert not page.problems, page.problems

            # Touch: a tap on the calm corner, on a touch screen.
            touch = Page(browser.new_context(has_touch=True, viewport={"width": 900, "height": 900}).new_page())
            touch.page.goto(demo_server.url)
            wait_until(lambda: touch.js("window.moodscoreDemo?.connected"), 15, "the touch page connected")
            touch.page.click("#watch-only")
            box = touch.page.locator("#pad").bounding_box()
            since = time.perf_counter()
            touch.page.touchscreen.tap(box["x"] + 0.9 * box["width"], box["y"] + 0.9 * box["height"])
            wait_until(lambda: [m for m in moods_since(engine, since) if m[0] > 0.5 and m[1] < -0.5], 30,
                       "a phrase for the calm corner, tapped", touch.why)
            assert not touch.problems, touch.problems
        finally:
            browser.close()
    engine.close()
    assert demo_server.close() == 0, demo_server.log()[-2000:]
    summary = demo_server.summary()
    print("\nmeasured:", json.dumps({k: round(v, 1) for k, v in figures.items() if isinstance(v, (int, float))}))
    print("demo summary:", summary)
    assert summary["rejected"] == {}
    assert {"/", "/app.js", "/soundfont", "/vendor/spessasynth_processor.min.js"} <= set(summary["served"])
    shot = tmp_path / "demo.png"
    assert shot.stat().st_size > 20_000


def demo_server_state(page: Page) -> dict:
    return page.page.evaluate("async () => (await fetch('state.json')).json()")
