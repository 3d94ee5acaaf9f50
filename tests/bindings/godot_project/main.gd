# Drives the Moodscore addon against a running engine, for tests/bindings/test_godot.py.
#
# User arguments (after `--`): osc-port=N ws-port=N [timeout=S connect-timeout=S
# reconnect-delay=S]. Every step and every signal the addon emits is printed as one JSON line
# on stdout; the test checks the engine's side.
# Steps: wait for `connected`; calls with bad values (refused here, never sent); OSC: play, a
# mood, the stinger "rise"; wait for a phrase in that mood; WebSocket: another mood, wait for
# its phrase; a tempo, wait for a beat at it; the stinger "victory", intensity 1 and the style
# "orchestral" (and, since the WebSocket mood, a theme); a few more beats; three phrases since
# the theme; a stop at the phrase, wait for the beats to stop; OSC: another theme, play, two phrases, a stop at the phrase, wait
# for the beats to stop; quit.
extends Node

const OSC_MOOD := Vector2(0.75, 0.875)  # exact in float32: the engine's phrase mood is equal
const WS_MOOD := Vector2(-0.5, 0.625)
const TEMPO := 150.0
const STINGER_COOLDOWN_MS := 3000  # the engine's is 2 s
const WS_THEME := "M:4/4\nL:1/4\nK:C\nccGG|EEC2|"  # a note twice, then its fifth twice
const OSC_THEME := "M:4/4\nL:1/4\nK:C\ncGEG|cGEC|"  # a note, its fifth, third and fifth
const QUIET_MS := 3000  # no beat for this long: the music has stopped
const REFUSED := [
	["set_mood", [2.0, 0.0]],
	["set_valence", [-1.5]],
	["set_arousal", [NAN]],
	["set_mood", [0.5, 0.5, 99.0]],
	["stinger", ["no way!"]],
	["transition", ["sometimes"]],
	["tempo", [10.0]],
	["intensity", [1.5]],
	["style", ["Big Band"]],
	["stop", ["later"]],
	["theme", [""]],
]

var _connect_timeout := 20.0
var _connected := false
var _phrases := []  # Vector2 moods
var _beats := []  # [bar, beat, tempo]
var _errors := []
var _last_beat_ms := 0


func _ready() -> void:
	var options := {}
	for arg in OS.get_cmdline_args():
		if "=" in arg:
			options[arg.lstrip("-").split("=")[0]] = arg.split("=")[1]
	var settings := {}
	for key in Moodscore.SETTINGS:
		settings[key] = Moodscore.get(key)
	_say({"step": "settings", "settings": settings})
	Moodscore.host = "127.0.0.1"
	Moodscore.osc_port = int(options.get("osc-port", "9000"))
	Moodscore.ws_port = int(options.get("ws-port", "8765"))
	Moodscore.transport = "osc"
	Moodscore.default_glide = 0.0  # the mood is there at once: phrases carry it exactly
	Moodscore.reconnect_delay = float(options.get("reconnect-delay", "2"))
	_connect_timeout = float(options.get("connect-timeout", "20"))
	for name in ["beat", "bar", "phrase", "error", "connected", "disconnected"]:
		Moodscore.connect(name, self, "_on_" + name)
	var limit := float(options.get("timeout", "60"))
	get_tree().create_timer(limit).connect("timeout", self, "_finish", [2, "timed out"])
	_run()


