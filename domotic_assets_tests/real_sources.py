"""Helpers for tests of the real sources: put a feed on the Samba share or the sFTP server."""

import dataclasses
import shutil
import uuid
from pathlib import Path

from domotic_assets.settings import Settings


def on_smb_share(settings: Settings, samba: dict, share: Path, monkeypatch) -> Settings:
    """A copy of `share` (modification times kept) in a fresh folder of the Samba share, and
    settings reading it over SMB with the password in the environment."""
    folder = f"t{uuid.uuid4().hex[:10]}"
    shutil.copytree(share, Path(samba["share_path"]) / folder)
    monkeypatch.setenv("DOMOTIC_LANDING_PASSWORD", samba["password"])
    return dataclasses.replace(settings, landing=f"{samba['url']}/{folder}")


def on_sftp_server(settings: Settings, sftp: dict, meteo: Path, monkeypatch) -> tuple[Settings, Path]:
    """A copy of the weather drop in a fresh folder of the sFTP account, and settings fetching it
    with the account's key and pinned host key. Returns the settings and the folder on disk."""
    folder = f"Meteo2-{uuid.uuid4().hex[:10]}"
    shutil.copytree(meteo, Path(sftp["root"]) / folder)
    monkeypatch.setenv("DOMOTIC_WEATHER_KEY", sftp["key"])
    monkeypatch.setenv("DOMOTIC_WEATHER_KNOWN_HOSTS", sftp["known_hosts"])
    url = sftp["url"].rsplit("/", 1)[0] + "/" + folder
    return dataclasses.replace(settings, weather=url), Path(sftp["root"]) / folder


def retries(result) -> int:
    """How many times a run's steps were put up for retry."""
    return sum(1 for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY")


def failure_message(result) -> str:
    return "\n".join(
        e.event_specific_data.error.message for e in result.all_events if e.event_type_value == "STEP_FAILURE"
    )
