"""A realistic simulated feed: sensor files, weather forecasts and a `pidb`, with injected faults.

Pure Python and numpy; no Dagster import. `feed.simulate` is the entry point.
"""
