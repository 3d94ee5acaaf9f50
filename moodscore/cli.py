"""The ``moodscore`` command: data, train, export, generate, bench.

Arguments are validated here, at the edge: a bad value prints one line naming what is
allowed and exits with status 2, without a traceback and without leaving a partial file.

Public API: :func:`main`.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path
from typing import Callable, NoReturn, Sequence

from .errors import MoodscoreError

EXIT_USAGE = 2


class CliError(MoodscoreError):
    """A command-line value outside what is allowed."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, status 2, like every other bad input
        raise CliError(f"{self.prog}: {message}")


def _number_in(name: str, low: float, high: float, *, above_low: bool = False) -> Callable[[str], float]:
    """A finite number in [low, high] (with ``above_low``: (low, high])."""
    span = f"{'(' if above_low else '['}{low:g}, {high:g}]"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a number in {span}, got {text!r}") from None
        if not math.isfinite(value) or not (low < value if above_low else low <= value) or value > high:
            raise argparse.ArgumentTypeError(f"{name} must be in {span}, got {text}")
        return value
    return parse


def _unit(name: str) -> Callable[[str], float]:
    return _number_in(name, -1.0, 1.0)


def _level(name: str) -> Callable[[str], float]:
    return _number_in(name, 0.0, 1.0)


_STYLE_HELP = "orchestration: a built-in style (moodscore styles) or a .json style file"


def _share(name: str) -> Callable[[str], float]:
    return _number_in(name, 0.0, 1.0, above_low=True)


def _at_least(name: str, low: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be an integer >= {low}, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"{name} must be an integer >= {low}, got {value}")
        return value
    return parse


def _positive(name: str) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a number > 0, got {text!r}") from None
        if not math.isfinite(value) or value <= 0:
            raise argparse.ArgumentTypeError(f"{name} must be a finite number > 0, got {text}")
        return value
    return parse


