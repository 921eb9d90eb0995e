"""Sensor files on an SMB share, read with smbprotocol's `smbclient` (SMB 3, signing and encryption on).

`smb://user@host[:port]/share/path`: the user's password comes from `source_secrets`. Listing uses
only what the directory listing returns (name, size, last write time, attributes): a file seen
before costs no round trip of its own. The session is cached for the life of the process (a
sensor's ticks reuse it) per server and credentials, so a changed password is checked again, and
it is dropped when the connection breaks.
"""

from __future__ import annotations

import errno
import hashlib
import os
import struct
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from urllib.parse import unquote, urlsplit

import smbclient
from smbclient._io import SMBDirectoryIO
from smbprotocol.exceptions import (
    AccessDenied,
    BadNetworkName,
    LogonFailure,
    NoMoreFiles,
    NoSuchFile,
    SMBAuthenticationError,
    SMBException,
    SMBOSError,
)
from smbprotocol.file_info import FileInformationClass
from smbprotocol.open import QueryDirectoryFlags, SMB2QueryDirectoryResponse

from domotic_assets.ingest.landing import (
    LandingEntry,
    SourceRefused,
    SourceUnavailable,
    redacted,
    with_patience,
)

DIRECTORY = 0x10
REPARSE_POINT = 0x400
_CONNECTIONS: dict[tuple, dict] = {}
"""smbclient connection caches, one per process, server and credentials (smbclient's own would reuse a
session of the same user whatever password is given later; a worker process forked from a run must not
share the run's socket)."""


ENTRY = struct.Struct("<II16xq8xq8xII")
"""FILE_DIRECTORY_INFORMATION ([MS-FSCC] 2.4.10): next offset, index, 4 times (creation, access,
last write, change), end of file, allocation, attributes, name length; the name follows."""
FILETIME_EPOCH = 116_444_736_000_000_000
"""1601-01-01 to 1970-01-01 in the 100 ns ticks of a Windows FILETIME."""


def directory_entries(buffer: bytes) -> Iterator[tuple[str, int, int, int]]:
    """(name, size, last write time in ns since 1970, attributes) of each entry of one QUERY_DIRECTORY
    answer, parsed with `struct`: smbprotocol's generic structures cost ~100 µs an entry."""
    offset = 0
    while True:
        following, _, written, size, attributes, length = ENTRY.unpack_from(buffer, offset)
        name = buffer[offset + ENTRY.size : offset + ENTRY.size + length].decode("utf-16-le")
        if name not in (".", ".."):
            yield name, size, (written - FILETIME_EPOCH) * 100, attributes
        if not following:
            return
        offset += following


