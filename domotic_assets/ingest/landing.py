"""Where source files arrive. A folder today; an SMB share or sFTP server behind the same interface."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Protocol


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


class Landing(Protocol):
    def list(self, suffix: str) -> Iterator[LandingEntry]: ...

    def read(self, relpath: str) -> bytes: ...


class LocalFolder:
    """A landing folder on a local (or mounted) file system. Listing costs one readdir per folder."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"LocalFolder({str(self.root)!r})"

    def list(self, suffix: str) -> Iterator[LandingEntry]:
        if not self.root.is_dir():
            return
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
        return (self.root / relpath).read_bytes()


def open_landing(location: str) -> Landing:
    """The landing for a configured location (a folder path; URLs arrive with their transports)."""
    if "://" in location and not location.startswith("file://"):
        raise ValueError(f"unsupported landing location {location!r}: only local folders are supported so far")
    return LocalFolder(location.removeprefix("file://"))
