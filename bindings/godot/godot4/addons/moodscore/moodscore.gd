# Moodscore client for Godot 4: the autoload singleton `Moodscore` (plugin.gd registers it).
#
# Sends the mood to a running `moodscore serve`, as OSC over UDP or as JSON over its WebSocket,
# and turns the engine's beat, bar and phrase events (a WebSocket subscription) into signals.
# Every value is checked here first: a bad one is refused with push_error, the `error` signal
# and a false return, and is never sent. Mood updates are limited to `max_send_rate` a second;
# the latest one wins. The WebSocket is polled each frame in _process and reopened when lost.
#
# Public API: set_mood, set_valence, set_arousal, stinger, transition, tempo, intensity, style,
# theme, play, stop (at once, or at a bar or phrase), reconnect, is_connected_to_engine; the
# signals below; the exported settings; event_time.
# The Godot 3 version of this file is bindings/godot/godot3/addons/moodscore/moodscore.gd.
extends Node

## A beat sounds: the bar from 0, the beat within the bar from 0, the tempo in BPM.
signal beat(bar_index: int, beat_index: int, bpm: float)
## A bar starts.
signal bar(bar_index: int, bpm: float)
## A phrase is scheduled; mood is Vector2(valence, arousal), or null for a replayed variation.
signal phrase(index: int, mood: Variant, abc: String)
## A call refused here, an error reply from the engine, or a network failure.
signal error(message: String)
## The WebSocket to the engine opened (and subscribed, if `listen`).
signal connected
## The WebSocket closed; it is reopened every `reconnect_delay` seconds.
signal disconnected

const TRANSPORTS: Array[String] = ["osc", "websocket"]
const TRANSITION_MODES: Array[String] = ["immediate", "beat", "bar", "phrase"]
const STOP_AT: Array[String] = ["", "now", "bar", "phrase"]  # "": at once, as "now"
const SETTINGS: Array[String] = ["host", "osc_port", "ws_port", "transport", "listen",
		"max_send_rate", "default_glide", "reconnect_delay"]
const SETTINGS_PREFIX := "moodscore/client/"
const STINGER_CHARS := "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
const STYLE_CHARS := "abcdefghijklmnopqrstuvwxyz0123456789_-"
const MAX_OUTBOX := 64  # messages kept while the WebSocket is not open yet
const MAX_THEME_CHARS := 4000  # the engine's limit on a theme's ABC
const MAX_JSON_BYTES := 16384  # the engine's limit on one WebSocket message
const MAX_OSC_BYTES := 8192  # the engine's limit on one OSC datagram

@export var host := "127.0.0.1"
@export var osc_port := 9000
@export var ws_port := 8765
## How messages are sent.
@export_enum("osc", "websocket") var transport: String = "osc"
## Open the WebSocket for beat/bar/phrase signals, whatever the transport.
@export var listen := true
## Mood messages a second at most (the latest wins); 0: no limit.
@export_range(0.0, 1000.0) var max_send_rate := 30.0
## Seconds to reach a new mood; -1: the engine's default (1 s).
@export var default_glide := -1.0
@export var reconnect_delay := 2.0

# The engine-clock time of the beat or bar being signalled (its `time`), or the start of the
# phrase: MoodscoreAudio.heard_at(Moodscore.event_time) is when it is heard out of the game.
var event_time := 0.0
var _udp := PacketPeerUDP.new()
var _ws: WebSocketPeer = null
var _ws_open := false
var _started := false
var _retry_at_ms := -1
var _unreachable_said := false
var _osc_glide_said := false
var _outbox: Array[String] = []
var _pending := {}  # "va", "valence", "arousal" -> the newest message waiting for the rate limit
var _last_mood_ms := -1000000


func _ready() -> void:
	for key in SETTINGS:  # Project Settings > Moodscore > Client, where the plugin put them
		if ProjectSettings.has_setting(SETTINGS_PREFIX + key):
			set(key, ProjectSettings.get_setting(SETTINGS_PREFIX + key))


func _process(_delta: float) -> void:
	if not _started:
		reconnect()  # on the first frame, so that any _ready() may change the settings first
	_poll_ws()
	_flush_moods()


func _exit_tree() -> void:
	_close()


# --- public API ------------------------------------------------------------------------------

