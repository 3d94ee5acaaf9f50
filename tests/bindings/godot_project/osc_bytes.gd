# Prints the OSC packets the Moodscore addon builds, as hex, one line each, for
# tests/bindings/test_godot.py to compare with python-osc's. Run with -s; user argument:
# cases=[[address, [args...]], ...] as JSON (numbers are sent as floats, strings as strings).
extends SceneTree


func _init() -> void:
	var cases := []
	for arg in OS.get_cmdline_args():
		if arg.begins_with("cases="):
			cases = JSON.parse(arg.substr(len("cases="))).result
	var client: Node = load("res://addons/moodscore/moodscore.gd").new()
	for case in cases:
		print("osc ", client._osc_packet(case[0], case[1]).hex_encode())
	client.free()
	quit(0 if cases.size() > 0 else 1)
