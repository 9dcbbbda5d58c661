"""The end-to-end targets: ratios between two measurements of the same run, each met or not."""

from __future__ import annotations

from dataclasses import dataclass, field

from benchmarks.endtoend.run import APP_BY_NAME, LOADS, REQUEST_WORDS, REQUESTS, EndToEnd
from benchmarks.results import ServerLoad


@dataclass(frozen=True)
class Side:
    app: str
    request: str
    server: str

    @property
    def title(self) -> str:
        return f"{APP_BY_NAME[self.app].title} {REQUEST_WORDS[self.request]} on {self.server}"


@dataclass(frozen=True)
class Goal:
    subject: Side
    baseline: Side
    # The ratio that meets the goal: subject req/s / baseline req/s, or for a latency goal,
    # baseline p99 / subject p99 (so that above 1 is better either way).
    at_least: float
    # A p99 goal, judged at the highest concurrency only; otherwise throughput, at every level.
    latency: bool = False

    @property
    def text(self) -> str:
        if self.latency:
            what = f"{APP_BY_NAME[self.subject.app].title} {REQUEST_WORDS[self.subject.request]}"
            return f"{what}: p99 on {self.subject.server} vs {self.baseline.server}"
        return f"{self.subject.title} vs {self.baseline.title}"

    @property
    def wanted(self) -> str:
        return f"<= {self.baseline.server}'s" if self.latency else f">= {self.at_least:g}x"


def _goal(subject: tuple[str, str, str], baseline: tuple[str, str, str], at_least: float) -> Goal:
    return Goal(Side(*subject), Side(*baseline), at_least)


# The targets, in its order.
GOALS = (
    _goal(("raw", "hello", "tachyon"), ("raw", "hello", "granian"), 2.0),
    _goal(("raw", "hello", "tachyon"), ("raw", "hello", "uvicorn"), 2.0),
    _goal(("tachyon_engine", "hello", "tachyon"), ("starlette", "hello", "uvicorn"), 3.0),
    _goal(("tachyon_engine", "hello", "tachyon"), ("tachyon_engine", "hello", "granian"), 2.0),
    _goal(("tachyon_engine", "params", "tachyon"), ("starlette", "params", "uvicorn"), 2.5),
    _goal(("fastapi_install", "hello", "tachyon"), ("fastapi", "hello", "uvicorn"), 3.0),
    _goal(("fastapi_install", "hello", "tachyon"), ("fastapi_install", "hello", "granian"), 1.5),
    *(
        Goal(Side(load.app.name, load.request, "tachyon"), Side(load.app.name, load.request, "uvicorn"), 1.0, True)
        for load in LOADS
    ),
)
assert all(side.request in REQUESTS for goal in GOALS for side in (goal.subject, goal.baseline))


@dataclass
class Outcome:
    goal: Goal
    # Per concurrency judged: the ratio (None: not measured), and the figures it comes from.
    ratios: dict[int, float | None] = field(default_factory=dict)
    figures: dict[int, str] = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        judged = {level: value for level, value in self.ratios.items() if value is not None}
        if not judged:
            return "n/a"
        missed = [f"c{level}" for level, value in judged.items() if value < self.goal.at_least]
        if not missed:
            return "met"
        return "**not met**" if len(missed) == len(judged) else f"**not met** at {', '.join(missed)}"

    @property
    def met(self) -> bool | None:
        verdict = self.verdict
        return None if verdict == "n/a" else verdict == "met"


def evaluate(result: EndToEnd) -> list[Outcome]:
    outcomes = []
    for goal in GOALS:
        outcome = Outcome(goal)
        levels = result.connections[-1:] if goal.latency else result.connections
        for level in levels:
            subject = _measured(result, goal.subject, level)
            baseline = _measured(result, goal.baseline, level)
            if subject is None or baseline is None:
                outcome.ratios[level] = None
            elif goal.latency:
                assert subject.p99_ms is not None and baseline.p99_ms is not None
                outcome.ratios[level] = baseline.p99_ms / subject.p99_ms if subject.p99_ms else None
                outcome.figures[level] = f"{subject.p99_ms:.2f} vs {baseline.p99_ms:.2f} ms"
            else:
                assert subject.rps is not None and baseline.rps is not None
                outcome.ratios[level] = subject.rps / baseline.rps if baseline.rps else None
                outcome.figures[level] = f"{subject.rps:,.0f} / {baseline.rps:,.0f} req/s"
        outcomes.append(outcome)
    return outcomes


def _measured(result: EndToEnd, side: Side, level: int) -> ServerLoad | None:
    """The measurement, if it was loaded and answered correctly (a ratio to a wrong answer means nothing)."""
    load = result.find(side.app, side.request, side.server, level)
    if load is None or not load.correct or load.rps is None or load.p99_ms is None:
        return None
    return load
