"""`python -m compat_tests [suite ...]`: upstream suites, stock vs tachyon_engine, one report each.

- starlette: Starlette's tests rewritten to import tachyon_engine instead of starlette.
- starlette-installed: Starlette's tests unchanged, with `tachyon_engine.install()` in every
  interpreter (`TACHYON_ENGINE_INSTALL=1`).
- fastapi: FastAPI's tests unchanged, with `tachyon_engine.install()` in every interpreter; the
  run must also prove the acceleration engaged (native route matches, JSON renders and parses,
  counted in Rust and summed over every interpreter). On the newest supported FastAPI (the
  environment's); `fastapi-oldest` and `fastapi-0.164` run older supported releases' suites on
  those releases, installed over the environment (`--target`, first on `PYTHONPATH`).

Exits non-zero when tachyon_engine fails a test that is neither an expected divergence
(listed with its reason in `expected_divergences/<suite>.txt`) nor failing on stock too.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compat_tests import rewrite, sdist
from compat_tests.report import Comparison, read_divergences, read_outcomes

# `tachyon_engine.engine.autoinstall`'s switches, spelled out: this runner must not import tachyon_engine
# (run from the repository root, the source folder would shadow the installed package).
ENV_INSTALL = "TACHYON_ENGINE_INSTALL"
ENV_STATS = "TACHYON_ENGINE_STATS"

HERE = Path(__file__).resolve().parent
# `TACHYON_COMPAT_WORK`: another work folder (`make compat-latest` keeps its own).
WORK = Path(os.environ.get("TACHYON_COMPAT_WORK", HERE / ".work"))


@dataclass(frozen=True)
class Suite:
    """An upstream test suite. `mode` "rewrite": Starlette's tests, rewritten to import
    tachyon_engine; "install": the tests as they are, run with `TACHYON_ENGINE_INSTALL=1` (the
    `.pth` hook calls `tachyon_engine.install()` in every interpreter, subprocesses included).
    `version` None: the release installed in the environment."""

    name: str
    package: str
    version: str | None
    mode: str
    divergences: str = ""  # the expected-divergences file's name (default: the suite's)


SUITES = {
    "starlette": Suite("starlette", "starlette", "1.10.0", "rewrite"),
    "starlette-installed": Suite("starlette-installed", "starlette", "1.10.0", "install"),
    "fastapi-oldest": Suite("fastapi-oldest", "fastapi", "0.163.2", "install", "fastapi"),
    "fastapi-0.164": Suite("fastapi-0.164", "fastapi", "0.164.0", "install", "fastapi"),
    "fastapi": Suite("fastapi", "fastapi", None, "install"),
}
# Suites run by default (`make compat`, CI), in this order: FastAPI's oldest and newest releases.
DEFAULT_SUITES = ["starlette", "starlette-installed", "fastapi-oldest", "fastapi"]
# What the candidate run's interpreters must have done natively, at least once in all.
ENGAGEMENT = ("route_native_matches", "json_renders", "json_parses", "form_parses")


def _privilege_drop() -> list[str]:
    """As root, file-permission tests cannot fail; run them without the capabilities that
    bypass permissions, so the suites see what an ordinary user sees."""
    if os.geteuid() == 0 and shutil.which("capsh"):
        return ["capsh", "--drop=cap_dac_override,cap_dac_read_search", "--", "-c", 'exec "$0" "$@"']
    return []


def prepare(suite: Suite, source: Path, *, candidate: bool) -> Path:
    """A folder holding the upstream tests and pytest configuration, rewritten for tachyon_engine
    when `candidate` is set and the suite is of the "rewrite" kind."""
    target = WORK / suite.name / ("tachyon_engine" if candidate else "stock")
    shutil.rmtree(target, ignore_errors=True)
    rewritten = candidate and suite.mode == "rewrite"
    if suite.mode == "install":
        # Everything the tests read (docs_src/, docs/, scripts/, ...) except the package's own
        # source, so that the installed package is the one under test.
        shutil.copytree(source, target, ignore=lambda folder, names: [suite.package] if folder == str(source) else [])
    else:
        shutil.copytree(source / "tests", target / "tests")
    config = rewrite.pytest_config(source / "pyproject.toml", rewrite=rewritten)
    (target / "pyproject.toml").write_text(config)
    if rewritten:
        rewrite.rewrite_tree(target / "tests")
    return target


@dataclass
class Run:
    outcomes: dict[str, str]
    seconds: float


def run_pytest(folder: Path, extra_args: list[str], env: dict[str, str]) -> Run:
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
    started = time.monotonic()
    result = subprocess.run(command, cwd=folder, env={**env, "PYTHONDONTWRITEBYTECODE": "1"})
    seconds = time.monotonic() - started
    # 0: all passed, 1: some failed (read from the report); anything else is a broken run.
    if result.returncode not in (0, 1) or not junit.exists():
        raise SystemExit(f"pytest did not complete in {folder} (exit code {result.returncode})")
    return Run(read_outcomes(junit), seconds)


def _environment(*, install: bool, stats: Path | None = None, overlay: Path | None = None) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("TACHYON_ENGINE_")}
    if overlay is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(overlay), env.get("PYTHONPATH")]))
    if install:
        env[ENV_INSTALL] = "1"
        if stats is not None:
            env[ENV_STATS] = str(stats)
    return env


def read_stats(stats: Path) -> list[dict[str, Any]]:
    """The records the candidate run's interpreters appended, one each (none if none reported)."""
    return [json.loads(line) for line in stats.read_text().splitlines()] if stats.exists() else []


