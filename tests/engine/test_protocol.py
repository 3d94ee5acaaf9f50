"""The input protocol: JSON and OSC parse to equal models; bad input gives one readable line."""
from __future__ import annotations

import json
import logging
import math
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from moodscore.engine.protocol import (
    MAX_JSON_BYTES,
    MESSAGE_TYPES,
    OSC_ADDRESSES,
    ArousalMessage,
    BarEvent,
    BeatEvent,
    IntensityMessage,
    NoteEvent,
    PhraseEvent,
    PlayMessage,
    ProtocolError,
    RejectStats,
    StingerMessage,
    StopMessage,
    StyleMessage,
    SubscribeMessage,
    TempoMessage,
    TransitionMessage,
    ValenceMessage,
    VAMessage,
    ack,
    error_reply,
    event_json,
    json_schema,
    osc_of,
    parse_json,
    parse_osc,
)
from moodscore.errors import ConfigError, MoodscoreError

# (JSON text, OSC address, OSC args, expected model); values exact in float32, as OSC sends them
VALID = [
    ('{"type": "va", "valence": 0.5, "arousal": -0.25}', "/mood/va", [0.5, -0.25],
     VAMessage(valence=0.5, arousal=-0.25)),
    ('{"type": "va", "valence": 1, "arousal": -1, "glide": 2.5}', "/mood/va", [1, -1, 2.5],
     VAMessage(valence=1.0, arousal=-1.0, glide=2.5)),
    ('{"type": "va", "valence": 0, "arousal": 0, "glide": 0}', "/mood/va", [0.0, 0.0, 0],
     VAMessage(valence=0.0, arousal=0.0, glide=0.0)),
    ('{"type": "valence", "value": -0.75}', "/mood/valence", [-0.75], ValenceMessage(value=-0.75)),
    ('{"type": "arousal", "value": 0.125, "glide": 60}', None, None,
     ArousalMessage(value=0.125, glide=60.0)),
    ('{"type": "arousal", "value": 1}', "/mood/arousal", [1], ArousalMessage(value=1.0)),
    ('{"type": "stinger", "name": "victory_2-b"}', "/mood/stinger", ["victory_2-b"],
     StingerMessage(name="victory_2-b")),
    ('{"type": "transition", "mode": "phrase"}', "/mood/transition", ["phrase"],
     TransitionMessage(mode="phrase")),
    ('{"type": "transition", "mode": "immediate"}', "/mood/transition", ["immediate"],
     TransitionMessage(mode="immediate")),
    ('{"type": "tempo", "bpm": 96}', "/mood/tempo", [96], TempoMessage(bpm=96.0)),
    ('{"type": "tempo", "bpm": 0}', "/mood/tempo", [0.0], TempoMessage(bpm=0.0)),
    ('{"type": "tempo", "bpm": 300}', "/mood/tempo", [300.0], TempoMessage(bpm=300.0)),
    ('{"type": "play"}', "/mood/play", [], PlayMessage()),
    ('{"type": "stop"}', "/mood/stop", [], StopMessage()),
]


@pytest.mark.parametrize("text, address, args, expected", VALID)
def test_valid_messages_parse_to_equal_models_from_json_and_osc(text, address, args, expected):
    assert parse_json(text) == expected
    assert parse_json(text.encode()) == expected
    if address is not None:
        got = parse_osc(address, args)
        assert got == expected and type(got) is type(expected)


def test_models_carry_their_type_and_are_frozen():
    msg = parse_json('{"type": "va", "valence": 0.5, "arousal": 0.5}')
    assert isinstance(msg, VAMessage) and msg.type == "va" and msg.glide is None
    with pytest.raises(ValidationError, match="frozen"):
        msg.valence = 0.0  # type: ignore[misc]


