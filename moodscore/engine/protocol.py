"""The engine's one input protocol, carried by OSC over UDP and by WebSocket JSON.

Pure: no sockets. Transport adapters hand raw input to :func:`parse_json` or :func:`parse_osc`,
get back a frozen, validated message model (or a :class:`ProtocolError` whose text is one line
saying what was wrong and what is allowed), count rejects in :class:`RejectStats`, and answer
WebSocket clients with :func:`ack` / :func:`error_reply`. Subscribers get beat, bar and phrase
events as compact JSON from :func:`event_json`. This is the edge: inside, values are trusted.

Public API: :func:`parse_json`, :func:`parse_osc`, :func:`ack`, :func:`error_reply`,
:func:`event_json`, :func:`json_schema`, :func:`osc_of`, :class:`RejectStats`, :class:`ProtocolError`,
``Message`` (the union of :class:`VAMessage`, :class:`ValenceMessage`, :class:`ArousalMessage`,
:class:`StingerMessage`, :class:`TransitionMessage`, :class:`TempoMessage`, :class:`PlayMessage`,
:class:`StopMessage`, :class:`SubscribeMessage`, :class:`IntensityMessage`, :class:`StyleMessage`,
:class:`ThemeMessage`, :class:`SessionMessage`, :class:`StatsMessage`),
:class:`BeatEvent`, :class:`BarEvent`, :class:`PhraseEvent`, :class:`NoteEvent`, :class:`MidiOutEvent`,
:class:`SessionReply`, :class:`StatsReply`, ``MESSAGE_TYPES``, ``OSC_ADDRESSES``,
``MAX_JSON_BYTES``, ``REJECT_KINDS``, ``AUDIO_HEADER``, ``AUDIO_STEMS``, ``STEM_CHANNELS``,
:func:`pack_audio`, :func:`unpack_audio`, :func:`audio_flags`.

Every incoming message, as JSON and as OSC (``subscribe`` is WebSocket only)::

    {"type": "va", "valence": 0.5, "arousal": -0.25, "glide": 2}   /mood/va 0.5 -0.25 2.0
    {"type": "valence", "value": 0.5}                             /mood/valence 0.5
    {"type": "arousal", "value": -0.25, "glide": 0}               /mood/arousal -0.25
    {"type": "stinger", "name": "victory"}                        /mood/stinger "victory"
    {"type": "transition", "mode": "phrase"}                      /mood/transition "phrase"
    {"type": "tempo", "bpm": 96}                                  /mood/tempo 96.0
    {"type": "play"}                                              /mood/play
    {"type": "stop"}                                              /mood/stop
    {"type": "stop", "at": "phrase"}                              /mood/stop "phrase"
    {"type": "subscribe", "events": ["bar", "phrase"]}            (none)
    {"type": "intensity", "value": 0.7, "glide": 2}               /mood/intensity 0.7 2.0
    {"type": "style", "name": "orchestral"}                       /mood/style "orchestral"
    {"type": "theme", "abc": "M:4/4\nL:1/8\nK:G\nGABc d2B2|"}      /mood/theme "..."

``intensity`` (0 to 1; until sent it follows the arousal) brings parts in and out at the next
bar lines; ``style`` names a built-in style (``moodscore styles``) or the one the engine started
with, and is heard from the next bar.

``theme`` (ABC, checked whole here) opens the next phrase and returns in later ones, in whatever
mode the mood asks for; ``stop`` with ``at`` ``bar`` or ``phrase`` closes on an authentic
cadence and a final chord at that boundary, then stops and silences; plain ``stop`` (or
``at`` ``now``) stops at once.

``moodscore host`` (many sessions in one process, WebSocket only) adds two more: a connection
opens its session first, every field optional, ``id`` to resume one, and may ask for figures::

    {"type": "session", "seed": 7, "model": "abc", "style": "folk", "transition": "bar"}
    {"type": "stats"}

answered with ``{"type": "session", "id": ..., ...}`` (:class:`SessionReply`) and
``{"type": "stats", "phrases": ..., "misses": ..., ...}`` (:class:`StatsReply`).

Events for subscribers: beat, bar, phrase (all three by default) and, from ``moodscore demo``,
midi: ``{"type": "midi", "time": 12.3, "data": [[144, 60, 93]]}``, each MIDI message as it is sent;
from ``moodscore serve --ws-audio``, audio: the rendered music as binary frames
(``AUDIO_HEADER``, :func:`pack_audio`, :func:`unpack_audio`), each stamped with its music time;
from ``--ws-audio-stems``, stems: the same blocks with a stereo pair per part (flags
``AUDIO_STEMS``, parts in the order of ``STEM_CHANNELS``; :func:`audio_flags`).

``glide`` is seconds to reach the new mood (null or absent: the engine's default); ``bpm`` 0
returns to the mood's own tempo.
"""
from __future__ import annotations

