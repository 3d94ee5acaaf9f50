"""``moodscore demo``: the live engine playing into a web page, which is the synth.

Wiring, as in :mod:`moodscore.serve`: the conductor makes the music, the scheduler thread sends
it on time, the WebSocket hub fans events out. The MIDI sink here is a
:class:`~moodscore.demo.sink.BrowserSink`, so each page subscribed to ``midi`` plays, through
its own SoundFont synth, exactly what the engine sends and when (``--midi-port`` also sends it
to a MIDI output). The page, its files and the WebSocket share one port: http://127.0.0.1:8000
by default, opened in the browser unless told not to. Runs until Ctrl-C or SIGTERM; on the way
out every sounding note is ended and the panic goes to the page (and the port).

Public API: :class:`DemoOptions`, :func:`demo`, :func:`run`, :func:`page_soundfont`.
"""
from __future__ import annotations

import asyncio
import errno
import logging
import signal
import sys
import time
import webbrowser
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import __version__
from ..arranger.styles import load_style
from ..audio.sink import AudioSink, audio_stats
from ..engine.conductor import TRANSITIONS
from ..engine.protocol import RejectStats
from ..engine.stingers import STINGERS
from ..engine.template import Template, load_preset
from ..errors import ConfigError
from ..midi.sinks import MidiSink, RtMidiSink, TeeSink
from ..serve import start_engine
from ..signals import Running, run_guarded
from ..transport.osc import start_osc
from ..transport.ws import Hub, start_ws
from .assets import SOUNDFONT
from .sink import BrowserSink
from .site import Site

log = logging.getLogger("moodscore.demo")

# When the packaged SoundFont is missing (a checkout whose web/build.sh never ran): Debian's
# small GM set first, the big one last (148 MB takes a while to load into a page).
FALLBACK_SOUNDFONTS = ("/usr/share/sounds/sf2/TimGM6mb.sf2", "/usr/share/sounds/sf2/FluidR3_GM.sf2",
                       "/usr/share/sounds/sf2/default-GM.sf2")


@dataclass
class DemoOptions:
    host: str = "127.0.0.1"
    port: int = 8000
    open_browser: bool = True
    model: str = "abc"
    preset: Path | None = None
    seed: int = 0
    transition: str = "bar"
    midi_port: str | None = None
    midi_api: str | None = None
    osc_port: int | None = None
    soundfont: Path | None = None  # what the page loads; default: the packaged GM subset
    allow_origins: tuple[str, ...] = ()  # other browser origins that may drive the engine
    style: str = "default"  # a built-in style's name or a .json style file
    audio: bool = False  # also play through the embedded synth (the same SoundFont)
    audio_device: str | None = None
    audio_backend: str = "auto"  # auto (PortAudio, else miniaudio), portaudio or miniaudio


def page_soundfont(chosen: Path | None = None) -> Path:
    """The SoundFont (SF2 or SF3) the page's synth loads."""
    if chosen is not None:
        if not chosen.is_file():
            raise ConfigError(f"--soundfont {chosen} is not a file; give an .sf2 or .sf3 SoundFont")
        return chosen
    for candidate in (SOUNDFONT, *map(Path, FALLBACK_SOUNDFONTS)):
        if candidate.is_file():
            return candidate
    raise ConfigError(f"the page's SoundFont {SOUNDFONT} is missing (run web/build.sh), and no GM "
                      "SoundFont is installed: apt-get install fluid-soundfont-gm, or pass --soundfont")


def _check(opts: DemoOptions) -> None:
    if not 1 <= opts.port <= 65535:
        raise ConfigError(f"--port must be 1 to 65535, got {opts.port}")
    if opts.osc_port is not None and not 1 <= opts.osc_port <= 65535:
        raise ConfigError(f"--osc-port must be 1 to 65535, got {opts.osc_port}")


def own_origins(host: str, port: int) -> list[str]:
    """The origins of the demo's own page: loopback names, and ``host`` where it is one."""
    names = ["127.0.0.1", "localhost", "[::1]"]
    if host not in ("", "0.0.0.0", "::") and host not in names:
        names.append(f"[{host}]" if ":" in host else host)
    return [f"http://{name}:{port}" for name in names]


