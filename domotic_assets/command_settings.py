"""The settings a `domotic` command runs with, read from the environment once per command."""

from __future__ import annotations

import click

from domotic_assets.settings import SecretInLocation, Settings


def settings_from_env() -> Settings:
    """The environment's settings; a password put in a DSN or URL is refused with a plain message."""
    try:
        return Settings.from_env()
    except SecretInLocation as exc:
        raise click.ClickException(str(exc)) from None
