"""Fetches a pinned source distribution from PyPI with pip, cached outside the repository."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from pathlib import Path

CACHE_DIR = Path(os.environ.get("TACHYON_SDIST_CACHE", Path.home() / ".cache" / "tachyon_engine" / "sdists"))


def fetch(name: str, version: str) -> Path:
    """The path of `name-version.tar.gz`, downloading it on first use."""
    archive = CACHE_DIR / f"{name}-{version}.tar.gz"
    if not archive.exists():
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "--no-binary",
                ":all:",
                "--dest",
                str(CACHE_DIR),
                f"{name}=={version}",
            ],
            check=True,
        )
    return archive


def extract(archive: Path, into: Path) -> Path:
    """Unpacks the archive into `into` and returns its top-level folder."""
    into.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
        top = tar.getnames()[0].split("/")[0]
    return into / top