## Apply changed settings (host, ports, transport, listen): reopen the sockets.
func reconnect() -> void:
	_close()
	_started = true
	if not transport in TRANSPORTS:
		_fail("transport must be \"osc\" or \"websocket\", got \"%s\"" % transport)
		return
	var err := _udp.set_dest_address(host, osc_port)
	if err != OK:
		_fail("cannot send OSC to %s:%d (%s)" % [host, osc_port, error_string(err)])
	if _wants_ws():
		_open_ws()


func is_connected_to_engine() -> bool:
	return _ws_open


## Head for this mood; valence and arousal in [-1, 1]. glide: seconds to get there in [0, 60],
## -1 for `default_glide`.
func set_mood(valence: float, arousal: float, glide: float = -1.0) -> bool:
	if not (_axis_ok("valence", valence) and _axis_ok("arousal", arousal) and _glide_ok(glide)):
		return false
	_pending.erase("valence")
	_pending.erase("arousal")
	_pending["va"] = _with_glide({"type": "va", "valence": valence, "arousal": arousal}, glide)
	_flush_moods()
	return true


func set_valence(value: float, glide: float = -1.0) -> bool:
	return _set_axis("valence", value, glide)


func set_arousal(value: float, glide: float = -1.0) -> bool:
	return _set_axis("arousal", value, glide)


## A short motif at the next beat. The engine knows rise, fall, hit, victory, defeat, discovery.
func stinger(stinger_name: String) -> bool:
	if not _stinger_name_ok(stinger_name):
		return _fail("stinger name must be 1 to 64 characters from A-Z a-z 0-9 _ -, got \"%s\""
				% stinger_name)
	return _send({"type": "stinger", "name": stinger_name})


## When new material takes effect: immediate, beat, bar or phrase.
func transition(mode: String) -> bool:
	if not mode in TRANSITION_MODES:
		return _fail("transition mode must be one of %s, got \"%s\""
				% [", ".join(PackedStringArray(TRANSITION_MODES)), mode])
	return _send({"type": "transition", "mode": mode})


## Override the tempo: 20 to 300 BPM; 0 returns to the mood's own tempo.
func tempo(bpm: float) -> bool:
	if not is_finite(bpm) or not (bpm == 0.0 or (bpm >= 20.0 and bpm <= 300.0)):
		return _fail("tempo must be 0 (back to the mood's tempo) or a number of BPM in "
				+ "[20, 300], got %s" % str(bpm))
	return _send({"type": "tempo", "bpm": bpm})


## Bring parts in (1: all six) or out (0: the melody and two) at the next bar lines,
## gliding as set_mood does (-1: `default_glide`).
func intensity(value: float, glide: float = -1.0) -> bool:
	if not (is_finite(value) and value >= 0.0 and value <= 1.0):
		return _fail("intensity must be a finite number in [0, 1], got %s" % str(value))
	if not _glide_ok(glide):
		return false
	return _send(_with_glide({"type": "intensity", "value": value}, glide))


## The orchestration from the next bar: default, orchestral, electronic or chiptune.
func style(style_name: String) -> bool:
	if not _style_name_ok(style_name):
		return _fail("style name must be 1 to 32 characters, a-z first, then a-z 0-9 _ -, got \"%s\""
				% style_name)
	return _send({"type": "style", "name": style_name})


## A theme in ABC (M:, L:, K: lines, then notes, rests and bar lines), at most 4000 characters:
## it opens the next phrase and returns in later ones, in whatever mode the mood asks for. Over
## OSC the whole theme must fit one datagram (8192 bytes), over the WebSocket one message (16384).
func theme(abc: String) -> bool:
	if abc.length() < 1 or abc.length() > MAX_THEME_CHARS:
		return _fail("theme abc must be 1 to 4000 characters of ABC: M:, L:, K: lines, then notes, "
				+ "rests and bar lines, got %d characters" % abc.length())
	var message := {"type": "theme", "abc": abc}
	if transport == "osc":
		var size := _osc_packet("/mood/theme", [abc]).size()
		if size > MAX_OSC_BYTES:
			return _fail("a theme sent over OSC must fit one datagram of at most 8192 bytes, got %d "
					% size + "(send a longer one with the websocket transport)")
	elif JSON.stringify(message).to_utf8_buffer().size() > MAX_JSON_BYTES:
		return _fail("a theme message must be at most 16384 bytes of JSON, got %d"
				% JSON.stringify(message).to_utf8_buffer().size())
	return _send(message)


func play() -> bool:
	return _send({"type": "play"})


