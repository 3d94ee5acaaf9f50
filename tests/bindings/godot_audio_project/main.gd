# Plays `moodscore serve --ws-audio` (port after `--` on the command line) through MoodscoreAudio,
# records the Master bus with AudioEffectRecord for the seconds given, saves it as a WAV, and
# prints one JSON line: the music time when recording began, and the node's counts.
extends Node

# preloaded: a headless run without the editor has no cache of global class names
const Audio = preload("res://addons/moodscore/moodscore_audio.gd")

var audio
var record := AudioEffectRecord.new()
var seconds := 4.0
var out_path := ""
var music_time_at_start := 0.0
var started_ms := -1


func _ready() -> void:
	var args := OS.get_cmdline_args()
	var port := int(args[args.size() - 3])
	seconds = float(args[args.size() - 2])
	out_path = args[args.size() - 1]
	AudioServer.add_bus_effect(0, record)
	audio = Audio.new()
	audio.ws_port = port
	audio.buffer_seconds = 0.15
	audio.connect("started", self, "_on_started")
	audio.connect("error", self, "_on_error")
	add_child(audio)


func _on_error(message: String) -> void:
	print(JSON.print({"error": message}))


func _on_started() -> void:
	record.set_recording_active(true)
	music_time_at_start = audio.music_time()
	started_ms = OS.get_ticks_msec()


func _process(_delta: float) -> void:
	if started_ms >= 0 and OS.get_ticks_msec() - started_ms > seconds * 1000.0:
		record.set_recording_active(false)
		var wav: AudioStreamSample = record.get_recording()
		wav.save_to_wav(out_path)
		print(JSON.print({"music_time": music_time_at_start, "mix_rate": AudioServer.get_mix_rate(),
				"output_latency": AudioServer.get_output_latency(), "underruns": audio.underruns,
				"lost_frames": audio.lost_frames, "frames_received": audio.frames_received,
				"generator_frames": audio._capacity}))
		started_ms = -1
		get_tree().quit()
