"""Installing Debian packages the platform's own commands need (server binaries), when allowed."""

from __future__ import annotations

import os
import shutil
import subprocess


def apt_install(*packages: str) -> None:
    """Install with apt-get as root; otherwise say clearly what is missing."""
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise RuntimeError(
            f"missing {' '.join(packages)}, and it cannot be installed here (needs root and apt-get)"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=False, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", *packages], check=True, env=env)