def test_subscribe_defaults_to_all_events_and_dedupes():
    assert parse_json('{"type": "subscribe"}') == SubscribeMessage(events=("beat", "bar", "phrase"))
    assert parse_json('{"type": "subscribe", "events": ["phrase", "bar", "phrase"]}').events \
        == ("phrase", "bar")
    assert parse_json('{"type": "subscribe", "events": []}').events == ()


def test_every_osc_address_is_documented_and_every_osc_message_type_reachable():
    assert set(OSC_ADDRESSES) == {"/mood/va", "/mood/valence", "/mood/arousal", "/mood/stinger",
                                  "/mood/transition", "/mood/tempo", "/mood/play", "/mood/stop",
                                  "/mood/intensity", "/mood/style", "/mood/theme"}
    assert OSC_ADDRESSES["/mood/va"] == "f:valence f:arousal [f:glide_seconds]"
    assert OSC_ADDRESSES["/mood/play"] == ""


def test_intensity_and_style_messages():
    assert parse_json('{"type":"intensity","value":0.7,"glide":2}') == IntensityMessage(value=0.7, glide=2.0)
    assert parse_osc("/mood/intensity", [1]) == IntensityMessage(value=1.0)
    assert parse_osc("/mood/style", ["orchestral"]) == StyleMessage(name="orchestral")
    assert osc_of(IntensityMessage(value=0.25, glide=1.0)) == ("/mood/intensity", [0.25, 1.0])
    assert OSC_ADDRESSES["/mood/intensity"] == "f:intensity [f:glide_seconds]"
    for bad, fragment in [('{"type":"intensity","value":1.5}', "[0, 1], got 1.5"),
                          ('{"type":"intensity","value":"high"}', "[0, 1]"),
                          ('{"type":"intensity"}', "needs intensity value"),
                          ('{"type":"style","name":"Big Band"}', "lower-case"),
                          ('{"type":"style"}', "needs name")]:
        with pytest.raises(ProtocolError, match=re.escape(fragment)):
            parse_json(bad)