import json
import logging
import reprlib
import struct
import threading
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    TypeAdapter,
    ValidationError,
)

from ..errors import ConfigError, MoodscoreError

log = logging.getLogger(__name__)

MAX_JSON_BYTES = 16384
REJECT_KINDS = ("json", "schema", "size", "osc", "source", "origin")
EventKind = Literal["beat", "bar", "phrase", "midi", "audio", "stems"]
EVENT_KINDS: tuple[EventKind, ...] = ("beat", "bar", "phrase")  # what a bare subscribe gets
# "midi" (each MIDI message as it is sent) only where a sink publishes it (moodscore demo), and
# only when asked for by name: it is a stream most clients do not want.
# "audio" (binary PCM frames, below) only from ``serve --ws-audio``, also only by name;
# "stems" (the same, one stereo pair per part: STEM_CHANNELS) only from ``--ws-audio-stems``.
SUBSCRIBABLE: tuple[EventKind, ...] = EVENT_KINDS + ("midi", "audio", "stems")

# An audio frame, one binary WebSocket message: this header, then int16 little-endian samples,
# interleaved: magic b"MSA1", sample rate, channels, flags (0), index of the first sample frame
# since the stream began, its music time (the engine clock of beat/bar/phrase "time"), frames.
AUDIO_HEADER = struct.Struct("<4sIHHQdI")
AUDIO_MAGIC = b"MSA1"
# A stems frame has flags AUDIO_STEMS and two channels (left, right) per part, in the order of
# the parts' MIDI channels: melody 0, pad 1, bass 2, stingers 3, counter 4, rhythm 5, drums 9.
AUDIO_STEMS = 1
STEM_CHANNELS = (0, 1, 2, 3, 4, 5, 9)


def pack_audio(rate: int, channels: int, index: int, time: float, pcm: bytes, flags: int = 0) -> bytes:
    """One audio frame: header and ``pcm`` (int16 LE, interleaved); flags AUDIO_STEMS for stems."""
    frames = len(pcm) // (2 * channels)
    return AUDIO_HEADER.pack(AUDIO_MAGIC, rate, channels, flags, index, time, frames) + pcm


def audio_flags(frame: bytes) -> int:
    """The flags of an audio frame: 0 the mix, AUDIO_STEMS a stems frame."""
    return int(AUDIO_HEADER.unpack_from(frame)[3])


def unpack_audio(frame: bytes) -> tuple[int, int, int, float, bytes]:
    """``(rate, channels, index, time, pcm)`` of an audio frame; ConfigError if it is not one."""
    if len(frame) < AUDIO_HEADER.size or frame[:4] != AUDIO_MAGIC:
        raise ConfigError("not a moodscore audio frame (no MSA1 header)")
    _, rate, channels, _, index, time, frames = AUDIO_HEADER.unpack_from(frame)
    pcm = frame[AUDIO_HEADER.size:]
    if channels < 1 or len(pcm) != frames * channels * 2:
        raise ConfigError(f"audio frame of {len(pcm)} bytes does not hold {frames} frames of "
                          f"{channels} channels")
    return rate, channels, index, time, pcm


