"""`python -m compat_tests [suite ...]`: upstream suites, stock vs tachyon_engine, one report each.

Exits non-zero when tachyon_engine fails a test that is neither an expected divergence
(listed with its reason in `expected_divergences/<suite>.txt`) nor failing on stock too.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from compat_tests import rewrite, sdist
from compat_tests.report import Comparison, read_divergences, read_outcomes

HERE = Path(__file__).resolve().parent
WORK = HERE / ".work"


@dataclass(frozen=True)
class Suite:
    name: str
    version: str


SUITES = {"starlette": Suite("starlette", "1.10.0")}


def _privilege_drop() -> list[str]:
    """As root, file-permission tests cannot fail; run them without the capabilities that
    bypass permissions, so the suites see what an ordinary user sees."""
    if os.geteuid() == 0 and shutil.which("capsh"):
        return ["capsh", "--drop=cap_dac_override,cap_dac_read_search", "--", "-c", 'exec "$0" "$@"']
    return []


def prepare(suite: Suite, source: Path, *, candidate: bool) -> Path:
    """A folder holding the upstream tests and pytest configuration, rewritten for tachyon_engine
    when `candidate` is set."""
    target = WORK / suite.name / ("tachyon_engine" if candidate else "stock")
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source / "tests", target / "tests")
    config = rewrite.pytest_config(source / "pyproject.toml", rewrite=candidate)
    (target / "pyproject.toml").write_text(config)
    if candidate:
        rewrite.rewrite_tree(target / "tests")
    return target


def run_pytest(folder: Path, extra_args: list[str]) -> dict[str, str]:
    junit = folder / "junit.xml"
    command = [
        *_privilege_drop(),
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "-q",
        "--no-header",
        "-o",
        "junit_family=xunit1",
        f"--junitxml={junit}",
        *extra_args,
    ]
    print(f"$ (cd {folder.relative_to(HERE.parent)} && {' '.join(command)})", flush=True)
    result = subprocess.run(command, cwd=folder, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    # 0: all passed, 1: some failed (read from the report); anything else is a broken run.
    if result.returncode not in (0, 1) or not junit.exists():
        raise SystemExit(f"pytest did not complete in {folder} (exit code {result.returncode})")
    return read_outcomes(junit)


def run_suite(suite: Suite, extra_args: list[str]) -> Comparison:
    archive = sdist.fetch(suite.name, suite.version)
    shutil.rmtree(WORK / "src" / suite.name, ignore_errors=True)
    source = sdist.extract(archive, WORK / "src" / suite.name)
    stock = run_pytest(prepare(suite, source, candidate=False), extra_args)
    candidate = run_pytest(prepare(suite, source, candidate=True), extra_args)
    divergences = read_divergences(HERE / "expected_divergences" / f"{suite.name}.txt")
    return Comparison(f"{suite.name} {suite.version}", stock, candidate, divergences)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("suites", nargs="*", choices=[*SUITES, []], help="default: all")
    parser.add_argument("--pytest-args", default="", help="extra pytest arguments, space separated")
    args = parser.parse_args()
    failed = False
    for name in args.suites or list(SUITES):
        comparison = run_suite(SUITES[name], args.pytest_args.split())
        report = comparison.markdown()
        (WORK / f"report-{name}.md").write_text(report)
        print(report, flush=True)
        failed |= not comparison.ok
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