BAD_JSON = [  # (input, reject kind, fragments the one-line message must contain)
    ('{"type": "va", "valence": 1.5, "arousal": 0}', "schema",
     ["valence must be a finite number in [-1, 1], got 1.5"]),
    ('{"type": "va", "valence": 0, "arousal": -1.01}', "schema", ["arousal", "[-1, 1]", "-1.01"]),
    ('{"type": "va", "valence": NaN, "arousal": 0}', "schema", ["valence", "finite", "got nan"]),
    ('{"type": "va", "valence": 0, "arousal": Infinity}', "schema", ["arousal", "finite", "inf"]),
    ('{"type": "va", "valence": 1e999, "arousal": 0}', "schema", ["valence", "finite", "inf"]),
    ('{"type": "va", "valence": 0, "arousal": 0, "glide": -1}', "schema",
     ["glide", "[0, 60]", "got -1"]),
    ('{"type": "va", "valence": 0, "arousal": 0, "glide": 61}', "schema", ["glide", "[0, 60]"]),
    ('{"type": "va", "valence": 0, "arousal": 0, "glide": NaN}', "schema", ["glide", "finite"]),
    ('{"type": "va", "valence": 0}', "schema", ["va message needs arousal", "[-1, 1]"]),
    ('{"type": "va", "valence": "0.5", "arousal": 0}', "schema", ["valence", "[-1, 1]", "'0.5'"]),
    ('{"type": "va", "valence": true, "arousal": 0}', "schema", ["valence", "[-1, 1]", "True"]),
    ('{"type": "va", "valence": 0, "arousal": 0, "speed": 1}', "schema",
     ["unknown field 'speed' in va message", "allowed: type, valence, arousal, glide"]),
    ('{"type": "valence", "value": 2}', "schema", ["valence value", "[-1, 1]", "got 2"]),
    ('{"type": "arousal"}', "schema", ["arousal message needs arousal value", "[-1, 1]"]),
    ('{"type": "stinger", "name": ""}', "schema", ["name", "1 to 64", "A-Z a-z 0-9 _ -", "''"]),
    ('{"type": "stinger", "name": "' + "x" * 65 + '"}', "schema", ["name", "1 to 64"]),
    ('{"type": "stinger", "name": "a b"}', "schema", ["name", "A-Z a-z 0-9 _ -", "'a b'"]),
    ('{"type": "stinger", "name": 7}', "schema", ["name", "1 to 64", "got 7"]),
    ('{"type": "transition", "mode": "soon"}', "schema",
     ["mode must be one of immediate, beat, bar, phrase", "'soon'"]),
    ('{"type": "tempo", "bpm": 10}', "schema", ["bpm", "0", "[20, 300]", "got 10"]),
    ('{"type": "tempo", "bpm": 301}', "schema", ["bpm", "[20, 300]", "301"]),
    ('{"type": "tempo", "bpm": -5}', "schema", ["bpm", "[20, 300]", "-5"]),
    ('{"type": "tempo", "bpm": Infinity}', "schema", ["bpm", "finite", "inf"]),
    ('{"type": "tempo"}', "schema", ["tempo message needs bpm"]),
    ('{"type": "play", "now": true}', "schema", ["unknown field 'now' in play message"]),
    ('{"type": "play", "\\ud800": 1}', "schema", ["play message: ", "unicode"]),
    ('{"type": "subscribe", "events": ["beat", "note"]}', "schema",
     ["events", "beat, bar, phrase", "'note'"]),
    ('{"type": "subscribe", "events": "beat"}', "schema", ["events", "a list", "'beat'"]),
    ('{"type": "foo"}', "schema", ["unknown type 'foo'; allowed: " + ", ".join(MESSAGE_TYPES)]),
    ('{"type": 3}', "schema", ["unknown type 3", "allowed: va, valence"]),
    ('{"type": ["va"]}', "schema", ["unknown type ['va']", "allowed: va"]),
    ('{"valence": 0.5}', "schema", ["no 'type'", "allowed: va, valence, arousal"]),
    ("[1, 2]", "schema", ["JSON object", "got an array"]),
    ('"va"', "schema", ["JSON object", "got a string"]),
    ("42", "schema", ["JSON object", "got a number"]),
    ("null", "schema", ["JSON object", "got null"]),
    ("not json", "json", ["message is not JSON: Expecting value"]),
    ('{"type": "va",', "json", ["message is not JSON"]),
    ("", "json", ["message is not JSON"]),
    (b"\xff\xfe\xfa{", "json", ["message is not JSON"]),
    ("[" * 5000, "json", ["message is not JSON: nested too deeply"]),
]


@pytest.mark.parametrize("text, kind, fragments", BAD_JSON)
def test_bad_json_gives_one_line_naming_what_and_what_is_allowed(text, kind, fragments):
    with pytest.raises(ProtocolError) as info:
        parse_json(text)
    message = str(info.value)
    assert "\n" not in message and len(message) < 400
    assert info.value.kind == kind
    for fragment in fragments:
        assert fragment in message


def test_several_errors_are_joined_on_one_line():
    with pytest.raises(ProtocolError) as info:
        parse_json('{"type": "va", "valence": 5, "arousal": 5, "glide": 99, "x": 1, "y": 2}')
    message = str(info.value)
    assert "\n" not in message
    assert "valence must be" in message and "arousal must be" in message and "glide" in message
    assert "(and 2 more)" in message


def test_protocol_error_is_in_the_one_tree_and_a_value_error():
    with pytest.raises(MoodscoreError):
        parse_json("{}")
    with pytest.raises(ValueError):
        parse_json("{}")


