"""Run by the `tachyon_engine_install.pth` hook at interpreter start when `TACHYON_ENGINE_INSTALL` is on.

`TACHYON_ENGINE_INSTALL=1` (or `true`, `yes`, `on`) calls `tachyon_engine.install()` in every
interpreter of the environment, subprocesses included, before any application code runs.
`TACHYON_ENGINE_STATS=<file>` additionally appends, at exit, one JSON line per interpreter with
its `native_counts()`, `installed_patches()` and each target's counter (how compat_tests proves
engagement, target by target).
"""

from __future__ import annotations

import atexit
import json
import os
import sys

ENV_INSTALL = "TACHYON_ENGINE_INSTALL"
ENV_STATS = "TACHYON_ENGINE_STATS"


def enabled(environ: dict[str, str] | os._Environ[str] = os.environ) -> bool:
    return environ.get(ENV_INSTALL, "").strip().lower() in {"1", "true", "yes", "on"}


def _write_stats(path: str) -> None:
    import tachyon_engine
    from tachyon_engine.engine.targets import PATCHES

    record = {
        "pid": os.getpid(),
        "argv": sys.argv[:3],
        "installed": tachyon_engine.is_installed(),
        "counts": tachyon_engine.native_counts(),
        "patches": tachyon_engine.installed_patches(),
        "engages": {patch.name: patch.engages for patch in PATCHES if patch.engages},
    }
    with open(path, "a", encoding="utf-8") as stats:
        stats.write(json.dumps(record) + "\n")


_started = False


def main() -> None:
    # Once per interpreter: `site` may process the hook twice (a venv's lib64 -> lib link).
    global _started
    if _started or not enabled():
        return
    _started = True
    import tachyon_engine

    tachyon_engine.install()
    path = os.environ.get(ENV_STATS)
    if path:
        atexit.register(_write_stats, path)
