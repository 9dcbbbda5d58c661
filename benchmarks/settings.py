"""How long and how often each section measures: the full matrix, or a one-round smoke pass."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORK = HERE / ".work"


@dataclass(frozen=True)
class Settings:
    name: str
    # Fresh-process rounds per side for the in-process sections, alternating which side goes first.
    rounds: int
    # Measured time per scenario, per side, per round (the project's own scenarios and steps).
    budget_s: float
    # Measured time per upstream test, per side, per round; and the calls it makes at least.
    upstream_budget_s: float
    upstream_min_calls: int
    upstream_warmup_calls: int
    # The in-process parser benchmark (benchmarks.parsers): rounds and time per side per round.
    parser_rounds: int
    parser_budget_ms: float
    # End to end: rounds, seconds per wrk run, wrk's concurrent connections (each level is a
    # column of the matrix), seconds of warm-up per app and server (at the highest level).
    load_rounds: int
    load_seconds: int
    load_connections: tuple[int, ...]
    load_warmup_seconds: int
    # The (app, request) pairs loaded by wrk, by name (benchmarks.endtoend.run.LOADS); None: all of
    # them. Every app is served by every server and answers the correctness check either way.
    load_only: tuple[str, ...] | None
    charts: bool
    output: Path

    def with_rounds(self, rounds: int) -> Settings:
        return replace(self, rounds=rounds, parser_rounds=max(rounds, self.parser_rounds))


FULL = Settings(
    name="full",
    rounds=5,
    budget_s=0.15,
    upstream_budget_s=0.05,
    upstream_min_calls=2,
    upstream_warmup_calls=1,
    parser_rounds=9,
    parser_budget_ms=20.0,
    load_rounds=3,
    load_seconds=3,
    load_connections=(32, 256),
    load_warmup_seconds=1,
    load_only=None,
    charts=True,
    output=HERE,
)

SMOKE = Settings(
    name="smoke",
    rounds=1,
    budget_s=0.002,
    upstream_budget_s=0.0,
    upstream_min_calls=1,
    upstream_warmup_calls=0,
    parser_rounds=1,
    parser_budget_ms=1.0,
    load_rounds=1,
    load_seconds=1,
    load_connections=(8,),
    load_warmup_seconds=0,
    load_only=("starlette hello", "tachyon_engine hello"),
    charts=False,
    output=WORK / "smoke",
)