## Stop at once ("" or "now"), or with "bar" or "phrase" close on a cadence and a final chord
## at that boundary, then stop.
func stop(at: String = "") -> bool:
	if not at in STOP_AT:
		return _fail("at must be now (or absent): at once; bar or phrase: close on a cadence and a "
				+ "final chord at the next bar or phrase boundary, then stop, got \"%s\"" % at)
	if at == "":
		return _send({"type": "stop"})
	return _send({"type": "stop", "at": at})


# --- checks ----------------------------------------------------------------------------------

func _stinger_name_ok(text: String) -> bool:
	if text.length() < 1 or text.length() > 64:
		return false
	for c in text:
		if not c in STINGER_CHARS:
			return false
	return true


func _style_name_ok(text: String) -> bool:
	if text.length() < 1 or text.length() > 32 or not text[0] in STYLE_CHARS.substr(0, 26):
		return false
	for c in text:
		if not c in STYLE_CHARS:
			return false
	return true


func _axis_ok(axis: String, value: float) -> bool:
	if is_finite(value) and value >= -1.0 and value <= 1.0:
		return true
	return _fail("%s must be a finite number in [-1, 1], got %s" % [axis, str(value)])


func _glide_ok(glide: float) -> bool:
	if glide == -1.0 or (is_finite(glide) and glide >= 0.0 and glide <= 60.0):
		return true
	return _fail("glide must be -1 (default_glide) or a number of seconds in [0, 60], got %s"
			% str(glide))


func _fail(message: String) -> bool:
	push_error("Moodscore: " + message)
	error.emit(message)
	return false


# --- sending ---------------------------------------------------------------------------------

func _set_axis(axis: String, value: float, glide: float) -> bool:
	if not (_axis_ok(axis, value) and _glide_ok(glide)):
		return false
	if _pending.has("va"):  # one axis changes the mood still waiting to go out
		_pending["va"][axis] = value
		_with_glide(_pending["va"], glide)
	else:
		_pending[axis] = _with_glide({"type": axis, "value": value}, glide)
	_flush_moods()
	return true


func _with_glide(message: Dictionary, glide: float) -> Dictionary:
	var seconds := glide if glide != -1.0 else default_glide
	if seconds != -1.0 and _glide_ok(seconds):
		message["glide"] = seconds
	return message


func _flush_moods() -> void:
	if _pending.is_empty():
		return
	var now := Time.get_ticks_msec()
	if max_send_rate > 0.0 and now - _last_mood_ms < 1000.0 / max_send_rate:
		return
	_last_mood_ms = now
	for kind in ["va", "valence", "arousal"]:
		if _pending.has(kind):
			_send(_pending[kind])
	_pending.clear()


func _send(message: Dictionary) -> bool:
	if not _started:
		reconnect()
	if not transport in TRANSPORTS:
		return _fail("transport must be \"osc\" or \"websocket\", got \"%s\"" % transport)
	if transport == "websocket":
		return _send_json(JSON.stringify(message))
	var args: Array = []
	match message["type"]:
		"va":
			args = [message["valence"], message["arousal"]]
			if message.has("glide"):
				args.append(message["glide"])
		"valence", "arousal":
			args = [message["value"]]
			if message.has("glide") and not _osc_glide_said:
				_osc_glide_said = true
				push_warning("Moodscore: OSC /mood/%s carries no glide; the engine's default applies "
						% message["type"] + "(use set_mood, or the websocket transport)")
		"stinger":
			args = [message["name"]]
		"transition":
			args = [message["mode"]]
		"tempo":
			args = [message["bpm"]]
		"intensity":
			args = [message["value"]]
			if message.has("glide"):
				args.append(message["glide"])
		"style":
			args = [message["name"]]
		"theme":
			args = [message["abc"]]
		"stop":
			if message.has("at"):
				args = [message["at"]]
	var err := _udp.put_packet(_osc_packet("/mood/" + message["type"], args))
	if err != OK:
		return _fail("cannot send OSC to %s:%d (%s)" % [host, osc_port, error_string(err)])
	return true