func _run():
	if not (yield(_until("_is_connected", [], _connect_timeout), "completed")):
		_finish(3, "no connected signal")
		return
	var too_long := ""  # 3000 characters, 9000 bytes as UTF-8: more than one OSC datagram holds
	for _i in range(3000):
		too_long += char(0x20AC)
	for call in REFUSED + [["theme", [too_long]]]:
		var before := _errors.size()
		var returned = Moodscore.callv(call[0], call[1])
		var errors := []
		for i in range(before, _errors.size()):
			errors.append(_errors[i])
		_say({"step": "refused", "call": call[0], "args": str(call[1]).left(40), "returned": returned,
				"errors": errors})
	var errors_before := _errors.size()

	Moodscore.play()
	Moodscore.set_mood(OSC_MOOD.x, OSC_MOOD.y)
	Moodscore.stinger("rise")
	var rise_ms := OS.get_ticks_msec()
	_say({"step": "sent", "transport": "osc", "mood": [OSC_MOOD.x, OSC_MOOD.y], "stinger": "rise"})
	if not (yield(_until("_has_phrase", [OSC_MOOD], 30.0), "completed")):
		_finish(4, "no phrase in the OSC mood")
		return

	Moodscore.transport = "websocket"
	Moodscore.set_mood(WS_MOOD.x, WS_MOOD.y)
	Moodscore.theme(WS_THEME)
	var phrases_at_theme := _mood_phrases()
	_say({"step": "sent", "transport": "websocket", "mood": [WS_MOOD.x, WS_MOOD.y], "theme": WS_THEME})
	if not (yield(_until("_has_phrase", [WS_MOOD], 30.0), "completed")):
		_finish(5, "no phrase in the WebSocket mood")
		return

	Moodscore.tempo(TEMPO)
	_say({"step": "sent", "transport": "websocket", "tempo": TEMPO})
	if not (yield(_until("_has_beat_at", [TEMPO], 20.0), "completed")):
		_finish(6, "no beat at the new tempo")
		return

	if not (yield(_until("_past", [rise_ms + STINGER_COOLDOWN_MS], 10.0), "completed")):
		_finish(7, "clock stuck")
		return
	Moodscore.stinger("victory")
	Moodscore.intensity(1.0, 0.0)
	Moodscore.style("orchestral")
	_say({"step": "sent", "transport": "websocket", "stinger": "victory", "intensity": 1.0,
			"style": "orchestral"})
	if not (yield(_until("_beats_at_least", [_beats.size() + 6], 20.0), "completed")):
		_finish(8, "no beats after the stinger")
		return

	# the theme opens the next phrase asked for: the second or third after it was sent
	if not (yield(_until("_phrases_at_least", [phrases_at_theme + 3], 30.0), "completed")):
		_finish(13, "no phrases after the WebSocket theme")
		return
	Moodscore.stop("phrase")
	_say({"step": "sent", "transport": "websocket", "stop": "phrase"})
	if not (yield(_until("_quiet", [], 30.0), "completed")):
		_finish(10, "the music did not stop after the WebSocket stop")
		return
	Moodscore.transport = "osc"
	Moodscore.theme(OSC_THEME)
	Moodscore.play()
	_say({"step": "sent", "transport": "osc", "theme": OSC_THEME, "play": true})
	if not (yield(_until("_phrases_at_least", [_mood_phrases() + 2], 30.0), "completed")):
		_finish(11, "no phrases after the OSC play")
		return
	Moodscore.stop("phrase")
	_say({"step": "sent", "transport": "osc", "stop": "phrase"})
	if not (yield(_until("_quiet", [], 30.0), "completed")):
		_finish(12, "the music did not stop after the OSC stop")
		return

	var late_errors := []
	for i in range(errors_before, _errors.size()):
		late_errors.append(_errors[i])
	if late_errors.empty():
		_finish(0, "done")
	else:
		_finish(9, "errors after the refused calls: %s" % str(late_errors))


# Waits, a frame at a time, until callv(check, args) is true; false after timeout_s.
func _until(check: String, args: Array, timeout_s: float):
	yield(get_tree(), "idle_frame")  # always a coroutine, so callers can yield on "completed"
	var deadline := OS.get_ticks_msec() + int(timeout_s * 1000.0)
	while not callv(check, args):
		if OS.get_ticks_msec() > deadline:
			_say({"step": "timeout", "waiting_for": check, "args": str(args)})
			return false
		yield(get_tree(), "idle_frame")
	return true


func _is_connected() -> bool:
	return _connected


func _has_phrase(mood: Vector2) -> bool:
	for seen in _phrases:
		if seen != null and seen.distance_to(mood) < 1e-6:
			return true
	return false


func _has_beat_at(bpm: float) -> bool:
	for b in _beats:
		if abs(b[2] - bpm) < 1e-6:
			return true
	return false


func _past(ms: int) -> bool:
	return OS.get_ticks_msec() >= ms


func _beats_at_least(count: int) -> bool:
	return _beats.size() >= count


func _mood_phrases() -> int:
	var count := 0
	for seen in _phrases:
		if seen != null:
			count += 1
	return count


func _phrases_at_least(count: int) -> bool:
	return _mood_phrases() >= count


func _quiet() -> bool:
	return OS.get_ticks_msec() - _last_beat_ms >= QUIET_MS


func _say(line: Dictionary) -> void:
	line["ms"] = OS.get_ticks_msec()
	print(JSON.print(line))


func _finish(code: int, why: String) -> void:
	_say({"step": "finish", "code": code, "why": why})
	get_tree().quit(code)


func _on_beat(bar: int, beat: int, tempo: float) -> void:
	_beats.append([bar, beat, tempo])
	_last_beat_ms = OS.get_ticks_msec()
	_say({"signal": "beat", "bar": bar, "beat": beat, "tempo": tempo, "time": Moodscore.event_time})


func _on_bar(bar: int, tempo: float) -> void:
	_say({"signal": "bar", "bar": bar, "tempo": tempo, "time": Moodscore.event_time})


func _on_phrase(index: int, mood, abc: String) -> void:
	_phrases.append(mood)
	_say({"signal": "phrase", "index": index, "mood": [mood.x, mood.y] if mood != null else null,
			"abc": abc})


func _on_error(message: String) -> void:
	_errors.append(message)
	_say({"signal": "error", "message": message})


func _on_connected() -> void:
	_connected = true
	_say({"signal": "connected"})


func _on_disconnected() -> void:
	_connected = false
	_say({"signal": "disconnected"})
