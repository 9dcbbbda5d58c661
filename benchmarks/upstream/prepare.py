"""Starlette's benchmark scenarios, fetched from its sdist at run time (never committed), as two
ready-to-run folders: stock, and rewritten for tachyon_engine by the compat suite's rewrite."""

from __future__ import annotations

import shutil
from pathlib import Path

from benchmarks.settings import WORK
from compat_tests import rewrite, sdist

STARLETTE_VERSION = "1.10.0"
UPSTREAM = WORK / "upstream"
SIDES = ("starlette", "tachyon_engine")


def prepare() -> dict[str, Path]:
    """Maps each side to a folder holding `benchmarks/` and a pytest configuration."""
    archive = sdist.fetch("starlette", STARLETTE_VERSION)
    shutil.rmtree(UPSTREAM, ignore_errors=True)
    source = sdist.extract(archive, UPSTREAM / "src")
    folders = {}
    for side in SIDES:
        candidate = side == "tachyon_engine"
        folder = UPSTREAM / side
        shutil.copytree(source / "benchmarks", folder / "benchmarks")
        (folder / "pyproject.toml").write_text(rewrite.pytest_config(source / "pyproject.toml", rewrite=candidate))
        if candidate:
            rewrite.rewrite_tree(folder / "benchmarks")
        folders[side] = folder
    return folders


def modules(folder: Path) -> list[str]:
    """The scenario modules, as paths relative to the side's folder."""
    return sorted(path.relative_to(folder).as_posix() for path in (folder / "benchmarks").glob("*_benchmark.py"))
