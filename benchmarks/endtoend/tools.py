"""The load generators and clients of the end-to-end section, installed from Debian when
missing (as root)."""

from __future__ import annotations

import os
import shutil
import subprocess


def ensure(command: str, package: str) -> tuple[str | None, str]:
    """The command's path, or None and why it is not there."""
    path = shutil.which(command)
    if path:
        return path, ""
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return (
            None,
            f"{command} is not installed, and installing it needs root and apt-get (`apt-get install {package}`)",
        )
    print(f"  installing {command}: apt-get update && apt-get install -y {package}", flush=True)
    try:
        subprocess.run(["apt-get", "update", "-qq"], check=True, timeout=300, capture_output=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", package], check=True, timeout=300, capture_output=True)
    except (subprocess.SubprocessError, OSError) as exc:
        return None, f"{command} could not be installed: {exc}"
    path = shutil.which(command)
    return (path, "") if path else (None, f"{command} is still missing after apt-get install {package}")
