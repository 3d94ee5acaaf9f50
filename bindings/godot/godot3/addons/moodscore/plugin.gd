# Enabling the plugin registers moodscore.gd as the autoload singleton `Moodscore`; disabling it
# removes the autoload. While enabled, the client's settings are under Project Settings >
# Moodscore > Client (only the ones changed from their defaults are saved in project.godot).
tool
extends EditorPlugin

const AUTOLOAD := "Moodscore"
const CLIENT := "res://addons/moodscore/moodscore.gd"


func _enter_tree() -> void:
	var script = load(CLIENT)
	var constants: Dictionary = script.get_script_constant_map()
	var client: Node = script.new()  # its exported defaults are the settings' defaults
	for key in constants["SETTINGS"]:
		var setting: String = constants["SETTINGS_PREFIX"] + key
		var value = client.get(key)
		if not ProjectSettings.has_setting(setting):
			ProjectSettings.set_setting(setting, value)
		ProjectSettings.set_initial_value(setting, value)
	ProjectSettings.add_property_info({"name": constants["SETTINGS_PREFIX"] + "transport",
			"type": TYPE_STRING, "hint": PROPERTY_HINT_ENUM, "hint_string": "osc,websocket"})
	client.free()


func enable_plugin() -> void:
	add_autoload_singleton(AUTOLOAD, CLIENT)


func disable_plugin() -> void:
	remove_autoload_singleton(AUTOLOAD)
