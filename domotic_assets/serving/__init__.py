"""Serving: who may see which rows (pure), and the HTTP API over the warehouse."""
