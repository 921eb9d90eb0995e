"""Which landing a configured location names: a local folder, an SMB share (`smb://`) or an sFTP folder
(`sftp://`). The transports import the landing's interface; only this module knows all of them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from domotic_assets.ingest.landing import Landing, LocalFolder, SourceRefused, redacted


def open_landing(
    location: str,
    secrets: dict[str, str] | None = None,
    *,
    patience: float = 30.0,
    log: Callable[[str], None] | None = None,
) -> Landing:
    """The landing for a configured location. `secrets` holds the credentials of remote ones
    (see `settings.source_secrets`); `patience` is how long to keep retrying a server that is
    down before giving up with SourceUnavailable; `log` hears about each retry."""
    scheme = urlsplit(location).scheme if "://" in location else ""
    secrets = secrets or {}
    if scheme == "smb":
        from domotic_assets.ingest.smb_share import SmbShare  # smbprotocol: imported only for a share

        return SmbShare(location, secrets.get("password"), patience=patience, log=log)
    if scheme == "sftp":
        from domotic_assets.ingest.sftp_folder import SftpFolder  # paramiko: imported only for an sFTP folder

        return SftpFolder(
            location, secrets.get("key_file"), secrets.get("known_hosts"), patience=patience, log=log
        )
    if scheme not in ("", "file"):
        raise SourceRefused(f"unsupported location {redacted(location)!r}: use a folder, smb:// or sftp://")
    folder = location.removeprefix("file://")
    if not Path(
        folder
    ).is_dir():  # as a missing share or remote folder: a configuration to fix, not an outage
        raise SourceRefused(f"the landing folder {folder} does not exist")
    return LocalFolder(folder)
