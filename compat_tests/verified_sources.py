"""`python -m compat_tests.verified_sources`: records the stock sources of every supported release
and rewrites `tachyon_engine/engine/verified_sources.py` (`make verified-sources`).

Each release of `SUPPORTED_RELEASES` is installed alone into an overlay folder put first on
`PYTHONPATH` (the environment provides everything else), and `python -m tachyon_engine.engine.targets
record` prints the digests of every registered stock object there; the records are merged into
the module. Run it after porting a new release, then review the diff: every digest that changed
is a function whose new source the replacement must reproduce.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from compat_tests.__main__ import WORK, overlay_for

ROOT = Path(__file__).resolve().parent.parent
MODULE = ROOT / "tachyon_engine" / "engine" / "verified_sources.py"


def _supported() -> dict[str, tuple[str, ...]]:
    code = "import json; from tachyon_engine.engine.targets import SUPPORTED_RELEASES as s; print(json.dumps(s))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd="/")
    return {name: tuple(versions) for name, versions in json.loads(result.stdout).items()}


def _record(overlay: Path | None) -> dict[str, list[object]]:
    env = dict(os.environ)
    if overlay is not None:
        env["PYTHONPATH"] = str(overlay)
    command = [sys.executable, "-W", "ignore", "-m", "tachyon_engine.engine.targets", "record"]
    result = subprocess.run(command, capture_output=True, text=True, check=True, env=env, cwd="/")
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def main() -> int:
    with tempfile.TemporaryDirectory() as folder:
        paths = []
        for package, versions in _supported().items():
            for version in versions:
                print(f"recording {package} {version}", flush=True)
                paths.append(Path(folder) / f"{package}-{version}.json")
                paths[-1].write_text(json.dumps(_record(overlay_for(package, version))))
        merged = subprocess.run(
            [sys.executable, "-m", "tachyon_engine.engine.targets", "merge", *map(str, paths)],
            capture_output=True,
            text=True,
            check=True,
            cwd="/",
        )
    MODULE.write_text(merged.stdout)
    subprocess.run([sys.executable, "-m", "ruff", "format", "--quiet", str(MODULE)], check=True)
    print(f"wrote {MODULE.relative_to(ROOT)} ({len(paths)} releases recorded; overlays in {WORK / 'overlays'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
