"""The controller: a household's schedule sent to its devices as MQTT commands, each slot at its start."""
