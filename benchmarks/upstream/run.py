"""Runs Starlette's own benchmark modules on both stacks: per round and per module, one fresh
pytest process per side in alternating order, each test timed by the `upstream_timer` plugin."""

from __future__ import annotations

import statistics
from pathlib import Path

from benchmarks.comparison import CANDIDATE, REFERENCE, Comparison
from benchmarks.processes import alternating, run_worker
from benchmarks.results import Row
from benchmarks.settings import Settings
from benchmarks.upstream.prepare import UPSTREAM, modules, prepare

SECTION = "upstream"
PLUGIN_FOLDER = Path(__file__).resolve().parent / "pytest_plugin"
SIDE_FOLDERS = {REFERENCE: "starlette", CANDIDATE: "tachyon_engine"}
PYTEST_TIMEOUT_S = 600


def run(settings: Settings, log: Path) -> tuple[list[Row], list[str]]:
    """The rows, one per upstream test, and the crashes met on the way."""
    folders = prepare()
    comparison = Comparison(SECTION)
    scenario_modules = modules(folders["starlette"])
    for round_index in range(settings.rounds):
        for module in scenario_modules:
            for side in alternating((REFERENCE, CANDIDATE), round_index):
                print(
                    f"  upstream round {round_index + 1}/{settings.rounds}: {module} on {SIDE_FOLDERS[side]}",
                    flush=True,
                )
                _run_module(settings, comparison, folders[SIDE_FOLDERS[side]], module, side, round_index, log)
    return comparison.rows(), comparison.crashes


def _run_module(
    settings: Settings,
    comparison: Comparison,
    folder: Path,
    module: str,
    side: str,
    round_index: int,
    log: Path,
) -> None:
    output = UPSTREAM / f"timings-{SIDE_FOLDERS[side]}.json"
    result = run_worker(
        [
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            # pytest-codspeed is installed (its module is imported by the scenarios) but its
            # fixture is replaced by the timer's.
            "-p",
            "no:codspeed",
            "-p",
            "upstream_timer",
            f"--timer-json={output}",
            f"--timer-budget={settings.upstream_budget_s}",
            f"--timer-min-calls={settings.upstream_min_calls}",
            f"--timer-warmup-calls={settings.upstream_warmup_calls}",
            # The same temporary paths on both sides: FileResponse's pathsend messages carry them.
            f"--basetemp={UPSTREAM / 'tmp'}",
            module,
        ],
        output,
        log / f"upstream-{SIDE_FOLDERS[side]}-{Path(module).stem}.log",
        timeout_s=PYTEST_TIMEOUT_S,
        cwd=folder,
        env={"PYTHONPATH": str(PLUGIN_FOLDER)},
    )
    group = Path(module).stem.removesuffix("_benchmark")
    if result.data is None or result.returncode not in (0, 1):
        comparison.crash(side, module, result.error or f"pytest exit code {result.returncode}")
        return
    for nodeid, record in result.data.items():
        samples = record.get("samples_ns") or []
        problem = None if record.get("outcome") == "passed" else record.get("error", record.get("outcome"))
        comparison.add(
            round_index,
            side,
            group,
            nodeid.split("::", 1)[-1].removeprefix("test_"),
            statistics.median(samples) if samples else None,
            record.get("digest"),
            problem,
        )