async def demo(opts: DemoOptions, *, ready: asyncio.Event | None = None,
               running: Running | None = None) -> dict[str, Any]:
    """Serve the page and play until stopped; return the session's statistics."""
    running = running or Running()
    _check(opts)
    soundfont = page_soundfont(opts.soundfont)
    template = load_preset(opts.preset) if opts.preset else Template()
    style = load_style(opts.style)
    loop = asyncio.get_running_loop()
    hub = Hub()
    browser = BrowserSink(hub.publish, loop)
    others: list[MidiSink] = [RtMidiSink(opts.midi_port, api=opts.midi_api)] if opts.midi_port else []
    if opts.audio:
        others.append(AudioSink(opts.audio_device, soundfont, backend=opts.audio_backend))
    sink: MidiSink = TeeSink(browser, *others) if others else browser
    running.sink = sink
    conductor, scheduler, engine = start_engine(sink, template, model=opts.model, seed=opts.seed,
                                                transition=opts.transition, style=style)
    running.scheduler, running.engine = scheduler, engine
    engine.listeners.append(hub.publish)
    stats = RejectStats()

    def state() -> dict[str, Any]:
        now = time.perf_counter()
        tempo = conductor.clock.tempo_at(conductor.clock.beat_at(now)) if conductor.playing else None
        return {"version": __version__, "time": round(now, 6), "playing": conductor.playing,
                "transition": conductor.transition, "transitions": list(TRANSITIONS),
                "stingers": sorted(STINGERS), "meter": f"{conductor.meter.numerator}/{conductor.meter.denominator}",
                "mood": {"target": list(conductor.mood.target), "now": list(conductor.mood.at(now))},
                "tempo": tempo, "programs": {str(ch): p for ch, p in browser.programs().items()},
                "soundfont": {"url": "/soundfont", "name": soundfont.name, "bytes": soundfont.stat().st_size},
                "model": opts.model, "style": conductor.style.name, "styles": list(conductor.styles),
                "intensity": round(conductor.intensity_at(now), 3)}

    site = Site(state, soundfont)
    url = f"http://{'127.0.0.1' if opts.host in ('0.0.0.0', '') else opts.host}:{opts.port}/"
    osc_transport = ws_server = None
    try:
        try:
            ws_server = await start_ws(engine.submit, hub, opts.host, opts.port, stats, process_request=site,
                                       allow_origins=(*own_origins(opts.host, opts.port), *opts.allow_origins))
            if opts.osc_port is not None:
                osc_transport, _ = await start_osc(engine.submit, opts.host, opts.osc_port, stats)
        except OSError as err:
            which = "--port" if ws_server is None else "--osc-port"
            why = "is in use" if err.errno == errno.EADDRINUSE else f"cannot be opened ({err.strerror or err})"
            raise ConfigError(f"{opts.host}:{opts.port if ws_server is None else opts.osc_port} {why}; "
                              f"pick another with {which}") from err
        for sig in () if running.guarded else (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, engine.stop)
            except (NotImplementedError, RuntimeError):  # Windows: KeyboardInterrupt ends run()
                pass
        print(f"moodscore demo: open {url} (the page plays the music; Ctrl-C stops)", flush=True)
        log.info("playing; page and WebSocket on %s, SoundFont %s (%.1f MB)%s", url, soundfont,
                 soundfont.stat().st_size / 1e6, f", OSC on UDP {opts.osc_port}" if opts.osc_port else "")
        if opts.open_browser:
            loop.run_in_executor(None, webbrowser.open, url)
        if ready is not None:
            ready.set()
        await engine.run()
    finally:
        scheduler.stop(panic=True)
        await asyncio.sleep(0.1)  # let the panic reach the pages before the server closes
        if osc_transport is not None:
            osc_transport.close()
        if ws_server is not None:
            ws_server.close()
            await ws_server.wait_closed()
        sink.close()
    return {"rejected": dict(stats.counts), "misses": conductor.misses, "phrases": engine.generated,
            "midi_messages": browser.published, "midi_events": browser.events,
            "lateness_ms": scheduler.lateness_stats(), "dropped_events": hub.dropped,
            "served": dict(site.served), **audio_stats(sink)}


def run(opts: DemoOptions) -> int:
    # As for serve: the scheduler thread must get the interpreter quickly (1 ms switches).
    sys.setswitchinterval(0.001)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", stream=sys.stderr)
    # Every page request is an HTTP answer instead of a handshake: websockets would log each.
    logging.getLogger("websockets.server").setLevel(logging.WARNING)
    summary = run_guarded(lambda running: demo(opts, running=running))
    log.info("stopped: %s", summary)
    return 0
