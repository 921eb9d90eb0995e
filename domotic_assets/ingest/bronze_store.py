"""The Bronze file store: immutable raw copies, never overwritten, written atomically."""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
from pathlib import Path

INCOMING = ".incoming"
"""Folder under the Bronze root for copies being written (same file system, so linking is atomic)."""


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def versioned(relpath: str, version: int) -> str:
    """`a/b/name.json` -> `a/b/name.v2.json`; version 1 is the plain name."""
    if version == 1:
        return relpath
    stem, dot, ext = relpath.rpartition(".")
    return f"{stem}.v{version}.{ext}" if dot else f"{relpath}.v{version}"


def store_immutable(root: Path, relpath: str, data: bytes) -> str:
    """Write `data` at `root/relpath` unless those exact bytes are already there.

    A different content under the same name becomes a new version (`name.v2.json`); nothing is
    ever overwritten. The file appears whole or not at all (a temporary in `.incoming/`, then a
    hard link that fails if the name is taken), so a run killed half-way leaves nothing a reader
    could mistake for a copy; `sweep_incoming` clears its temporaries and the next run repairs it.
    Returns the relative path that holds the bytes.
    """
    base = os.fspath(root)
    temporary = f"{base}/{INCOMING}/{os.getpid()}-{secrets.token_hex(6)}"
    # os-level calls, no pathlib: a run copies hundreds of thousands of files
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except FileNotFoundError:  # the first copy into this root
        os.makedirs(os.path.dirname(temporary), exist_ok=True)
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        try:
            left = memoryview(data)
            while left:
                left = left[os.write(fd, left) :]
        finally:
            os.close(fd)
        version = 1
        while True:
            candidate = versioned(relpath, version)
            target = f"{base}/{candidate}"
            try:
                os.link(temporary, target)
                return candidate
            except FileNotFoundError:  # the first file of its hour: make the folder, link again
                if not os.path.exists(temporary):  # (another process may have made the folder meanwhile)
                    raise
                os.makedirs(os.path.dirname(target), exist_ok=True)
            except FileExistsError:
                with open(target, "rb") as existing:
                    if existing.read() == data:
                        return candidate
                version += 1
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)


def sweep_incoming(root: Path) -> int:
    """Remove temporaries left by copies whose process died (killed runs). Returns how many."""
    folder = root / INCOMING
    if not folder.is_dir():
        return 0
    removed = 0
    for entry in folder.iterdir():
        pid = entry.name.split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            entry.unlink(missing_ok=True)
            removed += 1
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def flush_to_disk() -> None:
    """Make every file written so far durable before the tracking table says it is stored."""
    os.sync()


def missing_files(root: Path, relpaths: list[str]) -> list[str]:
    """The paths (relative to `root`) that are not files on disk. Each folder is listed once, instead of
    a look-up per file: a day range holds hundreds of thousands of files in a few thousand folders."""
    by_folder: dict[str, list[str]] = {}
    for relpath in relpaths:
        folder, _, name = relpath.rpartition("/")
        by_folder.setdefault(folder, []).append(name)
    missing = []
    for folder, names in by_folder.items():
        try:
            with os.scandir(os.path.join(root, folder)) as entries:
                files = {entry.name for entry in entries if entry.is_file()}
        except (FileNotFoundError, NotADirectoryError):
            files = set()
        missing += [f"{folder}/{name}" if folder else name for name in names if name not in files]
    return missing
