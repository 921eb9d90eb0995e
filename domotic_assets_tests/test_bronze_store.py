"""The Bronze file store alone: a copy appears whole or not at all, never overwrites, and versions a changed
content."""

import os
import signal
import subprocess
import sys

from domotic_assets.ingest import bronze_store


def test_a_copy_is_stored_once_and_a_changed_content_becomes_a_new_version(tmp_path):
    first = bronze_store.store_immutable(tmp_path, "jimmy/2023/08/18/12/a.json", b'{"v": 1}')
    again = bronze_store.store_immutable(tmp_path, "jimmy/2023/08/18/12/a.json", b'{"v": 1}')
    changed = bronze_store.store_immutable(tmp_path, "jimmy/2023/08/18/12/a.json", b'{"v": 2}')
    assert (first, again, changed) == ("jimmy/2023/08/18/12/a.json",) * 2 + ("jimmy/2023/08/18/12/a.v2.json",)
    assert (tmp_path / first).read_bytes() == b'{"v": 1}'
    assert (tmp_path / changed).read_bytes() == b'{"v": 2}'
    assert oct((tmp_path / first).stat().st_mode & 0o777) == oct(0o666 & ~_umask())
    names = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert names == [first, changed], "no temporary is left beside the copies"


WRITER = """
import os, sys, time
from pathlib import Path
from domotic_assets.ingest import bronze_store
data = b"x" * (64 << 20)
def half_then_wait(write):
    def slow(fd, data):
        write(fd, data[: len(data) // 2])
        print("half", flush=True)
        time.sleep(60)
    return slow
os.write = half_then_wait(os.write)
bronze_store.store_immutable(Path(sys.argv[1]), "jimmy/2023/08/18/12/big.json", data)
"""


def test_a_writer_killed_half_way_leaves_no_copy_a_reader_could_take(tmp_path):
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    assert writer.stdout.readline().strip() == "half"
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait()
    assert not (tmp_path / "jimmy/2023/08/18/12/big.json").exists()
    assert bronze_store.sweep_incoming(tmp_path) == 1, "the killed writer's temporary is swept"
    assert not [p for p in tmp_path.rglob("*") if p.is_file()], "nothing half-written remains"


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def test_missing_files_are_named_from_one_listing_per_folder(tmp_path):
    kept = bronze_store.store_immutable(tmp_path, "jimmy/2023/08/18/12/a.json", b"{}")
    lost = bronze_store.store_immutable(tmp_path, "jimmy/2023/08/18/12/b.json", b"[]")
    (tmp_path / lost).unlink()
    (tmp_path / "jimmy/2023/08/18/13/c.json").mkdir(parents=True)  # a folder where a file should be
    recorded = [kept, lost, "jimmy/2023/08/18/13/c.json", "jeremie/2023/08/18/12/d.json"]
    assert bronze_store.missing_files(tmp_path, recorded) == recorded[1:]