class ProtocolError(MoodscoreError, ValueError):
    """Input that is not a valid message; ``kind`` is one of ``REJECT_KINDS``."""

    def __init__(self, message: str, kind: str = "schema") -> None:
        super().__init__(message)
        self.kind = kind


# --- incoming messages ---------------------------------------------------------------------

def _type_required(schema: dict[str, Any]) -> None:
    # ``type`` has a default for convenient construction in Python, but on the wire it is required
    required = schema.setdefault("required", [])
    if "type" not in required:
        required.insert(0, "type")


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra=_type_required)


def _check_bpm(bpm: float) -> float:
    if 0 < bpm < 20:
        raise ValueError("bpm must be 0 or in [20, 300]")
    return bpm


def _dedupe(kinds: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(kinds))


_AXIS = "a finite number in [-1, 1]"
_GLIDE = "a finite number of seconds in [0, 60], or null for the engine default"
Axis = Annotated[float, Strict(), Field(ge=-1, le=1, allow_inf_nan=False, description=_AXIS)]
Glide = Annotated[float, Strict(), Field(ge=0, le=60, allow_inf_nan=False)]
_glide = Field(default=None, description=_GLIDE)
TRANSITION_MODES = ("immediate", "beat", "bar", "phrase")


class VAMessage(_Message):
    type: Literal["va"] = "va"
    valence: Axis
    arousal: Axis
    glide: Glide | None = _glide


class ValenceMessage(_Message):
    type: Literal["valence"] = "valence"
    value: Axis
    glide: Glide | None = _glide


class ArousalMessage(_Message):
    type: Literal["arousal"] = "arousal"
    value: Axis
    glide: Glide | None = _glide


class StingerMessage(_Message):
    type: Literal["stinger"] = "stinger"
    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$",
                      description="1 to 64 characters from A-Z a-z 0-9 _ -")


class TransitionMessage(_Message):
    type: Literal["transition"] = "transition"
    mode: Literal["immediate", "beat", "bar", "phrase"] = Field(
        description="one of " + ", ".join(TRANSITION_MODES))


class TempoMessage(_Message):
    type: Literal["tempo"] = "tempo"
    bpm: Annotated[float, Strict(), AfterValidator(_check_bpm)] = Field(
        ge=0, le=300, allow_inf_nan=False,
        description="a finite number: 0 (back to the mood's tempo) or in [20, 300]",
        json_schema_extra={"anyOf": [{"const": 0}, {"minimum": 20}]})


class PlayMessage(_Message):
    type: Literal["play"] = "play"


class StopMessage(_Message):
    type: Literal["stop"] = "stop"
    at: Literal["now", "bar", "phrase"] | None = Field(
        default=None, description="now (or absent): at once; bar or phrase: close on a cadence and "
                                  "a final chord at the next bar or phrase boundary, then stop")


class SubscribeMessage(_Message):
    type: Literal["subscribe"] = "subscribe"
    events: Annotated[tuple[EventKind, ...], AfterValidator(_dedupe)] = Field(
        default=EVENT_KINDS, description="a list drawn from " + ", ".join(SUBSCRIBABLE))


# -- arrangement: intensity layers and styles (the music branch)
class IntensityMessage(_Message):
    type: Literal["intensity"] = "intensity"
    value: Annotated[float, Strict(), Field(ge=0, le=1, allow_inf_nan=False,
                                            description="a finite number in [0, 1]")]
    glide: Glide | None = _glide


class StyleMessage(_Message):
    type: Literal["style"] = "style"
    name: str = Field(min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9_-]*$",
                      description="a style name (see moodscore styles): lower-case a-z 0-9 _ -")


# -- themes (the music branch, harmony)
MAX_THEME_ABC = 4000


