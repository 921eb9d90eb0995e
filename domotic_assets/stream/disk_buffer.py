"""The consumer's disk buffer: batches of raw messages kept while the warehouse is unreachable.

A batch is one segment file, written to a temporary name, fsync'ed, renamed into place and the
folder fsync'ed: a segment exists whole or not at all, so a killed consumer never leaves half a
batch behind (a leftover `.tmp` belonged to a batch that was never acknowledged, which the broker
sends again). Segments are replayed in the order they were written and deleted only after the
warehouse committed them; replaying one twice is harmless, since every reading has a natural key.

Record layout: `<topic length:u32><payload length:u32><received at, µs since epoch:i64><crc32:u32>`,
then the topic (UTF-8) and the payload bytes. A record whose checksum does not match stops the
reading of its segment, and the segment is moved to `corrupt/` for a person to look at.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

from domotic_assets.contracts.mqtt_message import RawMessage

HEADER = struct.Struct("<IIqI")
SUFFIX = ".seg"


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def encode(messages: list[RawMessage]) -> bytes:
    parts = []
    for message in messages:
        topic = message.topic.encode()
        crc = zlib.crc32(message.payload, zlib.crc32(topic))
        parts += (
            HEADER.pack(len(topic), len(message.payload), message.received_us, crc),
            topic,
            message.payload,
        )
    return b"".join(parts)


def decode(data: bytes) -> tuple[list[RawMessage], bool]:
    """The records of a segment, and whether all of it was readable."""
    messages, position = [], 0
    while position < len(data):
        if position + HEADER.size > len(data):
            return messages, False
        topic_len, payload_len, received_us, crc = HEADER.unpack_from(data, position)
        start = position + HEADER.size
        topic, payload = (
            data[start : start + topic_len],
            data[start + topic_len : start + topic_len + payload_len],
        )
        if len(payload) != payload_len or zlib.crc32(payload, zlib.crc32(topic)) != crc:
            return messages, False
        messages.append(RawMessage(topic.decode(), payload, received_us))
        position = start + topic_len + payload_len
    return messages, True


class DiskBuffer:
    """Segments in `folder`, named by a sequence number so that their order is their names' order."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        for stale in self.folder.glob("*.tmp"):
            stale.unlink()  # a batch being written when the process died: never acknowledged
        self._next = max((int(p.stem) for p in self._segments()), default=0) + 1
        self.messages = sum(self._count(p) for p in self._segments())
        """Messages waiting in the buffer (a health figure)."""

    def _segments(self) -> list[Path]:
        return sorted(self.folder.glob(f"*{SUFFIX}"))

    @staticmethod
    def _count(path: Path) -> int:
        return len(decode(path.read_bytes())[0])

    @property
    def empty(self) -> bool:
        return not self._segments()

    @property
    def bytes(self) -> int:
        return sum(p.stat().st_size for p in self._segments())

    def append(self, messages: list[RawMessage]) -> None:
        """Keep a batch durably; only then may its messages be acknowledged."""
        final = self.folder / f"{self._next:012d}{SUFFIX}"
        temporary = final.with_suffix(".tmp")
        with open(temporary, "wb") as handle:
            handle.write(encode(messages))
            handle.flush()
            os.fsync(handle.fileno())
        os.rename(temporary, final)
        _fsync_folder(self.folder)
        self._next += 1
        self.messages += len(messages)

    def segments(self) -> Iterator[tuple[Path, list[RawMessage]]]:
        """Each segment with its messages, oldest first. A damaged segment yields what it could read
        and is moved to `corrupt/`."""
        for path in self._segments():
            messages, whole = decode(path.read_bytes())
            if not whole:
                corrupt = self.folder / "corrupt"
                corrupt.mkdir(exist_ok=True)
                os.rename(path, corrupt / path.name)
                _fsync_folder(self.folder)
                path = corrupt / path.name
            yield path, messages

    def remove(self, path: Path, count: int) -> None:
        """Forget a segment the warehouse has committed."""
        if path.parent == self.folder:
            path.unlink()
            _fsync_folder(self.folder)
        self.messages = max(0, self.messages - count)