def test_size_limit_is_checked_in_bytes_before_parsing():
    body = '{"type": "play"}'
    exact = body + " " * (MAX_JSON_BYTES - len(body))
    assert parse_json(exact) == PlayMessage()
    with pytest.raises(ProtocolError, match=rf"^message is {MAX_JSON_BYTES + 1} bytes; "
                                            rf"at most {MAX_JSON_BYTES} allowed$") as info:
        parse_json(exact + " ")
    assert info.value.kind == "size"
    wide = '{"type": "play"}' + "é" * (MAX_JSON_BYTES // 2)  # fewer chars than the limit
    assert len(wide) < MAX_JSON_BYTES
    with pytest.raises(ProtocolError, match=rf"message is {len(wide.encode())} bytes") as info:
        parse_json(wide)
    assert info.value.kind == "size"
    # over the limit it is rejected as too big even though it is not JSON at all
    with pytest.raises(ProtocolError, match="bytes; at most"):
        parse_json(b"x" * 20000)


def test_non_text_input_is_rejected():
    with pytest.raises(ProtocolError, match="text or bytes, got int"):
        parse_json(5)  # type: ignore[arg-type]


BAD_OSC = [  # (address, args, fragments)
    ("/mood/va", [0.5], ["/mood/va takes f:valence f:arousal [f:glide_seconds], got 1 argument"]),
    ("/mood/va", [0.5, 0.5, 1.0, 2.0], ["/mood/va takes", "got 4 arguments"]),
    ("/mood/va", [], ["/mood/va takes", "got 0 arguments"]),
    ("/mood/va", [1.5, 0.0], ["/mood/va", "valence must be a finite number in [-1, 1], got 1.5"]),
    ("/mood/va", [math.nan, 0.0], ["/mood/va", "valence", "finite", "nan"]),
    ("/mood/va", [0.0, math.inf], ["/mood/va", "arousal", "finite", "inf"]),
    ("/mood/va", [0.0, 0.0, -0.5], ["/mood/va", "glide", "[0, 60]", "-0.5"]),
    ("/mood/va", ["0.5", 0.0], ["/mood/va takes", "valence must be a number (f or i)",
                                "'0.5' (str)"]),
    ("/mood/va", [True, 0.0], ["valence must be a number", "True (bool)"]),
    ("/mood/va", [None, 0.0], ["valence must be a number", "None (NoneType)"]),
    ("/mood/va", [b"\x00", 0.0], ["valence must be a number", "(bytes)"]),
    ("/mood/valence", [2], ["/mood/valence", "valence value", "[-1, 1]", "got 2"]),
    ("/mood/arousal", [], ["/mood/arousal takes f:arousal, got 0 arguments"]),
    ("/mood/stinger", [3], ["/mood/stinger takes s:name", "name must be a string (s)", "3 (int)"]),
    ("/mood/stinger", ["no way"], ["/mood/stinger", "name", "A-Z a-z 0-9 _ -", "'no way'"]),
    ("/mood/transition", ["later"], ["/mood/transition", "mode must be one of immediate, beat"]),
    ("/mood/tempo", [10], ["/mood/tempo", "bpm", "[20, 300]", "got 10"]),
    ("/mood/tempo", [math.nan], ["/mood/tempo", "bpm", "finite", "nan"]),
    ("/mood/tempo", [10 ** 400], ["/mood/tempo", "bpm", "finite"]),
    ("/mood/tempo", [], ["/mood/tempo takes f:bpm, got 0 arguments"]),
    ("/mood/play", [1], ["/mood/play takes no arguments, got 1 argument"]),
    ("/mood/stop", [1, 2], ["/mood/stop takes [s:at], got 2 arguments"]),
    ("/mood/subscribe", [], ["unknown OSC address '/mood/subscribe'", "known: /mood/va"]),
    ("/mood/VA", [0.0, 0.0], ["unknown OSC address '/mood/VA'",
                              "known: " + ", ".join(OSC_ADDRESSES)]),
    ("", [], ["unknown OSC address ''"]),
]


@pytest.mark.parametrize("address, args, fragments", BAD_OSC)
def test_bad_osc_names_the_address_and_its_signature(address, args, fragments):
    with pytest.raises(ProtocolError) as info:
        parse_osc(address, args)
    message = str(info.value)
    assert "\n" not in message and info.value.kind == "osc"
    for fragment in fragments:
        assert fragment in message


# -- never anything but ProtocolError ------------------------------------------------------

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=12)
_field_names = st.sampled_from(["type", "valence", "arousal", "glide", "value", "name", "mode",
                                "bpm", "events"]) | st.text(max_size=8)