def _check_theme(abc: str) -> str:
    from .theme import theme_from_abc  # the edge checks the whole theme, once

    try:
        theme_from_abc(abc, what="theme abc")
    except ConfigError as err:
        raise ValueError(str(err)) from None
    return abc


class ThemeMessage(_Message):
    type: Literal["theme"] = "theme"
    abc: Annotated[str, Field(min_length=1, max_length=MAX_THEME_ABC,
                              description="a theme in ABC: M:, L:, K: lines, then notes, rests and "
                                          "bar lines; it opens the next phrase and then returns"),
                   AfterValidator(_check_theme)]


# --- many sessions in one process (moodscore host), WebSocket only --------------------------
_NAME = r"^[A-Za-z0-9_-]+$"


class SessionMessage(_Message):
    """Open this connection's session (moodscore host); with ``id``, resume that session."""

    type: Literal["session"] = "session"
    seed: Annotated[int, Strict()] | None = Field(default=None, ge=0, le=2**31 - 1,
                                                  description="an integer in [0, 2147483647]")
    model: Literal["abc", "lstm"] | None = Field(default=None, description="abc or lstm")
    style: str | None = Field(default=None, min_length=1, max_length=64, pattern=_NAME,
                              description="a style name, 1 to 64 characters from A-Z a-z 0-9 _ -")
    transition: Literal["immediate", "beat", "bar", "phrase"] | None = Field(
        default=None, description="one of " + ", ".join(TRANSITION_MODES))
    id: str | None = Field(default=None, min_length=1, max_length=64, pattern=_NAME,
                           description="a session id to resume, 1 to 64 characters from A-Z a-z 0-9 _ -")


class StatsMessage(_Message):
    """Ask for this session's figures (moodscore host)."""

    type: Literal["stats"] = "stats"


Message = Annotated[VAMessage | ValenceMessage | ArousalMessage | StingerMessage
                    | TransitionMessage | TempoMessage | PlayMessage | StopMessage
                    | SubscribeMessage | IntensityMessage | StyleMessage | ThemeMessage
                    | SessionMessage | StatsMessage, Field(discriminator="type")]
_MESSAGES: dict[str, type[BaseModel]] = {
    m.model_fields["type"].default: m
    for m in (VAMessage, ValenceMessage, ArousalMessage, StingerMessage, TransitionMessage,
              TempoMessage, PlayMessage, StopMessage, SubscribeMessage, IntensityMessage,
              StyleMessage, ThemeMessage, SessionMessage, StatsMessage)}
MESSAGE_TYPES = tuple(_MESSAGES)


# --- outgoing replies and events -----------------------------------------------------------

class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra=_type_required)


class Ack(_Out):
    type: Literal["ack"] = "ack"


class ErrorReply(_Out):
    type: Literal["error"] = "error"
    error: str


class BeatEvent(_Out):
    type: Literal["beat"] = "beat"
    bar: int = Field(description="bars since play, from 0; a new phrase begun mid-bar (immediate or "
                                 "beat transition) takes the next number, so numbers never repeat")
    beat: int = Field(description="beat within the bar, from 0")
    tempo: float = Field(description="beats per minute")
    time: float = Field(description="engine clock seconds")


class BarEvent(BeatEvent):
    type: Literal["bar"] = "bar"  # type: ignore[assignment]
    beat: int = 0


class NoteEvent(_Out):
    pitch: int = Field(ge=0, le=127)
    start: float = Field(description="beats from the phrase start")
    duration: float = Field(description="beats")
    velocity: int = Field(ge=0, le=127)
    channel: int = Field(ge=0, le=15)


class PhraseEvent(_Out):
    type: Literal["phrase"] = "phrase"
    index: int
    bars: int
    start_time: float = Field(description="engine clock seconds")
    tempo: float
    abc: str
    key: str | None = Field(default=None, description="the ABC K: field the phrase is written in "
                                                       "(tonic C, the mode the mood chose), e.g. Cdor")
    notes: list[NoteEvent]
    variation: bool = Field(default=False, description="a stand-in for a phrase that was late")
    mood: tuple[float, float] | None = Field(
        default=None, description="[valence, arousal] the phrase was made for, if known")


