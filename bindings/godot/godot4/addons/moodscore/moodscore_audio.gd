# MoodscoreAudio for Godot 4: the engine's music through Godot's own audio.
#
# Subscribes to the engine's audio stream (`moodscore serve --ws-audio`: binary frames, see the
# README) on its own WebSocket and plays it through an AudioStreamGenerator on `bus`, after
# `buffer_seconds` of it have arrived (the jitter buffer). Frames lost on the way are played as
# silence in their place; an empty buffer is counted in `underruns`. While the SceneTree is
# paused the stream is paused: nothing plays, stale audio is dropped, and on resume the music
# goes on as it is now.
#
# With `events` on (the default) the node also subscribes to the engine's beat, bar and phrase
# events and emits them as signals whose last argument, `audio_time`, is when that event will be
# heard, on this node's audio clock: audio_time() is that clock now, so
# `audio_time - audio_time()` is how long until the beat sounds out of the game. The audio clock
# counts seconds of the stream as Godot plays it (silence after an underrun included), from
# what the generator has taken, Godot's resampler's read-ahead, the mix buffer still to come
# (AudioServer.get_time_to_next_mix()) and AudioServer.get_output_latency(); an event's place
# in the stream comes from the frames' music time (the MSA1 header), so the jitter buffer and
# the network delay are in it. music_time() is the engine clock of what is heard now;
# heard_at(t) maps any engine-clock time (the Moodscore autoload's events) onto the audio clock.
# Before the stream plays (the buffer filling) the signals carry audio_time -1.0. When Godot's
# audio runs slower than the engine's clock, at most `catch_up_seconds` more than
# `buffer_seconds` builds up; then whole blocks are skipped, back down to `buffer_seconds`
# (`dropped_frames`), which the audio clock and heard_at() account for.
#
# With `stems` on (against `moodscore serve --ws-audio-stems`) the node reads the stems frames
# instead of the mix and plays each part (STEMS) through a player of its own on the bus
# `stem_buses` names for it (else `bus`), so the game mixes the layers itself: duck the drums,
# send the melody to a bus with its own effects. The parts start in the same mix and are fed
# together, so they stay sample-locked; the audio clock and the signals are the same.
#
# Public API: start, stop, music_time, audio_time, heard_at, is_playing; the signals and
# exported settings below; underruns, lost_frames, frames_received, dropped_frames; STEMS.
# The Godot 3 version of this file is bindings/godot/godot3/addons/moodscore/moodscore_audio.gd.
class_name MoodscoreAudio
extends Node

signal started  # the buffer is full enough and the music plays
signal error(message)  # a frame that could not be read, or the engine unreachable
signal beat(bar_index, beat_index, bpm, audio_time)  # audio_time: when heard (audio_time())
signal bar(bar_index, bpm, audio_time)
signal phrase(index, mood, abc, audio_time)  # mood: Vector2(valence, arousal) or null

const RATE := 48000
const HEADER := 32
const READ_AHEAD := 66  # frames Godot 4's resampler holds, on average: half its 128, and 2
const STEMS := ["melody", "pad", "bass", "stingers", "counter", "rhythm", "drums"]  # frame order

@export var host := "127.0.0.1"
@export var ws_port := 8765
@export var bus := "Master"
@export var buffer_seconds := 0.1
@export var autostart := true
@export var catch_up_seconds := 0.1  # at most this beyond buffer_seconds builds up, then it skips
@export var events := true  # also the engine's beat/bar/phrase events, as the signals above
@export var stems := false  # each part through a player of its own (serve --ws-audio-stems)
@export var stem_buses := {}  # with stems: part (STEMS) -> bus; a part not named plays on `bus`