_objects = st.fixed_dictionaries(
    {"type": st.sampled_from(MESSAGE_TYPES) | _json_values},
    optional={"valence": _json_values, "arousal": _json_values, "glide": _json_values,
              "value": _json_values, "name": _json_values | st.from_regex(r"[A-Za-z0-9_-]{0,70}"),
              "mode": _json_values | st.sampled_from(["immediate", "beat", "bar", "phrase"]),
              "bpm": _json_values, "events": st.lists(st.sampled_from(["beat", "bar", "x"]))}
) | st.dictionaries(_field_names, _json_values, max_size=5)


def _parses_or_protocol_error(data: str | bytes) -> None:
    try:
        parse_json(data)
    except ProtocolError as err:
        assert "\n" not in str(err) and err.kind in ("json", "schema", "size")
        json.loads(error_reply(err))  # every error can be sent back to the client


@settings(max_examples=300, deadline=None)
@given(st.text() | st.binary())
def test_parse_json_raises_only_protocol_error_on_any_input(data):
    _parses_or_protocol_error(data)


@settings(max_examples=300, deadline=None)
@given(_objects)
def test_parse_json_raises_only_protocol_error_on_any_json_object(obj):
    text = json.dumps(obj)  # NaN/Infinity literals included, as JavaScript clients cannot send
    _parses_or_protocol_error(text)
    _parses_or_protocol_error(text.encode())


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(sorted(OSC_ADDRESSES)) | st.text(max_size=12),
       st.lists(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
                | st.binary(max_size=4), max_size=4))
def test_parse_osc_raises_only_protocol_error_on_any_arguments(address, args):
    try:
        parse_osc(address, args)
    except ProtocolError as err:
        assert "\n" not in str(err) and err.kind == "osc"


# -- schema, replies, events ---------------------------------------------------------------

def test_schema_names_every_incoming_message_and_outgoing_event():
    schema = json_schema()
    json.dumps(schema)  # plain JSON
    incoming = schema["incoming"]
    assert set(incoming["discriminator"]["mapping"]) == set(MESSAGE_TYPES)
    assert set(schema["outgoing"]["discriminator"]["mapping"]) == {"ack", "error", "beat", "bar", "session", "stats",
                                                                   "phrase", "midi"}
    defs = incoming["$defs"]
    for name in defs:
        assert defs[name]["required"][0] == "type" and defs[name]["additionalProperties"] is False
    va = defs["VAMessage"]["properties"]["valence"]
    assert va["minimum"] == -1 and va["maximum"] == 1
    assert schema["osc"] == OSC_ADDRESSES


def test_ack_and_error_replies_round_trip():
    assert ack() == '{"type":"ack"}' and json.loads(ack()) == {"type": "ack"}
    with pytest.raises(ProtocolError) as info:
        parse_json('{"type": "tempo", "bpm": 5}')
    err = info.value
    reply = error_reply(err)
    assert " " not in reply.split('"error":')[0]  # compact
    assert json.loads(reply) == {"type": "error", "error": str(err)}
    assert json.loads(error_reply("bad\nthing")) == {"type": "error", "error": "bad thing"}
    assert json.loads(error_reply(RuntimeError()))["error"] == "RuntimeError"


