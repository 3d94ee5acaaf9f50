"""``moodscore serve``: the live engine with its inputs (OSC, WebSocket) and outputs (MIDI, or
the embedded synth into a sound device: ``--audio``, and when no MIDI option is given).

Wiring only: the conductor makes the music, the transports translate, the scheduler thread
sends. Starts playing at once from a neutral mood and runs until SIGINT/SIGTERM (or a stop
message with ``--exit-on-stop``); on the way out every sounding note is ended and the panic is
sent, and ``--record`` is flushed. From the command line the signals are taken by
:mod:`moodscore.signals`, so they end the process within 2 s with the panic even when the event
loop is stuck.

Public API: :class:`ServeOptions`, :func:`serve`, :func:`run`, :func:`start_engine`.
"""
from __future__ import annotations

import asyncio
import logging
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .arranger.styles import Style, load_style
from .audio.sink import AudioSink, audio_stats, default_audio
from .audio.stream import PcmStream
from .engine.conductor import Conductor
from .engine.live import LiveEngine
from .engine.protocol import RejectStats, StopMessage
from .engine.template import Template, load_preset
from .engine.theme import Theme, load_theme
from .errors import ConfigError
from .midi.scheduler import MidiScheduler
from .midi.sinks import FileRecorder, MidiSink, RtMidiSink, TeeSink, available_ports
from .models.runtime import load_generator
from .music import Meter
from .signals import Running, run_guarded
from .transport.osc import parse_networks, start_osc
from .transport.ws import Hub, start_ws

log = logging.getLogger("moodscore.serve")
LOG_EVERY = 1.0  # seconds between logged messages of one kind


@dataclass
class ServeOptions:
    osc_host: str = "127.0.0.1"
    osc_port: int = 9000
    ws_host: str = "127.0.0.1"
    ws_port: int = 8765
    midi_api: str | None = None
    midi_port: str | None = None
    virtual_port: str | None = None
    record: Path | None = None
    model: str = "abc"
    preset: Path | None = None
    seed: int = 0
    osc_reply: str | None = None  # HOST:PORT
    transition: str = "bar"
    exit_on_stop: bool = False
    midi_clock: bool = False
    osc_allow: tuple[str, ...] = ()  # CIDR networks OSC is taken from; empty: any sender
    allow_origins: tuple[str, ...] = ()  # browser origins allowed to open the WebSocket ("*": all)
    style: str = "default"  # a built-in style's name or a .json style file
    theme: Path | None = None  # a MIDI or ABC theme (engine/theme.py)
    audio: bool = False  # play through the embedded synth (also when no MIDI option is given)
    audio_device: str | None = None
    audio_backend: str = "auto"  # auto (PortAudio, else miniaudio), portaudio or miniaudio
    soundfont: Path | None = None
    ws_audio: bool = False  # rendered audio frames to WebSocket subscribers of "audio"
    ws_audio_stems: bool = False  # and one stereo pair per part to subscribers of "stems"


def ports_hint(api: str | None) -> str:
    try:
        ports = available_ports(api)
    except Exception as err:  # no backend at all: say so rather than fail
        ports, why = [], f" ({err})"
    else:
        why = ""
    listing = "\n".join(f"  {p}" for p in ports) or f"  (none{why})"
    return (f"no MIDI output chosen. Outputs that exist now:\n{listing}\n"
            "Pick one with --midi-port NAME (any part of its name), create one with "
            "--virtual-port NAME (not on Windows), or only record with --record out.mid.")


def _sinks(opts: ServeOptions, publish_audio: Callable[[bytes], object] | None = None,
           publish_stems: Callable[[bytes], object] | None = None) -> MidiSink:
    sinks: list[MidiSink] = []
    if (opts.ws_audio or opts.ws_audio_stems) and publish_audio is not None:
        sinks.append(PcmStream(publish_audio, opts.soundfont,
                               publish_stems=publish_stems if opts.ws_audio_stems else None))
    if opts.midi_port or opts.virtual_port:
        sinks.append(RtMidiSink(opts.midi_port, virtual=opts.virtual_port, api=opts.midi_api))
    if opts.audio or opts.audio_device or opts.soundfont:
        sinks.append(AudioSink(opts.audio_device, opts.soundfont, backend=opts.audio_backend))
    if opts.record:
        sinks.append(FileRecorder(opts.record))
    if not sinks and opts.midi_api:
        raise ConfigError(ports_hint(opts.midi_api))
    if not sinks:  # no MIDI option at all: the embedded synth, if there is a sound device
        sinks.append(default_audio(opts.soundfont, opts.audio_backend))
    return sinks[0] if len(sinks) == 1 else TeeSink(*sinks)


def _osc_reply(target: str):
    from pythonosc.udp_client import SimpleUDPClient

    host, _, port = target.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"--osc-reply must be HOST:PORT, got {target!r}")
    client = SimpleUDPClient(host, int(port))

    def send(event: dict) -> None:
        if event["type"] == "beat":
            client.send_message("/mood/beat", [int(event["bar"]), int(event["beat"])])
        elif event["type"] == "bar":
            client.send_message("/mood/bar", [int(event["bar"])])
    return send


