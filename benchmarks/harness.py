"""Timing harness shared by the benchmark scripts: alternating rounds, medians, ratios, and
a correctness flag beside every figure."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import tachyon_engine


def require_release_build() -> None:
    profile = tachyon_engine.build_profile()
    if profile != "release":
        raise SystemExit(f"refusing to benchmark a {profile} build of tachyon_engine._core: install a release build")


@dataclass
class Scenario:
    name: str
    stock: Callable[[], Any]
    candidate: Callable[[], Any]
    # Turns a result into something comparable (e.g. dict items, to compare order too).
    normalise: Callable[[Any], Any] = lambda result: result


@dataclass
class Result:
    name: str
    stock_ns: float
    candidate_ns: float
    correct: bool

    @property
    def speedup(self) -> float:
        return self.stock_ns / self.candidate_ns


def _per_call_ns(function: Callable[[], Any], iterations: int) -> float:
    start = time.perf_counter_ns()
    for _ in range(iterations):
        function()
    return (time.perf_counter_ns() - start) / iterations


def _iterations_for(function: Callable[[], Any], budget_ns: float) -> int:
    """Enough calls to fill about `budget_ns`, at least one."""
    single = max(_per_call_ns(function, 10), 1.0)
    return max(1, int(budget_ns / single))


def measure(scenario: Scenario, rounds: int, budget_ns: float = 20_000_000) -> Result:
    """Median per-call time of both sides over `rounds` rounds, alternating which side goes
    first, and whether both sides give the same answer."""
    correct = scenario.normalise(scenario.stock()) == scenario.normalise(scenario.candidate())
    sides = [scenario.stock, scenario.candidate]
    iterations = [_iterations_for(side, budget_ns) for side in sides]
    samples: list[list[float]] = [[], []]
    for round_index in range(rounds):
        order = (0, 1) if round_index % 2 == 0 else (1, 0)
        for side in order:
            samples[side].append(_per_call_ns(sides[side], iterations[side]))
    return Result(scenario.name, statistics.median(samples[0]), statistics.median(samples[1]), correct)


def table(results: list[Result]) -> str:
    lines = [
        "| scenario | Starlette (ns) | tachyon_engine (ns) | speedup | same output |",
        "|---|---:|---:|---:|:---:|",
    ]
    for r in results:
        same = "yes" if r.correct else "NO"
        lines.append(f"| {r.name} | {r.stock_ns:,.0f} | {r.candidate_ns:,.0f} | {r.speedup:.2f}x | {same} |")
    return "\n".join(lines)
