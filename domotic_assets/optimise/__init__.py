"""Scheduling a home battery and shiftable appliances against tariffs and forecasts (pure Python, no
Dagster)."""
