"""Thin shim for tools that still call setup.py; pyproject.toml is the single source of truth."""

from setuptools import setup

setup()