def _origin(text: str) -> str:
    from .transport.ws import normalize_origin

    try:
        return normalize_origin(text)
    except MoodscoreError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _network(text: str) -> str:
    from .transport.osc import parse_networks

    try:
        return str(parse_networks([text])[0])
    except MoodscoreError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _writable(path: str) -> Path:
    p = Path(path)
    parent = p.parent if str(p.parent) else Path(".")
    if p.is_dir():
        raise argparse.ArgumentTypeError(f"{path} is a directory; give a file name")
    if not parent.is_dir():
        raise argparse.ArgumentTypeError(f"cannot write {path}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise argparse.ArgumentTypeError(f"cannot write {path}: folder {parent} is not writable")
    return p


def _meter(text: str):
    from .music import Meter

    try:
        return Meter.parse(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="moodscore", description="Emotion-conditioned music: valence/arousal in, MIDI out.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    d = sub.add_parser("data", help="build the emotion-labelled ABC corpus from music21")
    d.add_argument("action", choices=["build", "summary"])
    d.add_argument("--out", type=Path, default=Path("data"), help="corpus folder (default: data)")
    d.add_argument("--valid-percent", type=_at_least("--valid-percent", 1), default=5)
    d.add_argument("--limit", type=_at_least("--limit", 1), default=None, help="stop after N tunes")

    t = sub.add_parser("train", help="train a model in torch (needs the train extra)")
    t.add_argument("model", choices=["abc", "lstm"])
    t.add_argument("--data", type=Path, default=Path("data"))
    t.add_argument("--out", type=Path, default=Path("runs"))
    t.add_argument("--minutes", type=float, default=60.0, help="wall-clock budget")
    t.add_argument("--steps", type=_at_least("--steps", 1), default=100_000)
    t.add_argument("--batch-size", type=_at_least("--batch-size", 1), default=32)
    t.add_argument("--lr", type=float, default=None)
    t.add_argument("--seed", type=_at_least("--seed", 0), default=1234)
    t.add_argument("--threads", type=_at_least("--threads", 1), default=2)

    e = sub.add_parser("export", help="export checkpoints to ONNX with model cards")
    e.add_argument("--runs", type=Path, default=Path("runs"))
    e.add_argument("--out", type=Path, default=None, help="default: the package's weights folder")
    e.add_argument("--data", type=Path, default=Path("data"), help="corpus, for reference statistics")

    g = sub.add_parser("generate", help="write a piece for one mood as MIDI (and ABC)")
    g.add_argument("--valence", "-v", type=_unit("--valence"), required=True)
    g.add_argument("--arousal", "-a", type=_unit("--arousal"), required=True)
    g.add_argument("--bars", type=_at_least("--bars", 1), default=16)
    g.add_argument("--seed", type=_at_least("--seed", 0), default=0)
    g.add_argument("--model", choices=["abc", "lstm"], default="abc")
    g.add_argument("--meter", type=_meter, default=None, help="time signature (default 4/4)")
    g.add_argument("--preset", type=Path, default=None, help="JSON emotion template")
    g.add_argument("-o", "--output", type=_writable, required=True, help="MIDI file to write")
    g.add_argument("--abc", type=_writable, default=None, help="also write the melody as ABC")
    g.add_argument("--title", default=None)
    g.add_argument("--style", default="default", metavar="NAME|FILE", help=_STYLE_HELP)
    g.add_argument("--intensity", type=_level("--intensity"), default=None,
                   help="0 (melody and two parts) to 1 (every part); default: from the arousal")
    g.add_argument("--theme", type=Path, default=None, metavar="FILE", help=_THEME_HELP)

    b = sub.add_parser("bench", help="benchmarks: phrase generation (ONNX Runtime against torch), or realtime")
    b.add_argument("suite", nargs="?",
                   choices=["models", "realtime", "render", "track", "soak", "audio", "audio-latency", "sessions"],
                   default="models")
    b.add_argument("--audio-device", default=None, metavar="NAME",
                   help="audio: also play the journey live on this device for --minutes")
    b.add_argument("--changes", type=_at_least("--changes", 1), default=None,
                   help="realtime, audio: mood changes per mode (12); audio-latency: mood messages (4)")
    b.add_argument("--no-godot", action="store_true", help="audio-latency: not at the Godot 3 client")
    b.add_argument("--no-unity", action="store_true", help="audio-latency: not at the Unity client (Mono)")
    b.add_argument("--minutes", type=_positive("--minutes"), default=None,
                   help="realtime: length of the deadline session (10); sessions: of each run (1); "
                        "soak: of the soak (10)")
    b.add_argument("--rate", type=_positive("--rate"), default=1000.0, help="soak: messages a second")
    b.add_argument("--model", choices=["abc", "lstm", "all"], default="all")
    b.add_argument("--phrases", type=_at_least("--phrases", 1), default=50)
    b.add_argument("--threads", type=_at_least("--threads", 1), default=1)
    b.add_argument("--sessions", default=None, metavar="N,N,...",
                   help="sessions: counts to try (default: search from 100)")
    b.add_argument("--precision", choices=["fp32", "int8"], default="fp32", help="sessions: the model's graph")
    b.add_argument("--max-batch", type=_at_least("--max-batch", 1), default=64, help="sessions: rows per call")
    b.add_argument("--device", choices=["cpu", "cuda"], default="cpu", help="sessions: where the models run")
    b.add_argument("--graph", choices=["auto", "gqa", "slots", "resident"], default="auto",
                   help="sessions: the ABC's batched graph (auto: gqa on the CPU, resident on CUDA)")
    s = sub.add_parser("serve", help="play live: OSC and WebSocket in, MIDI out")
    s.add_argument("--osc-host", default="127.0.0.1")
    s.add_argument("--osc-port", type=_at_least("--osc-port", 1), default=9000)
    s.add_argument("--ws-host", default="127.0.0.1")
    s.add_argument("--ws-port", type=_at_least("--ws-port", 1), default=8765)
    s.add_argument("--midi-api", choices=["alsa", "jack", "coremidi", "winmm"], default=None)
    s.add_argument("--midi-port", default=None, help="open the output whose name contains NAME")
    s.add_argument("--virtual-port", default=None, help="create an output named NAME (not on Windows)")
    s.add_argument("--record", type=_writable, default=None, help="also write what is played to a MIDI file")
    s.add_argument("--model", choices=["abc", "lstm"], default="abc")
    s.add_argument("--preset", type=Path, default=None)
    s.add_argument("--seed", type=_at_least("--seed", 0), default=0)
    s.add_argument("--transition", choices=["immediate", "beat", "bar", "phrase"], default="bar")
    s.add_argument("--osc-reply", default=None, metavar="HOST:PORT", help="send /mood/beat and /mood/bar there")
    s.add_argument("--midi-clock", action="store_true", help="send MIDI clock (24 ppqn) and start/stop")
    s.add_argument("--exit-on-stop", action="store_true", help="end the process on a stop message")
    s.add_argument("--osc-allow", type=_network, action="append", default=[], metavar="CIDR",
                   help="take OSC only from this address or network (repeatable; default: any sender)")
    s.add_argument("--allow-origin", type=_origin, action="append", default=[], metavar="URL",
                   help="let web pages from this origin open the WebSocket (repeatable; * for all; "
                        "default: no browser page)")
    s.add_argument("--style", default="default", metavar="NAME|FILE", help=_STYLE_HELP)
    s.add_argument("--theme", type=Path, default=None, metavar="FILE", help=_THEME_HELP)

    _audio_options(s)
    s.add_argument("--ws-audio", action="store_true",
                   help="also stream the rendered music to WebSocket subscribers of 'audio' (for a "
                   "game to play through its own audio)")
    s.add_argument("--ws-audio-stems", action="store_true",
                   help="--ws-audio, and each part rendered on its own, one stereo pair per part in "
                   "one frame, to subscribers of 'stems' (for a game to mix the layers)")

    pn = sub.add_parser("panic", help="send the full panic (all notes off, all sound off, reset "
                        "controllers, sustain off on 16 channels) to a MIDI output")
    pn.add_argument("--midi-api", choices=["alsa", "jack", "coremidi", "winmm"], default=None)
    pn.add_argument("--midi-port", required=True, help="the output whose name contains NAME")

    r = sub.add_parser("render", help="temp-score a film cue sheet (JSON, CSV or OpenTimelineIO) to MIDI, and WAV")
    r.add_argument("cues", type=Path, nargs="+", help="cue sheet: .json, .otio/.otioz, or .csv with --fps "
                                                     "(several with --ray)")
    r.add_argument("--ray", action="store_true", help="render the sheets as Ray tasks (pip install "
                                                      "'.[scale]'); -o is then the folder for <sheet>.mid")
    r.add_argument("-o", "--output", type=Path, required=True,
                   help="Standard MIDI File to write (with --ray: the folder)")
    r.add_argument("--wav", type=_writable, default=None, help="also render audio with FluidSynth")
    r.add_argument("--fps", default=None, help="frame rate: 23.976, 24, 25, 29.97 (drop-frame), "
                   "29.97ndf or 30; required for CSV, overrides JSON's frame_rate")
    r.add_argument("--model", choices=["abc", "lstm"], default="abc")
    r.add_argument("--seed", type=_at_least("--seed", 0), default=0)
    r.add_argument("--preset", type=Path, default=None, help="JSON emotion template")
    r.add_argument("--soundfont", default=None, help="SF2 for --wav (default: the GM soundfont installed)")
    r.add_argument("--style", default="default", metavar="NAME|FILE", help=_STYLE_HELP)
    r.add_argument("--theme", type=Path, default=None, metavar="FILE", help=_THEME_HELP)

    from .track.settings import arg_type

    k = sub.add_parser("track", help="camera tracker: a face's expression -> /mood/va over OSC "
                       "(needs the tracker extra)")
    src = k.add_mutually_exclusive_group(required=True)
    src.add_argument("--camera", type=_at_least("--camera", 0), metavar="N", help="webcam device index")
    src.add_argument("--video", type=Path, metavar="PATH", help="video file, played in real time")
    src.add_argument("--image", type=Path, metavar="PATH",
                     help="still image (one frame unless --frames/--seconds)")
    k.add_argument("--host", default="127.0.0.1", help="where the engine listens for OSC")
    k.add_argument("--port", type=_at_least("--port", 1), default=9000,
                   help="the engine's --osc-port (default 9000)")
    k.add_argument("--rate", type=arg_type("rate_hz", "--rate"), default=10.0,
                   help="at most this many messages a second (default 10)")
    k.add_argument("--smoothing", type=arg_type("smoothing_s", "--smoothing"), default=0.5,
                   help="smoothing time constant in seconds, 0 for none (default 0.5)")
    k.add_argument("--hold", type=arg_type("hold_s", "--hold"), default=2.0,
                   help="seconds the last mood is held when the face is lost (default 2)")
    k.add_argument("--decay", type=arg_type("decay_s", "--decay"), default=3.0,
                   help="then the time constant of the fade to neutral, seconds (default 3)")
    k.add_argument("--dry-run", action="store_true", help="print each message as a JSON line, send nothing")
    k.add_argument("--frames", type=_at_least("--frames", 1), default=None, help="stop after N frames")
    k.add_argument("--seconds", type=arg_type("run_s", "--seconds"), default=None,
                   help="stop after S seconds")

    _host_parser(sub)
    _scale_parser(sub)
    sub.add_parser("schema", help="print the JSON Schema of every message and event")

    m = sub.add_parser("demo", help="hear it: a web page with a mood pad, piano roll, notation and "
                       "synth (or --render a mood journey to WAV)")
    m.add_argument("--host", default="127.0.0.1", help="where the page is served (default 127.0.0.1)")
    m.add_argument("--port", type=_at_least("--port", 1), default=8000, help="page and WebSocket port")
    m.add_argument("--no-browser", action="store_true", help="only serve; do not open a browser")
    m.add_argument("--model", choices=["abc", "lstm"], default="abc")
    m.add_argument("--preset", type=Path, default=None)
    m.add_argument("--seed", type=_at_least("--seed", 0), default=0)
    m.add_argument("--transition", choices=["immediate", "beat", "bar", "phrase"], default="bar")
    m.add_argument("--midi-port", default=None, help="also play to the MIDI output whose name contains NAME")
    m.add_argument("--midi-api", choices=["alsa", "jack", "coremidi", "winmm"], default=None)
    m.add_argument("--osc-port", type=_at_least("--osc-port", 1), default=None,
                   help="also take OSC mood messages on this UDP port")
    m.add_argument("--soundfont", type=Path, default=None,
                   help="SoundFont for the page (.sf2/.sf3) or, with --render, for FluidSynth (.sf2)")
    m.add_argument("--render", type=_writable, default=None, metavar="OUT.wav",
                   help="render a mood journey (calm, tense, triumphant, sad) to OUT.wav and OUT.mid")
    m.add_argument("--seconds", type=_at_least("--seconds", 8), default=60, help="length of the --render")
    m.add_argument("--allow-origin", type=_origin, action="append", default=[], metavar="URL",
                   help="let pages from another origin drive the engine too (repeatable; * for all)")
    m.add_argument("--style", default="default", metavar="NAME|FILE", help=_STYLE_HELP)

    sub.add_parser("styles", help="list the orchestration styles, one a line, name first")
    _audio_options(m, soundfont=False)  # --audio plays the page's --soundfont here too

    v = sub.add_parser("evaluate", help="judge generated pieces from their MIDI, as a listener would")
    v.add_argument("--model", choices=["abc", "lstm", "all"], default="all")
    v.add_argument("--pieces", type=_at_least("--pieces", 1), default=10, help="per corner")
    v.add_argument("--precision", choices=["fp32", "int8"], default=None,
                   help="the model's graph (default: its card's, fp32 for the LSTM, int8 for the ABC)")
    v.add_argument("--grid", type=_grid_values, default=None, metavar="V,V,...",
                   help="the requested values of both axes for the rho grid, each in [-1, 1] "
                        "(default -0.8,-0.4,0,0.4,0.8)")
    v.add_argument("--grid-pieces", type=_at_least("--grid-pieces", 1), default=2,
                   help="8-bar pieces per grid point (default 2)")
    return p


def _host_parser(sub) -> None:
    h = sub.add_parser("host", help="many sessions in one process: one per WebSocket connection, "
                                    "MIDI to each as events")
    h.add_argument("--host", default="127.0.0.1")
    h.add_argument("--port", type=_at_least("--port", 1), default=8765)
    h.add_argument("--max-sessions", type=_at_least("--max-sessions", 1), default=1000,
                   help="sessions held at once; beyond it a session is refused with the reason")
    h.add_argument("--max-load", type=_share("--max-load"), default=0.8,
                   help="new sessions are refused, with the reason, while the generation worker, the tick "
                        "or the CPU was busy more than this share of the last 5 s, or would be with the "
                        "sessions that just joined and one more (default 0.8; 1: never)")
    h.add_argument("--rate", type=_at_least("--rate", 1), default=50, help="messages a second per session")
    h.add_argument("--burst", type=_at_least("--burst", 1), default=100, help="messages a session may send at once")
    h.add_argument("--idle-timeout", type=_at_least("--idle-timeout", 1), default=600,
                   help="seconds without a message before a session is closed")
    h.add_argument("--model", choices=["abc", "lstm"], default="abc", help="for sessions that name none")
    h.add_argument("--precision", choices=["fp32", "int8"], default="fp32",
                   help="both models' batched graphs (int8: faster; rows then share quantization ranges)")
    h.add_argument("--max-batch", type=_at_least("--max-batch", 1), default=64, help="rows per model call")
    h.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    h.add_argument("--preset", type=Path, default=None)


def _scale_parser(sub) -> None:
    c = sub.add_parser("scale", help="many machines: moodscore host as a Ray Serve application (scale extra)")
    c.add_argument("--host", default="127.0.0.1")
    c.add_argument("--port", type=_at_least("--port", 1), default=8000)
    c.add_argument("--address", default=None, help="a Ray cluster to join (default: start one here)")
    c.add_argument("--replicas", type=_at_least("--replicas", 1), default=None,
                   help="a fixed number of session hosts (default: autoscale on sessions)")
    c.add_argument("--min-replicas", type=_at_least("--min-replicas", 1), default=1)
    c.add_argument("--max-replicas", type=_at_least("--max-replicas", 1), default=8)
    c.add_argument("--upscale-delay", type=float, default=30.0, metavar="SECONDS",
                   help="sessions above the target this long add a replica (default 30)")
    c.add_argument("--downscale-delay", type=float, default=600.0, metavar="SECONDS",
                   help="sessions below the target this long remove one (default 600)")
    c.add_argument("--sessions-per-replica", type=_at_least("--sessions-per-replica", 1), default=200,
                   help="the autoscaler's target")
    c.add_argument("--max-sessions", type=_at_least("--max-sessions", 1), default=500, help="per replica")
    c.add_argument("--model", choices=["abc", "lstm"], default="abc")


def _host(args: argparse.Namespace) -> None:
    from .host.core import HostLimits
    from .host.server import HostOptions, run

    limits = HostLimits(max_sessions=args.max_sessions, rate=args.rate, burst=args.burst,
                        idle_timeout=args.idle_timeout, max_load=args.max_load)
    run(HostOptions(host=args.host, port=args.port, model=args.model, precision=args.precision,
                    max_batch=args.max_batch, preset=args.preset, device=args.device, limits=limits))


def _data(args: argparse.Namespace) -> None:
    import json

    if args.action == "summary":
        print((args.out / "summary.json").read_text())
        return
    from .models import corpus

    summary = corpus.build(args.out, valid_percent=args.valid_percent, limit=args.limit)
    print(json.dumps({k: summary[k] for k in ("kept", "dropped", "quadrants", "modes", "splits")}, indent=1))
    print(f"corpus written to {args.out / 'corpus.jsonl'}, summary in {args.out / 'summary.json'}")


def _train(args: argparse.Namespace) -> None:
    try:
        from .models.train import TrainSettings, train_abc, train_lstm
    except ImportError as err:
        raise CliError("training needs torch and music21: pip install 'moodscore[train]'") from err
    settings = TrainSettings(steps=args.steps, minutes=args.minutes, batch_size=args.batch_size,
                             seed=args.seed, threads=args.threads)
    if args.lr is not None:
        settings.lr = args.lr
    result = (train_abc if args.model == "abc" else train_lstm)(args.data, args.out, settings)
    print(f"{args.model}: best validation loss {result['best_valid_loss']:.4f} after "
          f"{result['steps']} steps in {result['seconds'] / 60:.1f} min; checkpoint {args.out / args.model}.pt")


def _export(args: argparse.Namespace) -> None:
    try:
        from .export.onnx import export_all
    except ImportError as err:
        raise CliError("export needs torch and onnx: pip install 'moodscore[train]'") from err
    from .models.runtime import weights_dir

    for path in export_all(args.runs, args.out or weights_dir(), args.data):
        print(f"wrote {path} and {path.with_suffix('.json')}")


_THEME_HELP = ("a theme (MIDI .mid or ABC .abc) the music opens with and brings back in every mood; "
               "default: the first phrase's motif")


def _load_theme(path: Path | None, meter):
    """The theme in ``path`` (None: none); it must be in ``meter`` when one is set."""
    if path is None:
        return None
    from .engine.theme import load_theme

    theme = load_theme(path, meter)
    if meter is not None and theme.meter != meter:
        raise CliError(f"--theme {path}: the theme is in {theme.meter}, the music in {meter}; "
                       f"give a theme in {meter}")
    return theme


def _generate(args: argparse.Namespace) -> None:
    from .engine.compose import compose
    from .engine.template import Template, load_preset
    from .export.abcfile import write_abc
    from .export.midi import write_midi
    from .models.runtime import load_generator
    from .music import Meter

    from .arranger import programs_for
    from .arranger.styles import load_style

    template = load_preset(args.preset) if args.preset else Template()
    style = load_style(args.style)
    theme = _load_theme(args.theme, args.meter)
    meter = args.meter or (theme.meter if theme else Meter())
    generator = load_generator(args.model)
    piece = compose(generator, args.valence, args.arousal, bars=args.bars, seed=args.seed,
                    template=template, meter=meter, style=style, intensity=args.intensity, theme=theme)
    title = args.title or f"moodscore v={args.valence:+.2f} a={args.arousal:+.2f} seed={args.seed}"
    ctl = piece.controls
    programs = programs_for(ctl, style)
    write_midi(args.output, piece.phrases, piece.accompaniment, tempo_bpm=ctl.tempo_bpm, meter=meter,
               tonic=piece.tonic, mode=ctl.mode, title=title, programs=programs)
    print(f"wrote {args.output}: {args.bars} bars, {ctl.tempo_bpm:.0f} BPM, {piece.key_field} "
          f"({ctl.mode}), velocity {ctl.velocity}, model {args.model}")
    if args.abc:
        write_abc(args.abc, piece.abc_body, title=title, meter=meter, key_field=piece.key_field,
                  tempo_bpm=ctl.tempo_bpm)
        print(f"wrote {args.abc}")


def _bench(args: argparse.Namespace) -> None:
    if args.suite == "audio-latency":
        from .audio import bench_latency

        bench_latency.run(changes=args.changes or 4, godot=not args.no_godot, unity=not args.no_unity,
                          model="lstm" if args.model == "all" else args.model)
        return
    if args.changes is None:
        args.changes = 12
    if args.suite == "audio":
        from .audio import bench as audio_bench

        audio_bench.run(model="lstm" if args.model == "all" else args.model, changes=args.changes,
                        minutes=(args.minutes or 10.0) if args.audio_device else 0.0, device=args.audio_device)
        return
    if args.suite == "track":
        from .track import bench as track_bench

        track_bench.run()
        return
    if args.suite == "sessions":
        from .host import bench as sessions_bench

        try:
            counts = [int(x) for x in args.sessions.split(",")] if args.sessions else None
        except ValueError:
            raise CliError(f"moodscore bench: --sessions must be counts like 200,400, got {args.sessions!r}") from None
        if args.device == "cuda":
            from .models.runtime import require_cuda

            require_cuda()
        sessions_bench.run(minutes=args.minutes or 1.0, sessions=counts,
                           precision=args.precision, model="abc" if args.model == "all" else args.model,
                           max_batch=args.max_batch, device=args.device, graph=args.graph)
        return
    if args.suite == "render":
        from .film import bench as render_bench

        render_bench.run(("abc", "lstm") if args.model == "all" else (args.model,))
        return
    if args.suite == "soak":
        from . import bench_soak

        bench_soak.run(args.minutes or 10.0, rate=args.rate, model="abc" if args.model == "all" else args.model)
        return
    if args.suite == "realtime":
        from . import bench_realtime

        bench_realtime.run(model="abc" if args.model == "all" else args.model, changes=args.changes,
                           minutes=args.minutes or 10.0)
        return
    from .bench import run_bench

    run_bench(args.model, phrases=args.phrases, threads=args.threads)


def _grid_values(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(x) for x in text.split(","))
    except ValueError:
        values = ()
    if len(values) < 2 or len(set(values)) < 2 or not all(-1 <= x <= 1 for x in values):
        raise argparse.ArgumentTypeError(
            f"--grid must be two or more different numbers in [-1, 1] separated by commas, got {text!r}")
    return values


def _evaluate(args: argparse.Namespace) -> None:
    from .evaluate import evaluate, print_report

    for name in (("abc", "lstm") if args.model == "all" else (args.model,)):
        grid = {"grid": args.grid} if args.grid else {}
        print_report(evaluate(name, pieces=args.pieces, grid_seeds=args.grid_pieces, precision=args.precision, **grid))


def _audio_options(p: argparse.ArgumentParser, soundfont: bool = True) -> None:
    p.add_argument("--audio", action="store_true",
                   help="play through the embedded SoundFont synth to a sound device")
    p.add_argument("--audio-device", default=None, metavar="NAME",
                   help="the sound device: any part of a device or host API name (jack: JACK), "
                   "or 'list' to list them; implies --audio")
    p.add_argument("--audio-backend", choices=["auto", "portaudio", "miniaudio"], default="auto",
                   help="the sound output library for --audio (or no MIDI option): auto (PortAudio, "
                   "else miniaudio, default), portaudio or miniaudio")
    if soundfont:
        p.add_argument("--soundfont", type=Path, default=None,
                       help="SoundFont (.sf2/.sf3) for --audio (default: the packaged GM one)")


def _list_audio_devices(backend: str = "auto") -> None:
    from .audio.backends import pick
    from .audio.devices import output_devices

    name, _ = pick(backend)
    devices = output_devices(name)
    for d in devices:
        print(f"{d.index:3d}  {d.label}  {d.channels} ch, {d.rate:g} Hz{'  [default]' if d.default else ''}")
    if not devices:
        print(f"no sound output devices ({'PortAudio' if name == 'portaudio' else 'miniaudio'} lists none)")


def _serve(args: argparse.Namespace) -> None:
    from .music import Meter
    from .serve import ServeOptions, run

    if args.audio_device == "list":
        _list_audio_devices(args.audio_backend)
        return
    opts = ServeOptions(**{k: getattr(args, k) for k in (
        "osc_host", "osc_port", "ws_host", "ws_port", "midi_api", "midi_port", "virtual_port", "record",
        "model", "preset", "seed", "osc_reply", "transition", "exit_on_stop", "midi_clock", "style",
        "theme", "audio", "audio_device", "audio_backend", "soundfont", "ws_audio", "ws_audio_stems")},
        osc_allow=tuple(args.osc_allow), allow_origins=tuple(args.allow_origin))
    _load_theme(args.theme, Meter())  # a bad theme is said before anything starts
    if opts.virtual_port and sys.platform == "win32":
        raise CliError("moodscore serve: --virtual-port is not possible on Windows (WinMM has no "
                       "virtual ports); use --midi-port with a loopback driver such as loopMIDI")
    run(opts)


def _render(args: argparse.Namespace) -> None:
    from .engine.template import Template, load_preset
    from .film import cuesheet, timecode
    from .film.render import render

    from .arranger.styles import load_style

    if args.ray:
        _render_ray(args)
        return
    if len(args.cues) != 1:
        raise CliError("moodscore render: one cue sheet at a time; several with --ray")
    try:
        args.output = _writable(str(args.output))
    except argparse.ArgumentTypeError as err:
        raise CliError(f"moodscore render: argument -o/--output: {err}") from None
    sheet = cuesheet.load(args.cues[0], args.fps)  # every cue checked before anything is made
    template = load_preset(args.preset) if args.preset else Template()
    style = load_style(args.style)
    from .music import Meter

    theme = _load_theme(args.theme, Meter())  # cues are scored in 4/4
    report = render(sheet, args.output, model=args.model, wav_path=args.wav, soundfont=args.soundfont,
                    template=template, seed=args.seed, style=style, theme=theme)
    rate = sheet.rate
    print(f"{sheet.title}: {len(sheet.cues)} cues at {rate.label} fps, file starts at "
          f"{timecode.format_frames(sheet.start, rate)}")
    for fit in report.score.fits:
        cue = fit.cue
        print(f"  {cue.name:<6} {timecode.format_frames(cue.start, rate)} - "
              f"{timecode.format_frames(cue.end, rate)}  {fit.bars:>3} bars at {fit.bpm:6.2f} BPM "
              f"(mood's own {fit.mood_bpm:.0f})  v={cue.valence:+.2f} a={cue.arousal:+.2f}  {cue.mood}")
    print(f"wrote {report.midi}: {report.seconds:.1f} s of music in {report.render_s:.2f} s "
          f"({report.speed:.0f}x real time)")
    if report.wav is not None:
        print(f"wrote {report.wav}")


def _render_ray(args: argparse.Namespace) -> None:
    if args.wav is not None:
        raise CliError("moodscore render: --wav is not available with --ray; render MIDI, then audio")
    if args.output.exists() and not args.output.is_dir():
        raise CliError(f"moodscore render: with --ray, -o is a folder for <sheet>.mid; {args.output} is a file")
    try:
        from .scale.render import render_sheets
    except ImportError as err:
        raise CliError("moodscore render: --ray needs Ray: pip install 'moodscore[scale]'") from err
    for path in render_sheets(list(args.cues), args.output, fps=args.fps, model=args.model, seed=args.seed,
                              preset=args.preset):
        print(f"wrote {path}")


def _scale(args: argparse.Namespace) -> None:
    if args.min_replicas > args.max_replicas:
        raise CliError(f"moodscore scale: --min-replicas {args.min_replicas} is more than --max-replicas "
                       f"{args.max_replicas}")
    if not (0 <= args.upscale_delay <= 3600 and 0 <= args.downscale_delay <= 86400):
        raise CliError("moodscore scale: --upscale-delay is 0 to 3600 seconds and --downscale-delay 0 to 86400")
    try:
        import ray
        from ray import serve

        from .scale import build
    except ImportError as err:
        raise CliError("moodscore scale: needs Ray Serve: pip install 'moodscore[scale]'") from err
    import time

    ray.init(address=args.address, include_dashboard=False)
    serve.start(http_options={"host": args.host, "port": args.port})
    serve.run(build(replicas=args.replicas, min_replicas=args.min_replicas, max_replicas=args.max_replicas,
                    sessions_per_replica=args.sessions_per_replica, max_sessions=args.max_sessions,
                    model=args.model, autoscaling={"upscale_delay_s": args.upscale_delay,
                                                   "downscale_delay_s": args.downscale_delay}),
              name="moodscore", route_prefix="/")
    print(f"moodscore scale: ws://{args.host}:{args.port}/ (Ray Serve); Ctrl-C stops", flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        serve.shutdown()


def _track(args: argparse.Namespace) -> None:
    from .track import TrackError
    from .track.settings import TrackSettings

    settings = TrackSettings(rate_hz=args.rate, smoothing_s=args.smoothing, hold_s=args.hold,
                             decay_s=args.decay)
    try:
        from .track.sources import open_source
        from .track.tracker import JsonOutput, MoodTracker, OscOutput, run
    except ImportError as err:
        raise TrackError(f"the tracker needs {err.name}: pip install 'moodscore[tracker]'") from err
    frames = args.frames
    if args.image is not None and frames is None and args.seconds is None:
        frames = 1  # a photo: one reading, one message
    source = open_source(args.camera, args.video, args.image)
    try:
        output = JsonOutput() if args.dry_run else OscOutput(args.host, args.port)
        try:
            stats = run(source, MoodTracker(settings), output, frames=frames, seconds=args.seconds)
        finally:
            output.close()
    finally:
        source.close()
    where = "stdout (dry run)" if args.dry_run else f"{args.host}:{args.port}"
    print(f"track {source.name}: {stats.summary()} to {where}", file=sys.stderr)


def _demo(args: argparse.Namespace) -> None:
    if args.render is not None:
        from .demo.journey import render_journey
        from .engine.template import Template, load_preset

        from .arranger.styles import load_style

        style = load_style(args.style)
        done = render_journey(args.render, seconds=args.seconds, model=args.model, seed=args.seed,
                              template=load_preset(args.preset) if args.preset else Template(),
                              soundfont=args.soundfont, style=style)
        stages = ", ".join(f"{s.name} {s.start:.0f}-{s.end:.0f} s" for s in done.stages)
        print(f"wrote {done.midi} ({done.notes} notes, {done.seconds:g} s, {done.tempos} tempos)")
        print(f"wrote {done.wav} (FluidSynth); the journey: {stages}")
        return
    from .demo.live import DemoOptions, run

    if args.audio_device == "list":
        _list_audio_devices(args.audio_backend)
        return
    run(DemoOptions(audio=args.audio or args.audio_device is not None, audio_device=args.audio_device,
                    audio_backend=args.audio_backend,
                    host=args.host, port=args.port, open_browser=not args.no_browser, model=args.model,
                    preset=args.preset, seed=args.seed, transition=args.transition, midi_port=args.midi_port,
                    midi_api=args.midi_api, osc_port=args.osc_port, soundfont=args.soundfont,
                    allow_origins=tuple(args.allow_origin), style=args.style))


def _panic(args: argparse.Namespace) -> None:
    from .midi.scheduler import panic_messages
    from .midi.sinks import RtMidiSink

    sink = RtMidiSink(args.midi_port, api=args.midi_api, client_name="moodscore-panic")
    sink.open()
    try:
        messages = panic_messages()
        for msg in messages:
            sink.send(msg)
    finally:
        sink.close()
    print(f"sent the panic ({len(messages)} messages: CC 123, 120, 121 and 64=0 on 16 channels) "
          f"to {sink.port_name}")


def _schema(args: argparse.Namespace) -> None:
    import json

    from .engine.protocol import json_schema

    print(json.dumps(json_schema(), indent=2))


def _styles(args: argparse.Namespace) -> None:
    from .arranger.styles import builtin

    for name, style in builtin().items():
        print(f"{name}  {style.description}")


COMMANDS = {"data": _data, "train": _train, "export": _export, "generate": _generate, "bench": _bench,
            "evaluate": _evaluate, "serve": _serve, "render": _render, "schema": _schema, "demo": _demo,
            "track": _track, "panic": _panic, "styles": _styles, "host": _host, "scale": _scale}


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        COMMANDS[args.command](args)
    except CliError as err:
        print(str(err), file=sys.stderr)
        return EXIT_USAGE
    except MoodscoreError as err:
        print(f"moodscore: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
