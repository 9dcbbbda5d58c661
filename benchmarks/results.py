"""What every section of the benchmark produces: rows of stock vs tachyon_engine figures, each with
its correctness flag, and the statistics used to reduce samples to one figure."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

# A ratio within this band of 1.0 is reported as "no measurable difference", not as a win or a loss.
NOISE_BAND = 0.05


@dataclass
class Row:
    """One scenario measured on both stacks: median time per operation, and whether the
    candidate's output equalled the reference's in the same run."""

    section: str
    group: str
    name: str
    stock_ns: float | None
    candidate_ns: float | None
    # None when there is nothing to compare (the candidate is not available yet).
    correct: bool | None
    note: str = ""
    # Per-round medians, kept for the raw results file.
    stock_rounds: list[float] = field(default_factory=list)
    candidate_rounds: list[float] = field(default_factory=list)

    @property
    def label(self) -> str:
        where = self.section if self.group == self.section else f"{self.section} / {self.group}"
        return f"{where}: {self.name}"

    @property
    def speedup(self) -> float | None:
        if not self.stock_ns or not self.candidate_ns:
            return None
        return self.stock_ns / self.candidate_ns

    @property
    def crashed(self) -> bool:
        return self.note.startswith("error")


@dataclass
class LoadRow:
    """One end-to-end load run: a server, a path, both stacks."""

    server: str
    path: str
    stock_rps: float | None
    candidate_rps: float | None
    stock_p50_ms: float | None
    candidate_p50_ms: float | None
    stock_p99_ms: float | None
    candidate_p99_ms: float | None
    correct: bool | None
    note: str = ""
    # wrk's concurrent connections (None: the one level of the run).
    connections: int | None = None

    @property
    def label(self) -> str:
        level = "" if self.connections is None else f" c{self.connections}"
        return f"end to end / {self.server}{level}: {self.path}"

    @property
    def speedup(self) -> float | None:
        if not self.stock_rps or not self.candidate_rps:
            return None
        return self.candidate_rps / self.stock_rps

    @property
    def crashed(self) -> bool:
        return self.note.startswith("error")


@dataclass
class ServerLoad:
    """One app's request on one server at one concurrency, end to end: medians over rounds, the
    server's memory after the load, and whether its answer equalled the reference answer."""

    app: str
    request: str
    server: str
    connections: int
    rps: float | None
    p50_ms: float | None
    p99_ms: float | None
    # VmRSS of the server and its child processes after each run, in MiB; the median.
    rss_mib: float | None
    correct: bool | None
    note: str = ""
    rounds_rps: list[float] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"end to end / {self.server} c{self.connections}: {self.app} {self.request}"

    @property
    def crashed(self) -> bool:
        return self.note.startswith("error")


def median(values: Iterable[float]) -> float | None:
    values = list(values)
    return statistics.median(values) if values else None


def geometric_mean(values: Iterable[float]) -> float | None:
    values = [value for value in values if value > 0]
    if not values:
        return None
    return math.exp(sum(math.log(value) for value in values) / len(values))


def verdict(speedup: float | None) -> str:
    if speedup is None:
        return "n/a"
    if speedup < 1 - NOISE_BAND:
        return "slower"
    if speedup > 1 + NOISE_BAND:
        return "faster"
    return "on par"


def as_dict(row: Row | LoadRow) -> dict[str, Any]:
    data = asdict(row)
    data["speedup"] = row.speedup
    return data