class MidiOutEvent(_Out):
    type: Literal["midi"] = "midi"
    time: float = Field(description="engine clock seconds when the first message was sent")
    data: list[Annotated[list[Annotated[int, Field(ge=0, le=255)]], Field(min_length=1, max_length=3)]] = Field(
        description="the MIDI messages sent then, in order, each as its 1 to 3 bytes")


class SessionReply(_Out):
    """The answer to a session message: the session this connection now speaks to."""

    type: Literal["session"] = "session"
    id: str = Field(description="send it in a later session message to resume this session")
    seed: int
    model: str
    transition: str
    style: str | None = None
    resumed: bool = Field(default=False, description="true when an existing session was resumed")


class LeadFigures(_Out):
    p50: float | None = Field(default=None, description="half the phrases were ready this early or more")
    p99: float | None = Field(default=None, description="99% of the phrases were ready this early or more")
    min: float | None = None


class StatsReply(_Out):
    """The answer to a stats message: this session's figures."""

    type: Literal["stats"] = "stats"
    id: str
    phrases: int = Field(description="phrases generated for this session")
    misses: int = Field(description="bars that had no phrase in time and played a variation")
    late: int = Field(description="phrases that arrived after they were due")
    lead_ms: LeadFigures = Field(description="how long before it was due each phrase was ready, ms "
                                             "(negative: late)")
    bars: int = Field(description="bars played")
    messages: int = Field(description="messages received")
    rejected: int = Field(description="messages refused (bad input or over the rate)")


Event = Annotated[BeatEvent | BarEvent | PhraseEvent | MidiOutEvent, Field(discriminator="type")]
Outgoing = Annotated[Ack | ErrorReply | BeatEvent | BarEvent | PhraseEvent | MidiOutEvent
                     | SessionReply | StatsReply, Field(discriminator="type")]
_EVENTS: dict[str, type[BaseModel]] = {"beat": BeatEvent, "bar": BarEvent, "phrase": PhraseEvent,
                                       "midi": MidiOutEvent}


# --- condensing errors into one line -------------------------------------------------------

_repr = reprlib.Repr()
_repr.maxstring, _repr.maxother, _repr.maxlevel = 40, 40, 2
_repr.maxlist = _repr.maxtuple = _repr.maxdict = 4


def _show(value: object) -> str:
    try:
        return _repr.repr(value)
    except (ValueError, RecursionError):  # e.g. an int too long to print
        return f"<{type(value).__name__}>"


def _describe(err: Mapping[str, Any], model: type[BaseModel], data: Mapping[str, Any]) -> str:
    loc = err["loc"]
    name = str(loc[0]) if loc else ""
    kind = model.model_fields["type"].default
    if not loc:  # e.g. a key that is not valid Unicode
        return f"{kind} message: {err['msg']}"
    if err["type"] == "extra_forbidden":
        return (f"unknown field {_show(name)} in {kind} message; allowed: "
                + ", ".join(model.model_fields))
    info = model.model_fields.get(name)
    desc = info.description if info is not None else None
    label = f"{kind} {name}" if name == "value" else name
    if desc is None:  # outgoing models: pydantic's own short text is fine for internal data
        where = ".".join(str(p) for p in loc)
        return f"{kind} {where}: {err['msg']}, got {_show(err.get('input'))}"
    if err["type"] == "missing":
        return f"{kind} message needs {label}: {desc}"
    if kind == "theme" and err["type"] == "value_error":  # the theme parser says what is wrong
        return str(err["ctx"]["error"])
    return f"{label} must be {desc}, got {_show(data.get(name))}"


