"""The demo page's theme and musical-stop controls, in a real browser (headless Chromium).

A person writes a theme in ABC and sends it: the engine's next phrase opens with it. A theme in
the wrong meter is refused with the engine's reason on the page, and the music goes on. Stop
set to "at the phrase end" lets the music close on a cadence and a final chord at the next
phrase boundary before everything falls silent; "at once" still stops at once.
"""
from __future__ import annotations

import time

from support import WsClient, wait_until
from test_demo_browser import ARGS, Page

THEME = "X:1\nT:t\nM:4/4\nL:1/4\nK:C\nEEFG|GFED|\n"  # E E F G: the next phrase opens with these


def _midi_notes(engine: WsClient, since: float) -> list[tuple[float, int, int]]:
    return [(e["time"], d[0] & 0x0F, d[1]) for _, e in engine.of("midi", since)
            for d in e["data"] if d[0] & 0xF0 == 0x90 and d[2] > 0]


def test_theme_and_musical_stop_from_the_page(chromium, demo_server):
    from playwright.sync_api import sync_playwright

    engine = WsClient(demo_server.port)
    assert engine.request({"type": "subscribe", "events": ["bar", "phrase", "midi"]}) == {"type": "ack"}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(chromium), args=ARGS)
        try:
            page = Page(browser.new_page(viewport={"width": 1280, "height": 860}))
            page.page.goto(demo_server.url)
            wait_until(lambda: page.js("window.moodscoreDemo?.connected && moodscoreDemo.state !== null"), 15,
                       "the page connected", page.why)
            page.page.click("#watch-only")
            example = page.page.locator("#theme-abc").input_value()
            assert "M:4/4" in example and "K:" in example, example  # a starting point in the music's meter

            # A theme in another meter: the engine's reason on the page, the music goes on.
            page.page.locator("#theme-box summary").click()
            page.page.locator("#theme-abc").fill("X:1\nM:3/4\nL:1/4\nK:C\nCDE|")
            page.page.click("#theme-send")
            wait_until(lambda: "4/4" in page.page.locator("#theme-status").inner_text(), 5,
                       "the refusal shown", page.why)
            assert page.js("moodscoreDemo.themeReply.type") == "error"

            # The theme: the next phrase opens with E E F G (in the mood's key).
            page.page.locator("#theme-abc").fill(THEME)
            since = time.perf_counter()
            page.page.click("#theme-send")
            wait_until(lambda: page.page.locator("#theme-status").inner_text() == "the next phrase opens with it",
                       5, "the theme acknowledged", page.why)
            wait_until(lambda: engine.of("phrase", since), 30, "a phrase after the theme")

            def opens_with_theme(event: dict) -> bool:
                first = sorted(event["notes"], key=lambda n: n["start"])[:4]
                steps = [b["pitch"] - a["pitch"] for a, b in zip(first, first[1:])]
                evenly = [round(n["start"], 3) for n in first] == [0, 1, 2, 3]
                return evenly and steps in ([0, 1, 2], [0, 2, 2])  # E E F G: E-F a semitone in major, a tone in minor
            wait_until(lambda: any(opens_with_theme(e) for _, e in engine.of("phrase", since)), 40,
                       "a phrase opening with the theme", page.why)

            # Stop at the phrase end: the music goes on to the boundary, closes, then silence.
            page.page.select_option("#stop-at", "phrase")
            clicked = time.perf_counter()
            page.page.click("#stop")
            time.sleep(0.5)
            assert _midi_notes(engine, clicked), "still playing after a musical stop was asked"
            wait_until(lambda: not page.js("moodscoreDemo.state") or
                       not page.page.evaluate("async () => (await fetch('state.json')).json()")["playing"],
                       40, "stopped after the ending", page.why)
            stopped = time.perf_counter()
            notes = _midi_notes(engine, clicked)
            bars = [e for _, e in engine.of("bar", clicked)]
            assert notes and bars, "the ending was played"
            last_bar = bars[-1]
            final = [n for n in notes if n[0] >= last_bar["time"] - 1e-6]
            assert final and {ch for _, ch, _ in final} - {0}, "a final chord in the accompaniment"
            assert last_bar["bar"] % 4 == 0, f"the final chord falls on a phrase boundary: bar {last_bar['bar']}"
            print(f"\nmusical stop: {stopped - clicked:.1f} s after the click, final chord at bar {last_bar['bar']}")
            time.sleep(1.0)
            assert not _midi_notes(engine, stopped + 0.3), "nothing plays after the ending"
            assert page.js("moodscoreDemo.counts.errors") == 1  # the refused theme, and nothing else
            assert not page.problems, page.problems
        finally:
            browser.close()
    engine.close()
    assert demo_server.close() == 0, demo_server.log()[-2000:]