var underruns := 0
var lost_frames := 0
var frames_received := 0
var dropped_frames := 0  # skipped to catch up when the game's audio runs slower than the engine
var _ws: WebSocketPeer = null
var _ws_open := false
var _player: AudioStreamPlayer = null  # the first of _players: the audio clock's
var _playback: AudioStreamGeneratorPlayback = null  # of _player
var _players: Array[AudioStreamPlayer] = []  # one per part: the mix, or each of STEMS
var _playbacks: Array[AudioStreamGeneratorPlayback] = []
var _queue: Array[Array] = []  # blocks waiting for room in the generators: one per part
var _queued := 0  # frames in _queue
var _next_index := -1  # stream index of the frame after the last one queued
var _pushed := 0  # stream index of the next frame to go to the generator
var _time_at0 := 0.0  # music time of stream index 0
var _playing := false
var _was_paused := false
var _skips := 0
var _capacity := 0  # frames the generator holds
var _clock_base := 0.0  # audio clock at the start of this play (it goes on across restarts)
var _play_index := 0  # stream index of the first frame played
var _fed := 0  # frames pushed into the generator since then (stream frames, less those dropped)
var _drops := []  # [frames fed before, frames dropped there], until they are heard
var _shift := 0  # frames dropped before what is heard now
var _silence := 0.0  # frames of silence the generator played (underruns) since play
var _last_taken := 0  # frames the generator had taken at the last _feed
var _last_position := 0.0  # and its playback position then


func _ready() -> void:
	process_mode = Node.PROCESS_MODE_ALWAYS  # keep reading while paused: nothing goes stale
	for part in (STEMS if stems else ["mix"]):
		var player := AudioStreamPlayer.new()
		var generator := AudioStreamGenerator.new()
		generator.mix_rate = RATE
		generator.buffer_length = buffer_seconds + 0.1
		player.stream = generator
		player.bus = stem_buses.get(part, bus) if stems else bus
		player.process_mode = Node.PROCESS_MODE_ALWAYS
		add_child(player)
		_players.append(player)
	_player = _players[0]
	if autostart:
		start()


func start() -> void:
	stop()
	_ws = WebSocketPeer.new()
	_ws.inbound_buffer_size = 1 << 22  # a second of stems is 1.3 MB: room for a hitch
	if _ws.connect_to_url("ws://%s:%d" % [host, ws_port]) != OK:
		_on_failed()


func stop() -> void:
	if _ws != null:
		_ws.close()
	_ws = null
	_ws_open = false
	_reset()


func is_playing() -> bool:
	return _playing


# The engine-clock time of what is heard now (the clock of the engine's events' times).
func music_time() -> float:
	if not _playing:
		return _time_at0 + float(_pushed) / RATE
	var heard := _heard()
	return _time_at0 + (_play_index + heard + _shift_at(heard)) / RATE


# The audio clock now: seconds of this node's stream heard so far.
func audio_time() -> float:
	if not _playing:
		return _clock_base
	return _clock_base + (_heard() + _silence) / RATE


# When the engine-clock time `time` is heard, on the audio clock; -1.0 before the stream plays.
func heard_at(time: float) -> float:
	if not _playing:
		return -1.0
	var fed := (time - _time_at0) * RATE - _play_index - _shift  # where it is in what is fed
	for drop in _drops:
		if fed >= drop[0]:
			fed = maxf(drop[0], fed - drop[1])
	return _clock_base + (fed + _silence) / RATE


# What the generator has played of what it was fed, at the sample heard now: what it has taken,
# less the resampler's read-ahead, the rest of the last mix (heard until the next) and the
# output latency.
func _heard() -> float:
	AudioServer.lock()  # both from the same mix
	var taken := _fed - (_capacity - _playback.get_frames_available())
	var late := AudioServer.get_time_to_next_mix() + AudioServer.get_output_latency()
	AudioServer.unlock()
	return float(taken - mini(READ_AHEAD, taken)) - late * RATE  # none before a mix


func _shift_at(heard: float) -> int:  # frames dropped before `heard` (fed frames)
	var shift := _shift
	for drop in _drops:
		if heard >= drop[0]:
			shift += drop[1]
	return shift


func _reset() -> void:
	if _playing:
		_clock_base = audio_time()
	_queue.clear()
	_queued = 0
	_next_index = -1
	_playing = false
	for player in _players:
		player.stop()
	_playback = null
	_playbacks.clear()


func _on_failed() -> void:
	error.emit("cannot reach the engine's audio at ws://%s:%d (moodscore serve --ws-audio?)"
			% [host, ws_port])
	_ws = null
	_ws_open = false


