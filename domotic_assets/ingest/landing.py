"""Where source files arrive: a local folder, an SMB share or an sFTP folder, behind one interface.

A location is a folder path or a URL (`smb://user@host[:port]/share/path`,
`sftp://user@host[:port]/folder`). Transport failures come out as one of two errors, so callers
can tell a blip worth retrying from a refusal that retrying cannot fix (and must not hammer).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar
from urllib.parse import urlsplit, urlunsplit

import backoff

T = TypeVar("T")


@dataclass(frozen=True)
class LandingEntry:
    relpath: str
    """Relative to the landing root, with '/' separators; for sensor files the apartment folder first."""
    size: int
    mtime_ns: int

    @property
    def apartment(self) -> str:
        return self.relpath.split("/", 1)[0]

    @property
    def name(self) -> str:
        return self.relpath.rsplit("/", 1)[-1]


class SourceError(RuntimeError):
    """A source could not be read; the message names it (never with a secret)."""


class SourceUnavailable(SourceError):
    """Down, unreachable or dropped mid-transfer: worth retrying later."""


class SourceRefused(SourceError):
    """Bad credentials, an unknown host key, a missing share or folder: retrying cannot help."""


class Landing(Protocol):
    def list(self, suffix: str) -> Iterator[LandingEntry]:
        """Every file below the root whose name ends in `suffix`, from directory listings only."""

    def read(self, relpath: str) -> bytes:
        """The whole file; FileNotFoundError when it is gone."""

    def close(self) -> None: ...


def redacted(location: str) -> str:
    """A location fit for messages: no password, even if someone put one in the URL."""
    parts = urlsplit(location)
    if parts.password is None:
        return location
    netloc = f"{parts.username}@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def with_patience(connect: Callable[[], T], patience: float, log: Callable[[str], None] | None = None) -> T:
    """`connect()`, retried with exponential back-off (jittered, 1 s, 2 s, 4 s ...) while it
    raises SourceUnavailable, for at most `patience` seconds; SourceRefused is never retried."""

    def tell(details) -> None:
        if log:
            log(f"{details['exception']}; retrying in {details['wait']:.1f} s (attempt {details['tries']})")

    retrying = backoff.on_exception(
        backoff.expo, SourceUnavailable, max_time=patience, on_backoff=tell, logger=None, raise_on_giveup=True
    )
    return retrying(connect)() if patience > 0 else connect()


class LocalFolder:
    """A landing folder on a local (or mounted) file system. Listing costs one readdir per folder."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"LocalFolder({str(self.root)!r})"

    def list(self, suffix: str) -> Iterator[LandingEntry]:
        stack = [(str(self.root), "")]
        while stack:
            folder, prefix = stack.pop()
            with os.scandir(folder) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        stack.append((entry.path, prefix + entry.name + "/"))
                    elif entry.name.endswith(suffix) and entry.is_file(follow_symlinks=False):
                        st = entry.stat(follow_symlinks=False)
                        yield LandingEntry(prefix + entry.name, st.st_size, st.st_mtime_ns)

    def read(self, relpath: str) -> bytes:
        with open(os.path.join(self.root, relpath), "rb") as file:
            return file.read()

    def close(self) -> None:
        pass
