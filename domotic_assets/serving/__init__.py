"""Serving: the accounts commands, and the HTTP API over the warehouse (next)."""
