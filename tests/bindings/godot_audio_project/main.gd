# Plays `moodscore serve --ws-audio` (port after `--` on the command line) through MoodscoreAudio,
# records the Master bus with AudioEffectRecord for the seconds given, saves it as a WAV, and
# prints one JSON line: the music time and the audio clock of the recording's first sample, the
# beat and bar signals with their audio times, and the node's counts. With MOODSCORE_TEST_STALL_S
# set, the main loop stalls 0.35 s that many seconds into the recording (the generator runs dry,
# then too much has come: an underrun and a catch-up).
extends Node

# preloaded: a headless run without the editor has no cache of global class names
const Audio = preload("res://addons/moodscore/moodscore_audio.gd")

var audio
var record := AudioEffectRecord.new()
var melody_record := AudioEffectRecord.new()  # with MOODSCORE_TEST_STEMS: the Melody bus
var stems := false
var seconds := 4.0
var out_path := ""
var music_time_at_start := 0.0
var audio_time_at_start := 0.0
var started_ms := -1
var playing_ms := -1
var stall_ms := -1
var signals := []  # [kind, bar, beat, audio_time, then: system time in ms, music_time(), audio_time()]
var system_ms_at_start := 0.0


func _ready() -> void:
	var args := OS.get_cmdline_args()
	var port := int(args[args.size() - 3])
	seconds = float(args[args.size() - 2])
	out_path = args[args.size() - 1]
	AudioServer.add_bus_effect(0, record)
	audio = Audio.new()
	audio.ws_port = port
	stems = OS.has_environment("MOODSCORE_TEST_STEMS")
	if stems:  # the melody on a bus of its own, sent on to Master with the other parts
		AudioServer.add_bus()
		var melody_bus := AudioServer.get_bus_count() - 1
		AudioServer.set_bus_name(melody_bus, "Melody")
		AudioServer.set_bus_send(melody_bus, "Master")
		AudioServer.add_bus_effect(melody_bus, melody_record)
		audio.stems = true
		audio.stem_buses = {"melody": "Melody"}
	audio.buffer_seconds = 0.15
	audio.connect("started", self, "_on_started")
	audio.connect("error", self, "_on_error")
	audio.connect("beat", self, "_on_beat")
	audio.connect("bar", self, "_on_bar")
	add_child(audio)


func _on_error(message: String) -> void:
	print(JSON.print({"error": message}))


func _on_beat(bar_index: int, beat_index: int, _bpm: float, audio_time: float) -> void:
	signals.append(["beat", bar_index, beat_index, audio_time, OS.get_system_time_msecs(),
			audio.music_time(), audio.audio_time()])


func _on_bar(bar_index: int, _bpm: float, audio_time: float) -> void:
	signals.append(["bar", bar_index, 0, audio_time, OS.get_system_time_msecs(), audio.music_time(),
			audio.audio_time()])


func _on_started() -> void:
	playing_ms = OS.get_ticks_msec()


func _start_recording() -> void:  # half a second in: the stream's steady state
	playing_ms = -1
	AudioServer.lock()  # between two mixes: the recording begins with the next one
	record.set_recording_active(true)
	melody_record.set_recording_active(stems)
	var next := AudioServer.get_time_to_next_mix() + AudioServer.get_output_latency()
	music_time_at_start = audio.music_time() + next
	audio_time_at_start = audio.audio_time() + next
	system_ms_at_start = OS.get_system_time_msecs() + next * 1000.0
	AudioServer.unlock()
	started_ms = OS.get_ticks_msec()
	if OS.has_environment("MOODSCORE_TEST_STALL_S"):
		stall_ms = started_ms + int(float(OS.get_environment("MOODSCORE_TEST_STALL_S")) * 1000.0)


func _process(_delta: float) -> void:
	if playing_ms >= 0 and OS.get_ticks_msec() - playing_ms > 500:
		_start_recording()
	if stall_ms >= 0 and OS.get_ticks_msec() >= stall_ms:
		stall_ms = -1
		OS.delay_msec(350)
	if started_ms >= 0 and OS.get_ticks_msec() - started_ms > seconds * 1000.0:
		AudioServer.lock()  # between two mixes: the recording ends with the last one
		record.set_recording_active(false)
		melody_record.set_recording_active(false)
		var audio_time_at_end: float = audio.audio_time() + AudioServer.get_time_to_next_mix() \
				+ AudioServer.get_output_latency()
		AudioServer.unlock()
		var wav: AudioStreamSample = record.get_recording()
		wav.save_to_wav(out_path)
		if stems:
			melody_record.get_recording().save_to_wav(out_path.get_basename() + ".melody.wav")
		print(JSON.print({"music_time": music_time_at_start, "audio_time": audio_time_at_start,
				"audio_time_at_end": audio_time_at_end,
				"system_ms": system_ms_at_start,
				"signals": signals, "mix_rate": AudioServer.get_mix_rate(),
				"output_latency": AudioServer.get_output_latency(), "underruns": audio.underruns,
				"lost_frames": audio.lost_frames, "frames_received": audio.frames_received,
				"dropped_frames": audio.dropped_frames,
				"generator_frames": audio._capacity}))
		started_ms = -1
		get_tree().quit()
