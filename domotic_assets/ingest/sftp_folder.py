"""Weather files in a folder of an sFTP server, fetched with paramiko.

`sftp://user@host[:port]/Meteo2`: the path is taken relative to the account's login folder (the
root of a chrooted weather account); `sftp://user@host//srv/Meteo2` gives an absolute one. Key
authentication only, and the server must present the host key pinned in the known_hosts file:
an unknown or changed key is refused, never learned.
"""

from __future__ import annotations

import io
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import unquote, urlsplit

import paramiko

from domotic_assets.ingest.landing import (
    LandingEntry,
    SourceRefused,
    SourceUnavailable,
    redacted,
    with_patience,
)


class SftpFolder:
    def __init__(
        self,
        url: str,
        key_file: str | None,
        known_hosts: str | None,
        *,
        patience: float = 30.0,
        timeout: float = 10.0,
        log: Callable[[str], None] | None = None,
    ):
        parts = urlsplit(url)
        self.location = redacted(url)
        if parts.password is not None:
            raise SourceRefused(
                f"{self.location}: passwords are refused; use key authentication (DOMOTIC_WEATHER_KEY)"
            )
        if not (parts.username and parts.hostname):
            raise SourceRefused(f"{self.location}: expected sftp://user@host[:port]/folder")
        if not key_file:
            raise SourceRefused(f"{self.location}: no private key given (DOMOTIC_WEATHER_KEY)")
        self.host, self.port, self.user = parts.hostname, parts.port or 22, unquote(parts.username)
        path = unquote(parts.path)
        self.root = path[1:] if path.startswith("//") else path.lstrip("/") or "."
        self.key_file = key_file
        self.known_hosts = Path(known_hosts or Path.home() / ".ssh" / "known_hosts").expanduser()
        self.patience, self.timeout, self.log = patience, timeout, log
        self._client: paramiko.SSHClient | None = None
        self._sftp: paramiko.SFTPClient | None = None

    def __repr__(self) -> str:
        return f"SftpFolder({self.location!r})"

    def _attempt(self) -> paramiko.SFTPClient:
        if not self.known_hosts.is_file():
            raise SourceRefused(
                f"{self.location}: no known_hosts file at {self.known_hosts} to pin the server's key"
            )
        if not Path(self.key_file).is_file():
            raise SourceRefused(f"{self.location}: the private key {self.key_file} does not exist")
        client = paramiko.SSHClient()
        client.load_host_keys(str(self.known_hosts))
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
        try:
            client.connect(
                self.host,
                port=self.port,
                username=self.user,
                key_filename=self.key_file,
                allow_agent=False,
                look_for_keys=False,
                timeout=self.timeout,
                banner_timeout=self.timeout,
                auth_timeout=self.timeout,
            )
            sftp = client.open_sftp()
        except paramiko.BadHostKeyException:
            client.close()
            raise SourceRefused(
                f"{self.location}: the server's host key does not match the one pinned in "
                f"{self.known_hosts}; refusing to connect"
            ) from None
        except paramiko.AuthenticationException as exc:
            client.close()
            raise SourceRefused(
                f"{self.location}: authentication failed for user {self.user} with key "
                f"{self.key_file} ({exc})"
            ) from None
        except (OSError, EOFError, paramiko.SSHException) as exc:
            client.close()
            if isinstance(exc, paramiko.SSHException) and "known_hosts" in str(exc):
                raise SourceRefused(
                    f"{self.location}: the server's host key is not pinned in {self.known_hosts}; "
                    "refusing an unknown host"
                ) from None
            raise SourceUnavailable(f"{self.location}: cannot connect: {type(exc).__name__}: {exc}") from None
        self._client = client
        return sftp

    def _connected(self) -> paramiko.SFTPClient:
        if self._sftp is None:
            self._sftp = with_patience(self._attempt, self.patience, self.log)
        return self._sftp

    def _broken(self, doing: str, exc: Exception) -> SourceUnavailable:
        self.close()
        return SourceUnavailable(f"{self.location}: {doing}: {type(exc).__name__}: {exc}")

    def list(self, suffix: str) -> Iterator[LandingEntry]:
        sftp = self._connected()
        stack = [(self.root, "")]
        while stack:
            folder, prefix = stack.pop()
            try:
                listed = sftp.listdir_attr(folder)
            except FileNotFoundError:
                if folder == self.root:
                    raise SourceRefused(f"{self.location}: the folder does not exist") from None
                continue
            except (OSError, EOFError, paramiko.SSHException) as exc:
                raise self._broken("listing", exc) from None
            for attrs in listed:
                if stat.S_ISDIR(attrs.st_mode or 0):
                    stack.append((f"{folder}/{attrs.filename}", f"{prefix}{attrs.filename}/"))
                elif stat.S_ISREG(attrs.st_mode or 0) and attrs.filename.endswith(suffix):
                    yield LandingEntry(
                        prefix + attrs.filename, attrs.st_size, int(attrs.st_mtime) * 1_000_000_000
                    )

    def read(self, relpath: str) -> bytes:
        sftp = self._connected()
        buffer = io.BytesIO()
        try:
            sftp.getfo(f"{self.root}/{relpath}", buffer)
        except FileNotFoundError:
            raise
        except (OSError, EOFError, paramiko.SSHException) as exc:
            raise self._broken(f"reading {relpath}", exc) from None
        return buffer.getvalue()

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
        self._client = self._sftp = None
