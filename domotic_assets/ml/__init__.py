"""Machine learning on Silver and Gold: energy forecast, room presence, anomalies (no Dagster import)."""