class SmbShare:
    def __init__(
        self,
        url: str,
        password: str | None,
        *,
        patience: float = 30.0,
        timeout: float = 10.0,
        log: Callable[[str], None] | None = None,
    ):
        parts = urlsplit(url)
        self.location = redacted(url)
        if parts.password is not None:
            raise SourceRefused(
                f"{self.location}: a password in the URL is refused; set DOMOTIC_LANDING_PASSWORD "
                "or put it in DOMOTIC_SECRETS_FILE"
            )
        share, _, folder = unquote(parts.path).strip("/").partition("/")
        if not (parts.username and parts.hostname and share):
            raise SourceRefused(f"{self.location}: expected smb://user@host[:port]/share[/path]")
        if not password:
            raise SourceRefused(
                f"{self.location}: no password for {parts.username} (DOMOTIC_LANDING_PASSWORD)"
            )
        self.host, self.port, self.user = parts.hostname, parts.port or 445, unquote(parts.username)
        self.root = rf"\\{self.host}\{share}" + "".join(f"\\{p}" for p in folder.split("/") if p)
        key = (os.getpid(), self.host, self.port, self.user, hashlib.sha256(password.encode()).hexdigest())
        self._session = {
            "port": self.port,
            "username": self.user,
            "password": password,
            "encrypt": True,
            "connection_timeout": timeout,
            "connection_cache": _CONNECTIONS.setdefault(key, {}),
        }
        self.patience, self.log = patience, log
        self._connected = False

    def __repr__(self) -> str:
        return f"SmbShare({self.location!r})"

    @contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        """Translate smbprotocol's errors into the landing's two kinds, naming the share."""
        try:
            yield
        except (LogonFailure, SMBAuthenticationError, AccessDenied) as exc:
            self._drop()
            raise SourceRefused(
                f"{self.location}: {doing}: access refused for user {self.user} ({exc})"
            ) from None
        except BadNetworkName:
            raise SourceRefused(f"{self.location}: {doing}: no such share") from None
        except SMBOSError as exc:
            if exc.errno == errno.ENOENT:
                raise FileNotFoundError(errno.ENOENT, f"{self.location}: {doing}: no such file") from None
            self._drop()
            raise SourceUnavailable(f"{self.location}: {doing}: {exc}") from exc
        except (SMBException, OSError, EOFError) as exc:
            self._drop()
            raise SourceUnavailable(f"{self.location}: {doing}: {type(exc).__name__}: {exc}") from exc
        except ValueError as exc:  # smbprotocol's "Failed to connect to 'host:port': ..."
            if "connect" not in str(exc):
                raise
            self._drop()
            raise SourceUnavailable(f"{self.location}: {doing}: {exc}") from None

    def _drop(self) -> None:
        """Forget a broken connection so the next call dials again."""
        self._connected = False
        with suppress(Exception):  # the connection is already gone; nothing left to close
            smbclient.delete_session(self.host, self.port, connection_cache=self._session["connection_cache"])

    def _connect(self) -> None:
        if self._connected:
            return

        def attempt() -> None:
            with self._errors("connecting"):
                smbclient.register_session(self.host, require_signing=True, **self._session)

        with_patience(attempt, self.patience, self.log)
        self._connected = True

    def _listing(self, folder: str) -> list[tuple[str, int, int, int]]:
        """One folder's entries: QUERY_DIRECTORY requests through smbprotocol, answers parsed here."""
        entries = []
        with SMBDirectoryIO(folder, share_access="rwd", **self._session) as handle:
            directory, flags = handle.fd, QueryDirectoryFlags.SMB2_RESTART_SCANS
            tree = directory.tree_connect
            while True:
                query, _ = directory.query_directory(
                    "*", FileInformationClass.FILE_DIRECTORY_INFORMATION, flags=flags, send=False
                )
                request = directory.connection.send(query, tree.session.session_id, tree.tree_connect_id)
                try:
                    response = directory.connection.receive(request)
                except (NoMoreFiles, NoSuchFile):
                    return entries
                answer = SMB2QueryDirectoryResponse()
                answer.unpack(response["data"].get_value())
                entries.extend(directory_entries(answer["buffer"].get_value()))
                flags = 0

    def list(self, suffix: str) -> Iterator[LandingEntry]:
        self._connect()
        stack = [(self.root, "")]
        with self._errors("listing"):
            while stack:
                folder, prefix = stack.pop()
                try:
                    listed = self._listing(folder)
                except SMBOSError as exc:
                    if exc.errno == errno.ENOENT and folder == self.root:
                        raise SourceRefused(f"{self.location}: the landing folder does not exist") from None
                    if exc.errno == errno.ENOENT:
                        continue  # removed while we walked
                    raise
                for name, size, mtime_ns, attributes in listed:
                    if attributes & REPARSE_POINT:
                        continue
                    if attributes & DIRECTORY:
                        stack.append((f"{folder}\\{name}", f"{prefix}{name}/"))
                    elif name.endswith(suffix):
                        yield LandingEntry(prefix + name, size, mtime_ns)

    def read(self, relpath: str) -> bytes:
        self._connect()
        path = self.root + "\\" + relpath.replace("/", "\\")
        # share_access: the gateway may go on writing, renaming or deleting while we read
        with (
            self._errors(f"reading {relpath}"),
            smbclient.open_file(path, mode="rb", share_access="rwd", **self._session) as handle,
        ):
            return handle.read()

    def close(self) -> None:
        """Nothing to do: the session stays cached for the next use in this process."""