def _validate(models: Mapping[str, type[BaseModel]], data: object, what: str) -> Any:
    if not isinstance(data, Mapping):
        got = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
            type(data), "a number")
        raise ProtocolError(f"{what} must be a JSON object with a 'type', got {got}", "schema")
    allowed = ", ".join(models)
    if "type" not in data:
        raise ProtocolError(f"{what} has no 'type'; allowed: {allowed}", "schema")
    kind = data["type"]
    model = models.get(kind) if isinstance(kind, str) else None
    if model is None:
        raise ProtocolError(f"unknown type {_show(kind)}; allowed: {allowed}", "schema")
    try:
        return model.model_validate(data)
    except ValidationError as err:
        errors = err.errors(include_url=False)
        text = "; ".join(_describe(e, model, data) for e in errors[:3])
        if len(errors) > 3:
            text += f" (and {len(errors) - 3} more)"
        raise ProtocolError(text, "schema") from None


# --- parsing -------------------------------------------------------------------------------

_JSON_HINT = ('send one JSON object with a "type" field, e.g. '
              '{"type":"va","valence":0.5,"arousal":-0.2}')


def parse_json(text: str | bytes) -> Message:
    """One WebSocket message (a JSON object with a ``type``) as a validated message model."""
    if isinstance(text, str):
        size = len(text.encode("utf-8", "surrogatepass"))
    elif isinstance(text, (bytes, bytearray)):
        size = len(text)
    else:
        raise ProtocolError(f"message must be text or bytes, got {type(text).__name__}", "json")
    if size > MAX_JSON_BYTES:
        raise ProtocolError(f"message is {size} bytes; at most {MAX_JSON_BYTES} allowed", "size")
    try:
        data = json.loads(text)
    except RecursionError:
        raise ProtocolError(f"message is not JSON: nested too deeply; {_JSON_HINT}", "json") from None
    except ValueError as err:  # JSONDecodeError, bad UTF-8, too many digits
        raise ProtocolError(f"message is not JSON: {err}; {_JSON_HINT}", "json") from None
    return _validate(_MESSAGES, data, "message")  # type: ignore[no-any-return]


# address -> (message type, arguments as (OSC type, shown name, field, optional))
_OSC: dict[str, tuple[str, tuple[tuple[str, str, str, bool], ...]]] = {
    "/mood/va": ("va", (("f", "valence", "valence", False), ("f", "arousal", "arousal", False),
                        ("f", "glide_seconds", "glide", True))),
    "/mood/valence": ("valence", (("f", "valence", "value", False),)),
    "/mood/arousal": ("arousal", (("f", "arousal", "value", False),)),
    "/mood/stinger": ("stinger", (("s", "name", "name", False),)),
    "/mood/transition": ("transition", (("s", "mode", "mode", False),)),
    "/mood/tempo": ("tempo", (("f", "bpm", "bpm", False),)),
    "/mood/play": ("play", ()),
    "/mood/stop": ("stop", (("s", "at", "at", True),)),
    "/mood/intensity": ("intensity", (("f", "intensity", "value", False),
                                      ("f", "glide_seconds", "glide", True))),
    "/mood/style": ("style", (("s", "name", "name", False),)),
    "/mood/theme": ("theme", (("s", "abc", "abc", False),)),
}
OSC_ADDRESSES: dict[str, str] = {
    address: " ".join(f"[{t}:{shown}]" if opt else f"{t}:{shown}" for t, shown, _, opt in spec)
    for address, (_, spec) in _OSC.items()}