def start_engine(sink: MidiSink, template: Template, *, model: str, seed: int,
                 transition: str, style: Style | None = None,
                 theme: Theme | None = None) -> tuple[Conductor, MidiScheduler, LiveEngine]:
    """Load the model, open ``sink`` and start its scheduler thread: the live engine, not yet run."""
    generator = load_generator(model)
    conductor = Conductor(template=template, seed=seed, transition=transition, style=style, theme=theme)
    sink.open()
    scheduler = MidiScheduler(sink, clock=time.perf_counter)
    scheduler.start()
    return conductor, scheduler, LiveEngine(conductor, generator, scheduler, clock=time.perf_counter)


async def serve(opts: ServeOptions, *, ready: asyncio.Event | None = None,
                running: Running | None = None) -> dict:
    """Run until stopped; return the session's statistics. ``running`` (from
    :func:`~moodscore.signals.run_guarded`) is told what was started."""
    running = running or Running()
    template = load_preset(opts.preset) if opts.preset else Template()
    osc_allow = parse_networks(opts.osc_allow)
    style = load_style(opts.style)
    theme = load_theme(opts.theme) if opts.theme else None
    if theme is not None and theme.meter != Meter():
        raise ConfigError(f"theme {opts.theme}: the theme is in {theme.meter}, the music in 4/4")
    hub, loop = Hub(), asyncio.get_running_loop()
    # before the model loads: no output chosen is said at once
    sink = _sinks(opts, lambda frame: loop.call_soon_threadsafe(hub.publish_audio, frame),
                  lambda frame: loop.call_soon_threadsafe(hub.publish_audio, frame, "stems"))
    running.sink = sink
    conductor, scheduler, engine = start_engine(sink, template, model=opts.model, seed=opts.seed,
                                                transition=opts.transition, style=style, theme=theme)
    running.scheduler, running.engine = scheduler, engine
    stats = RejectStats()
    engine.listeners.append(hub.publish)
    if opts.osc_reply:
        engine.listeners.append(_osc_reply(opts.osc_reply))
    if opts.midi_clock:
        scheduler.clock_out(lambda: conductor.clock.tempo_at(conductor.clock.beat_at(time.perf_counter())))

    logged_at: dict[str, float] = {}
    applied = 0

    def submit(msg: object) -> None:
        nonlocal applied
        engine.submit(msg)
        applied += 1
        # what was applied, so a user with no synth sees it arrive: each kind of message at most
        # once a second (a tracker sends ten moods a second; a flood must not stall the loop)
        kind, now = getattr(msg, "type", type(msg).__name__), time.monotonic()
        if now - logged_at.get(kind, -LOG_EVERY) >= LOG_EVERY:
            logged_at[kind] = now
            log.info("applied %s", msg.model_dump_json(exclude_none=True)  # type: ignore[attr-defined]
                     if hasattr(msg, "model_dump_json") else msg)
        if opts.exit_on_stop and isinstance(msg, StopMessage):
            if msg.at in (None, "now"):
                engine.stop()
            else:  # end the process once the music has closed
                engine.stop_when_closed = True

    transport = ws_server = None
    try:
        transport, osc = await start_osc(submit, opts.osc_host, opts.osc_port, stats, allow=osc_allow)
        ws_server = await start_ws(submit, hub, opts.ws_host, opts.ws_port, stats,
                                   allow_origins=opts.allow_origins)
        for sig in () if running.guarded else (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, engine.stop)
            except (NotImplementedError, RuntimeError):  # Windows: KeyboardInterrupt ends run()
                pass
        log.info("playing; OSC on %s:%d, WebSocket on ws://%s:%d", opts.osc_host, opts.osc_port,
                 opts.ws_host, opts.ws_port)
        if ready is not None:
            ready.set()
        await engine.run()
    finally:
        if transport is not None:
            transport.close()
        if ws_server is not None:
            hub.abort_stalled()
            ws_server.close()
        scheduler.stop(panic=True)
        sink.close()
    return {"applied": applied, "rejected": dict(stats.counts), "misses": conductor.misses,
            "phrases": engine.generated, "lateness_ms": scheduler.lateness_stats(),
            "dropped_events": hub.dropped, **engine.stats(), **audio_stats(sink),
            **({"audio_frames_dropped": hub.audio_dropped} if opts.ws_audio or opts.ws_audio_stems else {})}


def run(opts: ServeOptions) -> int:
    # The scheduler thread must get the interpreter quickly while the loop and the generation
    # worker run Python: a 1 ms switch interval keeps send lateness near a millisecond.
    sys.setswitchinterval(0.001)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", stream=sys.stderr)
    summary = run_guarded(lambda running: serve(opts, running=running))
    log.info("stopped: %s", summary)
    return 0