func _process(_delta: float) -> void:
	if _ws == null:
		return
	_ws.poll()
	var texts: Array[String] = []  # events: told once the frames that came with them are fed
	match _ws.get_ready_state():
		WebSocketPeer.STATE_OPEN:
			if not _ws_open:
				_ws_open = true
				var stream := "stems" if stems else "audio"
				var names := [stream, "beat", "bar", "phrase"] if events else [stream]
				_ws.send_text(JSON.stringify({"type": "subscribe", "events": names}))
			while _ws.get_available_packet_count() > 0:
				var packet := _ws.get_packet()
				if not _ws.was_string_packet():
					_take(packet)
				else:
					texts.append(packet.get_string_from_utf8())
		WebSocketPeer.STATE_CLOSED:
			if _ws_open:
				_ws = null
				_ws_open = false
				_reset()
			else:
				_on_failed()
			return
	_play()
	for text in texts:
		_event(text)


func _play() -> void:
	var paused := get_tree().paused
	if paused != _was_paused:
		_was_paused = paused
		_reset()  # paused: silence; resumed: buffer the music as it is now
		return
	if paused:
		_queue.clear()
		_queued = 0
		_next_index = -1
		return
	if not _playing and _queued >= buffer_seconds * RATE:
		AudioServer.lock()  # every part starts in the same mix
		for player in _players:
			player.play()
		AudioServer.unlock()
		_playbacks.clear()
		for player in _players:
			_playbacks.append(player.get_stream_playback())
		_playback = _playbacks[0]
		_skips = 0
		_capacity = _playback.get_frames_available()  # Godot rounds the buffer up to a power of 2
		_play_index = _pushed
		_fed = 0
		_drops.clear()
		_shift = 0
		_silence = 0.0
		_last_taken = 0
		_last_position = 0.0
		_playing = true
		started.emit()
	if _playing:
		_feed()


func _take(packet: PackedByteArray) -> void:
	if packet.size() < HEADER or packet.slice(0, 4).get_string_from_ascii() != "MSA1":
		error.emit("not a moodscore audio frame")
		return
	var rate := packet.decode_u32(4)
	var channels := packet.decode_u16(8)
	var flags := packet.decode_u16(10)
	var index := packet.decode_u64(12)
	var time := packet.decode_double(20)
	var frames := packet.decode_u32(28)
	var parts := STEMS.size() if stems else 1
	if rate != RATE or channels != 2 * parts or (flags & 1 == 1) != stems \
			or packet.size() != HEADER + frames * 2 * channels:
		error.emit("an audio frame of %d Hz, %d channels, flags %d, %d bytes: not %s"
				% [rate, channels, flags, packet.size(),
				"48 kHz stems (7 stereo parts)" if stems else "48 kHz stereo"])
		return
	frames_received += 1
	if _next_index < 0:
		_next_index = index
		_pushed = index
	if index < _next_index:
		return  # a repeat
	_time_at0 = time - float(index) / RATE
	if index > _next_index:  # lost on the way: silence in their place
		var gap := PackedVector2Array()
		gap.resize(index - _next_index)
		gap.fill(Vector2.ZERO)
		lost_frames += gap.size()
		var gaps := []
		for _part in range(parts):
			gaps.append(gap)
		_queue.append(gaps)
		_queued += gap.size()
	if stems:
		_queue.append(_stems(packet, frames))
	else:
		var block := PackedVector2Array()
		block.resize(frames)
		for i in range(frames):
			var at := HEADER + 4 * i
			block[i] = Vector2(packet.decode_s16(at) / 32768.0, packet.decode_s16(at + 2) / 32768.0)
		_queue.append([block])
	_queued += frames
	_next_index = index + frames


func _event(text: String) -> void:
	var json := JSON.new()
	if json.parse(text) != OK or typeof(json.data) != TYPE_DICTIONARY:
		error.emit("unreadable message from the engine: %s" % text.left(200))
		return
	var event: Dictionary = json.data
	match event.get("type"):
		"beat":
			beat.emit(int(event["bar"]), int(event["beat"]), float(event["tempo"]),
					heard_at(float(event["time"])))
		"bar":
			bar.emit(int(event["bar"]), float(event["tempo"]), heard_at(float(event["time"])))
		"phrase":
			var mood: Variant = event.get("mood")
			if typeof(mood) == TYPE_ARRAY and mood.size() == 2:
				mood = Vector2(mood[0], mood[1])
			else:
				mood = null
			phrase.emit(int(event["index"]), mood, str(event.get("abc", "")),
					heard_at(float(event["start_time"])))
		"error":
			error.emit("the engine refused a message: %s" % str(event.get("error")))