def _osc_fits(osc_type: str, value: object) -> bool:
    if osc_type == "s":
        return isinstance(value, str)
    # many clients send ints for floats; bool is an int in Python but means OSC T/F
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def parse_osc(address: str, args: Sequence[object]) -> Message:
    """One OSC message (address and decoded arguments) as a validated message model."""
    if address not in _OSC:
        raise ProtocolError(f"unknown OSC address {_show(address)}; known: "
                            + ", ".join(_OSC), "osc")
    kind, spec = _OSC[address]
    args = list(args)
    signature = OSC_ADDRESSES[address] or "no arguments"
    lo = sum(1 for *_, opt in spec if not opt)
    if not lo <= len(args) <= len(spec):
        plural = "" if len(args) == 1 else "s"
        raise ProtocolError(f"{address} takes {signature}, got {len(args)} argument{plural}",
                            "osc")
    data: dict[str, object] = {"type": kind}
    for (osc_type, shown, name, _), value in zip(spec, args):
        if not _osc_fits(osc_type, value):
            want = "a string (s)" if osc_type == "s" else "a number (f or i)"
            raise ProtocolError(f"{address} takes {signature}; {shown} must be {want}, "
                                f"got {_show(value)} ({type(value).__name__})", "osc")
        data[name] = value  # ints become floats in the model
    try:
        return _validate(_MESSAGES, data, "message")  # type: ignore[no-any-return]
    except ProtocolError as err:
        raise ProtocolError(f"{address}: {err}", "osc") from None


def osc_of(message: Message) -> tuple[str, list[float | str]]:
    """The OSC address and arguments that carry ``message`` (not ``subscribe``: WebSocket only)."""
    kind = message.type
    for address, (name, spec) in _OSC.items():
        if name == kind:
            args = [getattr(message, field) for _, _, field, _ in spec]
            while args and args[-1] is None:  # optional trailing arguments left out
                args.pop()
            return address, args
    raise ProtocolError(f"{kind} messages travel over WebSocket only, not OSC", "osc")


# --- replies, events, schema ---------------------------------------------------------------

def ack() -> str:
    """The reply to an accepted WebSocket message."""
    return '{"type":"ack"}'


def error_reply(err: Exception | str) -> str:
    """The reply to a rejected WebSocket message, its reason on one line."""
    text = err if isinstance(err, str) else (str(err) or type(err).__name__)
    return json.dumps({"type": "error", "error": " ".join(text.splitlines())},
                      separators=(",", ":"))


def event_json(event: BaseModel | Mapping[str, Any]) -> str:
    """A beat, bar or phrase event (a model, or the conductor's dict) as compact JSON."""
    model: BaseModel = event if isinstance(event, BaseModel) else _validate(_EVENTS, event, "event")
    return model.model_dump_json()


def json_schema() -> dict[str, Any]:
    """JSON Schemas of every incoming message and outgoing reply/event, and the OSC addresses."""
    return {"incoming": TypeAdapter(Message).json_schema(),
            "outgoing": TypeAdapter(Outgoing).json_schema(),
            "osc": dict(OSC_ADDRESSES)}


# --- counting rejects ----------------------------------------------------------------------

@dataclass
class RejectStats:
    """Rejected input counted per kind, and logged: the first ``log_first`` of each kind, then
    every ``log_every``-th, so a flood of bad input cannot stall the input path with logging."""

    log_first: int = 10
    log_every: int = 1000
    counts: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.log_first < 0 or self.log_every < 1:
            raise ConfigError(f"log_first must be >= 0 and log_every >= 1, "
                              f"got {self.log_first} and {self.log_every}")

    def record(self, kind: str, message: str) -> bool:
        """Count one reject of ``kind`` (one of ``REJECT_KINDS``); True if it was logged."""
        if kind not in REJECT_KINDS:
            raise ConfigError(f"reject kind must be one of {', '.join(REJECT_KINDS)}, got {kind!r}")
        with self._lock:  # python-osc's threaded servers call from several threads
            self.counts[kind] += 1
            n = self.counts[kind]
        if n > self.log_first and n % self.log_every:
            return False
        note = (f" (from now on only every {self.log_every}th {kind} reject is logged)"
                if n == self.log_first else "")
        log.warning("rejected %s input #%d: %s%s", kind, n, message, note)
        return True

    def record_error(self, err: ProtocolError) -> bool:
        """Count and maybe log a :class:`ProtocolError` under its own kind."""
        return self.record(err.kind, str(err))

    def __getitem__(self, kind: str) -> int:
        return self.counts[kind]

    @property
    def total(self) -> int:
        return sum(self.counts.values())
