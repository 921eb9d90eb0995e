"""Live telemetry over MQTT: the broker connection, the durable streaming consumer and its disk buffer."""