func _feed() -> void:
	AudioServer.lock()  # what the generator took and where it is, from the same mix
	var skips := _playback.get_skips()
	var waiting := _capacity - _playback.get_frames_available()
	var position := _player.get_playback_position()
	AudioServer.unlock()
	var taken := _fed - waiting
	if skips > _skips:  # the generator ran dry: it played silence for what it lacked
		underruns += 1
		_skips = skips
		_silence += maxf(0.0, (position - _last_position) * RATE - (taken - _last_taken))
	_last_taken = taken
	_last_position = position
	while not _drops.is_empty() and taken - mini(READ_AHEAD, taken) > _drops[0][0] + _capacity:
		_shift += _drops.pop_front()[1]  # long heard
	# the game's audio clock slower than the engine's (no two clocks agree): skip to catch up.
	# Past buffer_seconds + catch_up_seconds, skip back down to buffer_seconds in one go:
	# trimmed only to the limit, the next bit of network jitter would skip again, after the
	# signals for the music behind it had told their audio times.
	var skipping := _queued + waiting > (buffer_seconds + catch_up_seconds) * RATE
	var target := buffer_seconds * RATE
	while skipping and _queue.size() > 1 and _queued + waiting - _queue[0][0].size() >= target:
		var old: PackedVector2Array = _queue.pop_front()[0]
		_queued -= old.size()
		_pushed += old.size()
		dropped_frames += old.size()
		if not _drops.is_empty() and _drops[-1][0] == _fed:
			_drops[-1][1] += old.size()
		else:
			_drops.append([_fed, old.size()])
	AudioServer.lock()  # every part gets its block before the next mix: they stay in step
	while not _queue.is_empty() and _playback.get_frames_available() >= _queue[0][0].size():
		var blocks: Array = _queue.pop_front()
		for part in range(blocks.size()):
			_playbacks[part].push_buffer(blocks[part])
		var size: int = blocks[0].size()
		_queued -= size
		_pushed += size
		_fed += size
	AudioServer.unlock()


# The seven parts of a stems frame, read in one pass (interleaved: each frame holds every
# part's left and right); seven plain variables, because a packed array held in an Array is
# copied on each write to it.
func _stems(packet: PackedByteArray, frames: int) -> Array:
	var p0 := PackedVector2Array()
	p0.resize(frames)
	var p1 := PackedVector2Array()
	p1.resize(frames)
	var p2 := PackedVector2Array()
	p2.resize(frames)
	var p3 := PackedVector2Array()
	p3.resize(frames)
	var p4 := PackedVector2Array()
	p4.resize(frames)
	var p5 := PackedVector2Array()
	p5.resize(frames)
	var p6 := PackedVector2Array()
	p6.resize(frames)
	var k := 1.0 / 32768.0
	var at := HEADER
	for i in range(frames):
		p0[i] = Vector2(packet.decode_s16(at) * k, packet.decode_s16(at + 2) * k)
		p1[i] = Vector2(packet.decode_s16(at + 4) * k, packet.decode_s16(at + 6) * k)
		p2[i] = Vector2(packet.decode_s16(at + 8) * k, packet.decode_s16(at + 10) * k)
		p3[i] = Vector2(packet.decode_s16(at + 12) * k, packet.decode_s16(at + 14) * k)
		p4[i] = Vector2(packet.decode_s16(at + 16) * k, packet.decode_s16(at + 18) * k)
		p5[i] = Vector2(packet.decode_s16(at + 20) * k, packet.decode_s16(at + 22) * k)
		p6[i] = Vector2(packet.decode_s16(at + 24) * k, packet.decode_s16(at + 26) * k)
		at += 28
	return [p0, p1, p2, p3, p4, p5, p6]
