# For tests/bindings/test_godot.py: one frame of 100 set_mood calls and a set_valence, sent as
# OSC to osc-port=N (user argument) with max_send_rate 10 and no WebSocket. Run with -s in a
# project with no Moodscore autoload; quits after a second.
extends SceneTree

var _client: Node
var _started_ms := 0


func _init() -> void:
	_client = load("res://addons/moodscore/moodscore.gd").new()
	_client.listen = false
	_client.max_send_rate = 10.0
	for arg in OS.get_cmdline_args():
		if arg.begins_with("osc-port="):
			_client.osc_port = int(arg.split("=")[1])
	root.add_child(_client)


func _idle(_delta: float) -> bool:
	if _started_ms == 0:
		_started_ms = OS.get_ticks_msec()
		for i in range(100):
			_client.set_mood(i / 100.0, -i / 100.0)
		_client.set_valence(0.5)  # joins the mood still waiting to go out
		print("burst sent")
	elif OS.get_ticks_msec() - _started_ms > 1000:
		quit()  # returning true from _idle does not end a SceneTree
	return false
