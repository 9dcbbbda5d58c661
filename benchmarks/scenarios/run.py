"""Runs the project's own suites: per round and per scenario, one fresh worker process per side, the
side that goes first alternating from one scenario and one round to the next."""

from __future__ import annotations

from pathlib import Path

from benchmarks.comparison import CANDIDATE, REFERENCE, Comparison
from benchmarks.processes import alternating, run_worker
from benchmarks.results import Row, median
from benchmarks.scenarios.catalogue import SUITES
from benchmarks.settings import WORK, Settings

WORKER_TIMEOUT_S = 600
NOT_AVAILABLE = "not available yet: tachyon_engine.install() comes with a later issue"


def run(settings: Settings, log: Path, suites: list[str], install_available: bool) -> tuple[list[Row], list[str]]:
    """The rows of the given suites, and the crashes met on the way."""
    comparisons = {
        suite: Comparison(suite, None if suite != "fastapi" or install_available else NOT_AVAILABLE) for suite in suites
    }
    for round_index in range(settings.rounds):
        for suite in suites:
            print(f"  {suite} round {round_index + 1}/{settings.rounds}", flush=True)
            sides = (REFERENCE,) if comparisons[suite].unavailable else (REFERENCE, CANDIDATE)
            for case_index, case in enumerate(SUITES[suite]):
                for side in alternating(sides, round_index + case_index):
                    _run_case(settings, comparisons[suite], suite, case.name, side, round_index, log)
    rows: list[Row] = []
    crashes: list[str] = []
    for suite, comparison in comparisons.items():
        rows += comparison.rows({case.name: case.group for case in SUITES[suite]})
        crashes += comparison.crashes
    return rows, crashes


def _run_case(
    settings: Settings, comparison: Comparison, suite: str, case: str, side: str, round_index: int, log: Path
) -> None:
    output = WORK / f"scenario-{side}.json"
    result = run_worker(
        [
            *("-m", "benchmarks.scenarios.worker", suite, side, f"--case={case}"),
            *(f"--budget-s={settings.budget_s}", f"--out={output}"),
        ],
        output,
        log / f"scenario-{suite}-{side}.log",
        timeout_s=WORKER_TIMEOUT_S,
    )
    if result.data is None:
        comparison.crash(side, f"{suite} worker for {case!r}", result.error or "no output")
        return
    for name, record in result.data.items():
        comparison.add(
            round_index,
            side,
            record["group"],
            name,
            median(record.get("batches_ns", [])),
            record.get("digest"),
            record.get("error") or record.get("problem"),
        )
