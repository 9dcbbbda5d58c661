"""`python -m benchmarks`: the whole side-by-side matrix, stock Starlette / FastAPI vs tachyon_engine,
written to benchmarks/RESULTS.md with charts in benchmarks/charts/.

`--smoke` runs every section once with tiny budgets (no charts, report in benchmarks/.work/smoke/):
it proves the runner works and exits non-zero if a scenario crashes or any output differs.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from dataclasses import replace
from pathlib import Path

import tachyon_engine
from benchmarks import charts, parser_section
from benchmarks.endtoend import run as endtoend
from benchmarks.environment import describe, extension_digest
from benchmarks.harness import require_release_build
from benchmarks.report import Outcome, render
from benchmarks.scenarios import run as scenarios
from benchmarks.settings import FULL, SMOKE, WORK
from benchmarks.upstream import run as upstream

SECTIONS = ("parsers", "steps", "apps", "fastapi", "upstream", "endtoend")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="one round, tiny budgets, no charts")
    parser.add_argument("--rounds", type=int, help="rounds per side (default: 5, smoke: 1)")
    parser.add_argument("--load-rounds", type=int, help="end-to-end rounds (default: 3, smoke: 1)")
    parser.add_argument("--load-seconds", type=int, help="seconds per wrk run, end to end (default: 3, smoke: 1)")
    parser.add_argument("--sections", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    parser.add_argument("--output", type=Path, help="where RESULTS.md goes (a partial run: benchmarks/.work/partial)")
    args = parser.parse_args()
    require_release_build()

    settings = SMOKE if args.smoke else FULL
    if args.rounds:
        settings = settings.with_rounds(args.rounds)
    if args.load_rounds:
        settings = replace(settings, load_rounds=args.load_rounds)
    if args.load_seconds:
        settings = replace(settings, load_seconds=args.load_seconds)
    partial = set(args.sections) != set(SECTIONS)
    output = args.output or (WORK / "partial" if partial and not args.smoke else settings.output)
    settings = replace(settings, output=output)
    log = WORK / "logs" / settings.name
    install_available = hasattr(tachyon_engine, "install")

    started = time.monotonic()
    outcome = Outcome(
        settings=settings,
        environment=describe(tachyon_engine.build_profile()),
        command=shlex.join(["python", "-m", "benchmarks", *sys.argv[1:]]),
        sections=list(args.sections),
    )
    print(f"benchmarks ({settings.name}): {', '.join(args.sections)}; logs in {log}", flush=True)
    for section in args.sections:
        section_started = time.monotonic()
        print(f"- {section}", flush=True)
        outcome.environment.sample_load()
        if section == "parsers":
            rows, crashes = parser_section.run(settings, log)
        elif section == "upstream":
            rows, crashes = upstream.run(settings, log)
        elif section == "endtoend":
            outcome.end_to_end = endtoend.run(settings, log)
            rows, crashes = [], outcome.end_to_end.crashes
        else:
            rows, crashes = scenarios.run(settings, log, [section], install_available)
        outcome.rows += rows
        outcome.crashes += crashes
        print(f"  {section}: {time.monotonic() - section_started:.0f} s", flush=True)
    outcome.environment.sample_load()
    outcome.environment.extension_at_end = extension_digest()
    outcome.elapsed_s = time.monotonic() - started

    output.mkdir(parents=True, exist_ok=True)
    if settings.charts:
        folder = output / "charts"
        outcome.charts = [
            (title, f"{folder.name}/{name}") for title, name in charts.draw(outcome.rows, outcome.end_to_end, folder)
        ]
    report = output / "RESULTS.md"
    report.write_text(render(outcome))
    print(f"wrote {report} in {outcome.elapsed_s / 60:.1f} minutes", flush=True)
    return _verdict(outcome)


def _verdict(outcome: Outcome) -> int:
    if outcome.ok:
        return 0
    for crash in outcome.crashes:
        print(f"CRASH: {crash}", file=sys.stderr)
    for row in [*outcome.all_rows, *(outcome.end_to_end.failed if outcome.end_to_end else [])]:
        if row.correct is False:
            print(f"OUTPUT DIFFERS OR FAILED: {row.label}: {row.note}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
