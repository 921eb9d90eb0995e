#!/usr/bin/env python3
"""Start the real servers the tests need, run a command, stop what was started.

    python scripts/test_servers.py run -- python -m pytest   # what `make test` and CI do
    python scripts/test_servers.py start                      # start what is missing, print where
    python scripts/test_servers.py stop                       # stop every private server started here

PostgreSQL, MariaDB and Mosquitto already running on the machine are used as they are; Samba and
OpenSSH always run privately on 127.0.0.1 (see domotic_assets_tests/servers). Missing Debian
packages are installed when run as root.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

from domotic_assets_tests import servers


def start_all() -> None:
    for name in servers.NAMES:
        began = time.perf_counter()
        info = servers.ensure(name)
        where = info.get("url") or info.get("dsn", "").split("@")[-1] or f"127.0.0.1:{info.get('port')}"
        how = "started" if info.get("started_by") == os.getpid() else "in use"
        print(f"test servers: {name:<9} {how:<7} {where} ({time.perf_counter() - began:.1f} s)", flush=True)


def main(argv: list[str]) -> int:
    if argv[:1] == ["start"]:
        start_all()
        return 0
    if argv[:1] == ["stop"]:
        print("test servers: stopped " + (", ".join(servers.stop_started()) or "nothing"))
        return 0
    if argv[:1] == ["run"] and argv[1:2] == ["--"] and argv[2:]:
        try:
            start_all()
            return subprocess.call(argv[2:])
        except KeyboardInterrupt:
            return 130
        finally:
            stopped = servers.stop_started(os.getpid())
            print("test servers: stopped " + (", ".join(stopped) or "nothing (all were already running)"))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
