"""Domotic data platform: smart-apartment data through Bronze, Silver and Gold as Dagster assets."""
