# Moodscore client for Godot 3.2+: the autoload singleton `Moodscore` (plugin.gd registers it).
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
# The Godot 4 version of this file is bindings/godot/godot4/addons/moodscore/moodscore.gd.
extends Node

signal beat(bar_index, beat_index, bpm)  # a beat sounds: bar from 0, beat within the bar from 0
signal bar(bar_index, bpm)  # a bar starts
signal phrase(index, mood, abc)  # a phrase is scheduled; mood: Vector2(valence, arousal) or null
signal error(message)  # a call refused here, an engine error reply, or a network failure
signal connected  # the WebSocket to the engine opened (and subscribed, if `listen`)
signal disconnected  # the WebSocket closed; it is reopened every `reconnect_delay` seconds

const TRANSPORTS := ["osc", "websocket"]
const TRANSITION_MODES := ["immediate", "beat", "bar", "phrase"]
const STOP_AT := ["", "now", "bar", "phrase"]  # "": at once, as "now"
const SETTINGS := ["host", "osc_port", "ws_port", "transport", "listen", "max_send_rate",
		"default_glide", "reconnect_delay"]
const SETTINGS_PREFIX := "moodscore/client/"
const STINGER_CHARS := "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
const STYLE_CHARS := "abcdefghijklmnopqrstuvwxyz0123456789_-"
const MAX_OUTBOX := 64  # messages kept while the WebSocket is not open yet
const MAX_THEME_CHARS := 4000  # the engine's limit on a theme's ABC
const MAX_JSON_BYTES := 16384  # the engine's limit on one WebSocket message
const MAX_OSC_BYTES := 8192  # the engine's limit on one OSC datagram

export var host := "127.0.0.1"
export var osc_port := 9000
export var ws_port := 8765
export(String, "osc", "websocket") var transport := "osc"  # how messages are sent
export var listen := true  # open the WebSocket for beat/bar/phrase signals, whatever the transport
export var max_send_rate := 30.0  # mood messages a second at most; 0: no limit
export var default_glide := -1.0  # seconds to reach a new mood; -1: the engine's default (1 s)
export var reconnect_delay := 2.0

# The engine-clock time of the beat or bar being signalled (its `time`), or the start of the
# phrase: MoodscoreAudio.heard_at(Moodscore.event_time) is when it is heard out of the game.
var event_time := 0.0
var _udp := PacketPeerUDP.new()
var _ws: WebSocketClient = null
var _ws_open := false
var _started := false
var _retry_at_ms := -1
var _unreachable_said := false
var _osc_glide_said := false
var _outbox := []
var _pending := {}  # "va", "valence", "arousal" -> the newest message waiting for the rate limit
var _last_mood_ms := -1000000


func _ready() -> void:
	for key in SETTINGS:  # Project Settings > Moodscore > Client, where the plugin put them
		if ProjectSettings.has_setting(SETTINGS_PREFIX + key):
			set(key, ProjectSettings.get_setting(SETTINGS_PREFIX + key))


func _process(_delta: float) -> void:
	if not _started:
		reconnect()  # on the first frame, so that any _ready() may change the settings first
	if _ws != null:
		var ws := _ws  # held while poll() emits: a handler may drop _ws, and freeing it then crashes
		ws.poll()
	elif _retry_at_ms >= 0 and OS.get_ticks_msec() >= _retry_at_ms and _wants_ws():
		_open_ws()
	_flush_moods()


func _exit_tree() -> void:
	_close()


# --- public API ------------------------------------------------------------------------------

# Apply changed settings (host, ports, transport, listen): reopen the sockets.
func reconnect() -> void:
	_close()
	_started = true
	if not transport in TRANSPORTS:
		_fail("transport must be \"osc\" or \"websocket\", got \"%s\"" % transport)
		return
	var err := _udp.set_dest_address(host, osc_port)
	if err != OK:
		_fail("cannot send OSC to %s:%d (error %d)" % [host, osc_port, err])
	if _wants_ws():
		_open_ws()


func is_connected_to_engine() -> bool:
	return _ws_open