## One OSC 1.0 message: address, type tags, arguments. Strings end with a NUL and are padded
## with NULs to a multiple of 4 bytes; numbers are big-endian 32-bit (f: float, i: int).
func _osc_packet(address: String, args: Array) -> PackedByteArray:
	var buffer := StreamPeerBuffer.new()
	buffer.big_endian = true
	var tags := ","
	for arg in args:
		match typeof(arg):
			TYPE_STRING:
				tags += "s"
			TYPE_INT:
				tags += "i"
			_:
				tags += "f"
	_put_osc_string(buffer, address)
	_put_osc_string(buffer, tags)
	for arg in args:
		match typeof(arg):
			TYPE_STRING:
				_put_osc_string(buffer, arg)
			TYPE_INT:
				buffer.put_32(arg)
			_:
				buffer.put_float(float(arg))
	return buffer.data_array


func _put_osc_string(buffer: StreamPeerBuffer, text: String) -> void:
	var bytes := text.to_utf8_buffer()
	buffer.put_data(bytes)
	for _i in range(4 - bytes.size() % 4):
		buffer.put_u8(0)


func _send_json(text: String) -> bool:
	if _ws_open:
		var err := _ws.send_text(text)
		if err != OK:
			return _fail("cannot send to the engine's WebSocket (%s)" % error_string(err))
		return true
	if _outbox.size() >= MAX_OUTBOX:
		_outbox.pop_front()
		push_warning("Moodscore: the WebSocket is not open; the oldest unsent message was dropped")
	_outbox.append(text)
	if _ws == null and _retry_at_ms < 0:
		_open_ws()
	return true


# --- the WebSocket ---------------------------------------------------------------------------

func _wants_ws() -> bool:
	return listen or transport == "websocket"


func _open_ws() -> void:
	_retry_at_ms = -1
	_ws = WebSocketPeer.new()
	var err := _ws.connect_to_url("ws://%s:%d" % [host, ws_port])
	if err != OK:
		_on_ws_failed()


func _poll_ws() -> void:
	if _ws == null:
		if _retry_at_ms >= 0 and Time.get_ticks_msec() >= _retry_at_ms and _wants_ws():
			_open_ws()
		return
	_ws.poll()
	match _ws.get_ready_state():
		WebSocketPeer.STATE_OPEN:
			if not _ws_open:
				_on_ws_open()
			var ws := _ws  # a signal handler may call reconnect(): then stop reading this one
			while ws != null and ws == _ws and ws.get_available_packet_count() > 0:
				_handle(ws.get_packet().get_string_from_utf8())
		WebSocketPeer.STATE_CLOSED:
			if _ws_open:
				_drop_ws()
				disconnected.emit()
			else:
				_on_ws_failed()


func _on_ws_open() -> void:
	_ws_open = true
	_unreachable_said = false
	if listen:
		_ws.send_text(JSON.stringify({"type": "subscribe", "events": ["beat", "bar", "phrase"]}))
	for text in _outbox:
		_ws.send_text(text)
	_outbox.clear()
	connected.emit()


func _on_ws_failed() -> void:
	_drop_ws()
	if not _unreachable_said:  # once until it works again, not at every retry
		_unreachable_said = true
		_fail("cannot reach the engine at ws://%s:%d (is `moodscore serve` running?); retrying every %s s"
				% [host, ws_port, str(reconnect_delay)])


func _drop_ws() -> void:
	_ws_open = false
	_ws = null
	_retry_at_ms = Time.get_ticks_msec() + int(maxf(reconnect_delay, 0.1) * 1000.0)


func _handle(text: String) -> void:
	var json := JSON.new()
	if json.parse(text) != OK or typeof(json.data) != TYPE_DICTIONARY:
		_fail("unreadable message from the engine: %s" % text.left(200))
		return
	var event: Dictionary = json.data
	if event.has("time") or event.has("start_time"):
		event_time = float(event.get("time", event.get("start_time")))
	match event.get("type"):
		"beat":
			beat.emit(int(event["bar"]), int(event["beat"]), float(event["tempo"]))
		"bar":
			bar.emit(int(event["bar"]), float(event["tempo"]))
		"phrase":
			var mood: Variant = event.get("mood")
			if typeof(mood) == TYPE_ARRAY and mood.size() == 2:
				mood = Vector2(mood[0], mood[1])
			else:
				mood = null
			phrase.emit(int(event["index"]), mood, str(event.get("abc", "")))
		"error":
			_fail("the engine refused a message: %s" % str(event.get("error")))


func _close() -> void:
	var was_open := _ws_open
	var ws := _ws
	_ws = null
	_ws_open = false
	_retry_at_ms = -1
	if ws != null:
		ws.close()
	_udp.close()
	if was_open:
		disconnected.emit()