def test_event_json_is_compact_and_round_trips():
    beat = BeatEvent(bar=3, beat=2, tempo=120.5, time=7.25)
    text = event_json(beat)
    assert text == '{"type":"beat","bar":3,"beat":2,"tempo":120.5,"time":7.25}'
    assert BeatEvent.model_validate_json(text) == beat
    assert json.loads(event_json(BarEvent(bar=4, tempo=90.0, time=8.0)))["beat"] == 0
    phrase = PhraseEvent(index=1, bars=4, start_time=8.0, tempo=100.0, abc="CDEF|",
                         notes=[NoteEvent(pitch=60, start=0.5, duration=1.0, velocity=90, channel=0)])
    assert PhraseEvent.model_validate_json(event_json(phrase)) == phrase


def test_event_json_accepts_and_checks_the_conductors_dicts():
    bar = {"type": "bar", "bar": 2, "beat": 0, "tempo": 121.75, "time": 4.2}
    assert json.loads(event_json(bar)) == bar
    phrase = {"type": "phrase", "index": 0, "bars": 4, "start_time": 0.2, "tempo": 121.75,
              "abc": "CDEF", "key": "Cdor", "notes": [{"pitch": 48, "start": 0.0, "duration": 1.0,
                                        "velocity": 87, "channel": 0}], "variation": True,
              "mood": [0.5, -0.25]}
    assert json.loads(event_json(phrase)) == phrase
    with pytest.raises(ProtocolError, match="beat"):
        event_json({"type": "beat", "bar": 1, "tempo": 120.0, "time": 0.0})  # no beat
    with pytest.raises(ProtocolError, match="unknown type 'va'; allowed: beat, bar, phrase"):
        event_json({"type": "va"})


def test_real_conductor_callbacks_are_valid_events():
    from moodscore.engine.conductor import Callback, Conductor
    from moodscore.music import Note, Phrase

    c = Conductor(seed=1)
    c.play(0.0)
    kinds = set()
    for i in range(120):
        for r in c.requests():
            c.deliver(r.id, Phrase([Note(60 + k % 5, float(k), 1.0) for k in range(4 * r.bars)],
                                   r.bars, abc="CDEF"))
        for e in c.advance(i * 0.05):
            if isinstance(e, Callback):
                kinds.add(json.loads(event_json(e.event))["type"])
    assert kinds == {"beat", "bar", "phrase"}


# -- counting rejects ----------------------------------------------------------------------

def test_reject_stats_count_every_reject_and_rate_limit_logging(caplog):
    stats = RejectStats(log_first=3, log_every=5)
    caplog.set_level(logging.WARNING, logger="moodscore.engine.protocol")
    logged = [stats.record("json", f"bad {i}") for i in range(1, 13)]
    assert stats["json"] == 12 and stats.total == 12 and stats["osc"] == 0
    assert [i for i, yes in enumerate(logged, 1) if yes] == [1, 2, 3, 5, 10]
    records = [r for r in caplog.records if r.name == "moodscore.engine.protocol"]
    assert len(records) == 5 and all(r.levelno == logging.WARNING for r in records)
    assert "bad 1" in records[0].getMessage() and "bad 10" in records[-1].getMessage()
    assert "every 5th" in records[2].getMessage()  # says that it goes quiet
    assert "#10" in records[-1].getMessage()


def test_reject_stats_count_kinds_separately_and_take_protocol_errors():
    stats = RejectStats(log_first=0, log_every=1000)
    for _ in range(3):
        stats.record("osc", "x")
    with pytest.raises(ProtocolError) as info:
        parse_json(b"x" * (MAX_JSON_BYTES + 1))
    assert stats.record_error(info.value) is False  # log_first=0: first one not logged
    assert dict(stats.counts) == {"osc": 3, "size": 1} and stats.total == 4


def test_reject_stats_refuse_unknown_kinds_and_bad_settings():
    with pytest.raises(ConfigError, match="json, schema, size, osc"):
        RejectStats().record("bogus", "x")
    with pytest.raises(ConfigError, match="log_every"):
        RejectStats(log_every=0)