# Head for this mood; valence and arousal in [-1, 1]. glide: seconds to get there in [0, 60],
# -1 for `default_glide`.
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


# A short motif at the next beat. The engine knows rise, fall, hit, victory, defeat, discovery.
func stinger(stinger_name: String) -> bool:
	if not _stinger_name_ok(stinger_name):
		return _fail("stinger name must be 1 to 64 characters from A-Z a-z 0-9 _ -, got \"%s\""
				% stinger_name)
	return _send({"type": "stinger", "name": stinger_name})


# When new material takes effect: immediate, beat, bar or phrase.
func transition(mode: String) -> bool:
	if not mode in TRANSITION_MODES:
		return _fail("transition mode must be one of %s, got \"%s\""
				% [PoolStringArray(TRANSITION_MODES).join(", "), mode])
	return _send({"type": "transition", "mode": mode})


# Override the tempo: 20 to 300 BPM; 0 returns to the mood's own tempo.
func tempo(bpm: float) -> bool:
	if not _finite(bpm) or not (bpm == 0.0 or (bpm >= 20.0 and bpm <= 300.0)):
		return _fail("tempo must be 0 (back to the mood's tempo) or a number of BPM in "
				+ "[20, 300], got %s" % str(bpm))
	return _send({"type": "tempo", "bpm": bpm})


# Bring parts in (1: all six) or out (0: the melody and two) at the next bar lines,
# gliding as set_mood does (-1: `default_glide`).
func intensity(value: float, glide: float = -1.0) -> bool:
	if not (_finite(value) and value >= 0.0 and value <= 1.0):
		return _fail("intensity must be a finite number in [0, 1], got %s" % str(value))
	if not _glide_ok(glide):
		return false
	return _send(_with_glide({"type": "intensity", "value": value}, glide))


# The orchestration from the next bar: default, orchestral, electronic or chiptune.
func style(style_name: String) -> bool:
	if not _style_name_ok(style_name):
		return _fail("style name must be 1 to 32 characters, a-z first, then a-z 0-9 _ -, got \"%s\""
				% style_name)
	return _send({"type": "style", "name": style_name})


# A theme in ABC (M:, L:, K: lines, then notes, rests and bar lines), at most 4000 characters:
# it opens the next phrase and returns in later ones, in whatever mode the mood asks for. Over
# OSC the whole theme must fit one datagram (8192 bytes), over the WebSocket one message (16384).
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
	elif JSON.print(message).to_utf8().size() > MAX_JSON_BYTES:
		return _fail("a theme message must be at most 16384 bytes of JSON, got %d"
				% JSON.print(message).to_utf8().size())
	return _send(message)


func play() -> bool:
	return _send({"type": "play"})


# Stop at once ("" or "now"), or with "bar" or "phrase" close on a cadence and a final chord
# at that boundary, then stop.
func stop(at: String = "") -> bool:
	if not at in STOP_AT:
		return _fail("at must be now (or absent): at once; bar or phrase: close on a cadence and a "
				+ "final chord at the next bar or phrase boundary, then stop, got \"%s\"" % at)
	if at == "":
		return _send({"type": "stop"})
	return _send({"type": "stop", "at": at})


# --- checks ----------------------------------------------------------------------------------

func _finite(x: float) -> bool:
	return not (is_nan(x) or is_inf(x))


func _stinger_name_ok(text: String) -> bool:  # RegEx.search logs a spurious error in 3.2.3
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
	if _finite(value) and value >= -1.0 and value <= 1.0:
		return true
	return _fail("%s must be a finite number in [-1, 1], got %s" % [axis, str(value)])


func _glide_ok(glide: float) -> bool:
	if glide == -1.0 or (_finite(glide) and glide >= 0.0 and glide <= 60.0):
		return true
	return _fail("glide must be -1 (default_glide) or a number of seconds in [0, 60], got %s"
			% str(glide))


func _fail(message: String) -> bool:
	push_error("Moodscore: " + message)
	emit_signal("error", message)
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
	if _pending.empty():
		return
	var now := OS.get_ticks_msec()
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
		return _send_json(JSON.print(message))
	var args := []
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
		return _fail("cannot send OSC to %s:%d (error %d)" % [host, osc_port, err])
	return true


