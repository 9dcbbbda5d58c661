"""The in-process parser micro-benchmark (`benchmarks.parsers`) as a section of the full run."""

from __future__ import annotations

from pathlib import Path

from benchmarks.processes import run_worker
from benchmarks.results import Row
from benchmarks.settings import WORK, Settings

SECTION = "parsers"


def run(settings: Settings, log: Path) -> tuple[list[Row], list[str]]:
    output = WORK / "parsers.json"
    result = run_worker(
        [
            *("-m", "benchmarks.parsers", f"--rounds={settings.parser_rounds}"),
            *(f"--budget-ms={settings.parser_budget_ms}", f"--json={output}"),
        ],
        output,
        log / "parsers.log",
        timeout_s=600,
    )
    if result.data is None:
        return [], [f"parsers: {result.error}"]
    return [
        Row(
            section=SECTION,
            group=SECTION,
            name=record["name"],
            stock_ns=record["stock_ns"],
            candidate_ns=record["candidate_ns"],
            correct=record["correct"],
        )
        for record in result.data
    ], []
