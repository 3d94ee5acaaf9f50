# For tests/bindings/test_godot.py: with the environment variable MOODSCORE_PLUGIN "on" or
# "off", switches the Moodscore plugin as the Plugins tab would, prints what the editor then
# has as one JSON line, and quits the editor.
tool
extends EditorPlugin

const PREFIX := "moodscore/client/"


func _enter_tree() -> void:
	call_deferred("_switch")


func _switch() -> void:
	var editor := get_editor_interface()
	editor.set_plugin_enabled("moodscore", OS.get_environment("MOODSCORE_PLUGIN") == "on")
	var settings := {}
	for property in ProjectSettings.get_property_list():
		if property["name"].begins_with(PREFIX):
			settings[property["name"].substr(len(PREFIX))] = ProjectSettings.get_setting(property["name"])
	print(JSON.print({"probe": {"enabled": editor.is_plugin_enabled("moodscore"),
			"settings": settings}}))
	get_tree().quit()