# One OSC 1.0 message: address, type tags, arguments. Strings end with a NUL and are padded with
# NULs to a multiple of 4 bytes; numbers are big-endian 32-bit (f: float, i: int).
func _osc_packet(address: String, args: Array) -> PoolByteArray:
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
	var bytes := text.to_utf8()
	buffer.put_data(bytes)
	for _i in range(4 - bytes.size() % 4):
		buffer.put_u8(0)


func _send_json(text: String) -> bool:
	if _ws_open:
		var err := _ws.get_peer(1).put_packet(text.to_utf8())
		if err != OK:
			return _fail("cannot send to the engine's WebSocket (error %d)" % err)
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
	_ws = WebSocketClient.new()
	_ws.connect("connection_established", self, "_on_ws_open")
	_ws.connect("connection_closed", self, "_on_ws_closed")
	_ws.connect("connection_error", self, "_on_ws_failed")
	_ws.connect("data_received", self, "_on_ws_data")
	var err := _ws.connect_to_url("ws://%s:%d" % [host, ws_port])
	if err != OK:
		_on_ws_failed()


func _on_ws_open(_protocol: String) -> void:
	_ws_open = true
	_unreachable_said = false
	var peer := _ws.get_peer(1)
	peer.set_write_mode(WebSocketPeer.WRITE_MODE_TEXT)
	if listen:
		var subscribe := {"type": "subscribe", "events": ["beat", "bar", "phrase"]}
		peer.put_packet(JSON.print(subscribe).to_utf8())
	for text in _outbox:
		peer.put_packet(text.to_utf8())
	_outbox.clear()
	emit_signal("connected")


func _on_ws_closed(_was_clean: bool) -> void:
	if _ws == null:  # closed here, on purpose
		return
	var was_open := _ws_open
	_drop_ws()
	if was_open:
		emit_signal("disconnected")


func _on_ws_failed() -> void:
	if _ws == null:
		return
	_drop_ws()
	if not _unreachable_said:  # once until it works again, not at every retry
		_unreachable_said = true
		_fail("cannot reach the engine at ws://%s:%d (is `moodscore serve` running?); retrying every %s s"
				% [host, ws_port, str(reconnect_delay)])


func _drop_ws() -> void:
	_ws_open = false
	_ws = null
	_retry_at_ms = OS.get_ticks_msec() + int(max(reconnect_delay, 0.1) * 1000.0)


func _on_ws_data() -> void:
	var ws := _ws  # a signal handler may call reconnect(): then stop reading this one
	if ws == null:
		return
	var peer := ws.get_peer(1)
	while ws == _ws and peer.get_available_packet_count() > 0:
		_handle(peer.get_packet().get_string_from_utf8())


func _handle(text: String) -> void:
	var parsed := JSON.parse(text)
	if parsed.error != OK or typeof(parsed.result) != TYPE_DICTIONARY:
		_fail("unreadable message from the engine: %s" % text.left(200))
		return
	var event: Dictionary = parsed.result
	if event.has("time") or event.has("start_time"):
		event_time = float(event.get("time", event.get("start_time")))
	match event.get("type"):
		"beat":
			emit_signal("beat", int(event["bar"]), int(event["beat"]), float(event["tempo"]))
		"bar":
			emit_signal("bar", int(event["bar"]), float(event["tempo"]))
		"phrase":
			var mood = event.get("mood")
			if typeof(mood) == TYPE_ARRAY and mood.size() == 2:
				mood = Vector2(mood[0], mood[1])
			else:
				mood = null
			emit_signal("phrase", int(event["index"]), mood, str(event.get("abc", "")))
		"error":
			_fail("the engine refused a message: %s" % str(event.get("error")))


func _close() -> void:
	var was_open := _ws_open
	var ws := _ws
	_ws = null
	_ws_open = false
	_retry_at_ms = -1
	if ws != null:
		ws.disconnect_from_host()
	_udp.close()
	if was_open:
		emit_signal("disconnected")