def engagement(records: list[dict[str, Any]]) -> tuple[dict[str, int], list[str]]:
    """The native counts summed over every interpreter of the candidate run, and the problems:
    no interpreter reported, one ran without the installation, a native path never ran."""
    totals = dict.fromkeys(ENGAGEMENT, 0)
    problems = []
    if not records:
        problems.append(
            "no interpreter reported: TACHYON_ENGINE_INSTALL had no effect "
            "(is tachyon_engine installed with its .pth hook, by `pip install .`?)"
        )
    for record in records:
        if not record["installed"]:
            problems.append(f"an interpreter ran without install(): {record['argv']}")
        for name, count in record["counts"].items():
            totals[name] = totals.get(name, 0) + count
    totals["interpreters"] = len(records)
    problems += [f"native path never engaged: {name}" for name in ENGAGEMENT if records and not totals[name]]
    return totals, problems


def targets(
    records: list[dict[str, Any]], totals: dict[str, int]
) -> tuple[dict[str, tuple[str, int | None]], list[str]]:
    """Per target of `install()`'s registry: applied in every interpreter, or the distinct
    reasons it was skipped; with its engagement counter's total. A target whose stock source
    did not verify is a problem (on a supported release every one must)."""
    reasons: dict[str, set[str]] = {}
    engages: dict[str, str] = {}
    for record in records:
        engages.update(record.get("engages", {}))
        for target, value in record["patches"].items():
            found = reasons.setdefault(target, set())
            if not value.startswith("tachyon_engine"):
                found.add(value)
    report = {}
    for target, found in sorted(reasons.items()):
        status = "yes" if not found else "; ".join(sorted(found))
        counter = engages.get(target)
        report[target] = (status, None if counter is None else totals.get(counter, 0))
    problems = [
        f"{target}: {reason}"
        for target, found in reasons.items()
        for reason in found
        if "not a verified source" in reason
    ]
    return report, problems


def overlay_for(package: str, version: str) -> Path | None:
    """A folder holding `package==version` alone (no dependencies), to put first on `PYTHONPATH`
    when the environment has another release; None when it has this one."""
    if importlib.metadata.version(package) == version:
        return None
    target = WORK / "overlays" / f"{package}-{version}"
    if not (target / f"{package.replace('-', '_')}-{version}.dist-info").exists():
        shutil.rmtree(target, ignore_errors=True)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--no-deps",
                "--target",
                str(target),
                f"{package}=={version}",
            ],
            check=True,
        )
    return target


def run_suite(suite: Suite, extra_args: list[str]) -> Comparison:
    version = suite.version or importlib.metadata.version(suite.package)
    overlay = overlay_for(suite.package, version)
    archive = sdist.fetch(suite.package, version)
    shutil.rmtree(WORK / "src" / suite.name, ignore_errors=True)
    source = sdist.extract(archive, WORK / "src" / suite.name)
    stock_env = _environment(install=False, overlay=overlay)
    stock = run_pytest(prepare(suite, source, candidate=False), extra_args, stock_env)
    candidate_folder = prepare(suite, source, candidate=True)
    stats = candidate_folder / "native-counts.jsonl"
    candidate_env = _environment(install=suite.mode == "install", stats=stats, overlay=overlay)
    candidate = run_pytest(candidate_folder, extra_args, candidate_env)
    divergences = read_divergences(HERE / "expected_divergences" / f"{suite.divergences or suite.name}.txt")
    comparison = Comparison(
        f"{suite.name} {version}" + (" (tests unchanged, TACHYON_ENGINE_INSTALL=1)" if suite.mode == "install" else ""),
        stock.outcomes,
        candidate.outcomes,
        divergences,
        seconds=(stock.seconds, candidate.seconds),
    )
    if suite.mode == "install":
        records = read_stats(stats)
        comparison.engagement, comparison.problems = engagement(records)
        comparison.targets, unverified = targets(records, comparison.engagement)
        comparison.problems += unverified
    return comparison


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("suites", nargs="*", choices=[*SUITES, []], help=f"default: {' '.join(DEFAULT_SUITES)}")
    parser.add_argument("--pytest-args", default="", help="extra pytest arguments, space separated")
    args = parser.parse_args()
    failed = False
    for name in args.suites or DEFAULT_SUITES:
        comparison = run_suite(SUITES[name], args.pytest_args.split())
        report = comparison.markdown()
        (WORK / f"report-{name}.md").write_text(report)
        print(report, flush=True)
        failed |= not comparison.ok
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
