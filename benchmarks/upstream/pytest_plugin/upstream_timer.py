"""A stand-in for pytest-codspeed's `benchmark` fixture, for Starlette's own benchmark scenarios.

It calls the measured function in a loop until a time budget is spent, and writes, per test, the
nanoseconds of every measured call, the test's outcome and a digest of the last call's result to
a JSON file, so that `python -m benchmarks` can compare stock Starlette with tachyon_engine.

Loaded by its top-level name (`-p upstream_timer`, with this folder on PYTHONPATH) and importing
nothing from this repository: the upstream suite brings its own package named `benchmarks`.
"""

from __future__ import annotations

import importlib.util
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

_RECORDER = pytest.StashKey["Recorder"]()


def _load_digest() -> Callable[[object], str]:
    # Shared with the project's own scenarios, but loaded from its file: this plugin cannot
    # import the repository's `benchmarks` package, whose name the upstream suite's package takes.
    path = Path(__file__).resolve().parents[2] / "digest.py"
    spec = importlib.util.spec_from_file_location("benchmark_digest", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    function: Callable[[object], str] = module.digest
    return function


digest = _load_digest()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("upstream timer")
    group.addoption("--timer-json", required=True, help="where to write the measurements")
    group.addoption("--timer-budget", type=float, default=0.1, help="seconds of measured calls per test")
    group.addoption("--timer-min-calls", type=int, default=2, help="measured calls per test, at least")
    group.addoption("--timer-warmup-calls", type=int, default=1, help="unmeasured calls before the measured ones")
    group.addoption("--timer-max-calls", type=int, default=100_000, help="measured calls per test, at most")


def pytest_configure(config: pytest.Config) -> None:
    # pytest-codspeed's marker; its options are ignored, the timer's budget applies.
    config.addinivalue_line("markers", "benchmark(**options): pytest-codspeed benchmark options (ignored)")
    recorder = Recorder(Path(config.getoption("--timer-json")))
    config.stash[_RECORDER] = recorder
    config.pluginmanager.register(recorder, "upstream-timer-recorder")


class Recorder:
    """Collects one record per test and writes them all when the session ends."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.records: dict[str, dict[str, Any]] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "call" and not report.failed:
            return
        record = self.records.setdefault(report.nodeid, {})
        if record.get("outcome") in (None, "passed"):
            record["outcome"] = report.outcome
        if report.failed:
            last_line = (report.longreprtext.strip().splitlines() or [""])[-1]
            record.setdefault("error", f"{report.when}: {last_line}")

    def pytest_sessionfinish(self) -> None:
        self.path.write_text(json.dumps(self.records, indent=1))


class Timer:
    """What the upstream tests call as `benchmark(...)` or `benchmark.pedantic(...)`."""

    def __init__(self, budget_s: float, min_calls: int, max_calls: int, warmup_calls: int) -> None:
        self.extra_info: dict[str, Any] = {}
        self.samples_ns: list[int] = []
        self.digest: str | None = None
        self._budget_ns = budget_s * 1e9
        # Setup and teardown are not timed; bound the wall time they may add.
        self._wall_limit_ns = max(self._budget_ns * 4, 1e9)
        self._min_calls = max(1, min_calls)
        self._max_calls = max(self._min_calls, max_calls)
        # Most upstream tests measure a single call of a fresh app: a warm-up call keeps lazy
        # one-time work (middleware stacks, route indexes) out of the steady-state figure.
        self._warmup_calls = warmup_calls

    def __call__(self, target: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return self.pedantic(target, args=args, kwargs=kwargs)

    def pedantic(
        self,
        target: Callable[..., Any],
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
        setup: Callable[..., Any] | None = None,
        teardown: Callable[..., Any] | None = None,
        rounds: int = 1,
        warmup_rounds: int = 0,
        iterations: int = 1,
    ) -> Any:
        kwargs = kwargs or {}
        for _ in range(self._warmup_calls):
            self._call(target, args, kwargs, setup, teardown)
        started = time.perf_counter_ns()
        while True:
            result, elapsed_ns = self._call(target, args, kwargs, setup, teardown)
            self.samples_ns.append(elapsed_ns)
            if self._done(time.perf_counter_ns() - started):
                break
        self.digest = digest(result)
        return result

    @staticmethod
    def _call(
        target: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        setup: Callable[..., Any] | None,
        teardown: Callable[..., Any] | None,
    ) -> tuple[Any, int]:
        """One call of the target, between its setup and teardown; only the call is timed."""
        if setup is not None:
            prepared = setup(*args, **kwargs)
            if prepared is not None:
                args, kwargs = prepared
        before = time.perf_counter_ns()
        result = target(*args, **kwargs)
        elapsed_ns = time.perf_counter_ns() - before
        if teardown is not None:
            teardown(*args, **kwargs)
        return result, elapsed_ns

    def _done(self, wall_ns: int) -> bool:
        calls = len(self.samples_ns)
        if calls >= self._max_calls:
            return True
        if calls < self._min_calls:
            return False
        return sum(self.samples_ns) >= self._budget_ns or wall_ns >= self._wall_limit_ns


@pytest.fixture
def benchmark(request: pytest.FixtureRequest) -> Iterator[Timer]:
    config = request.config
    timer = Timer(
        config.getoption("--timer-budget"),
        config.getoption("--timer-min-calls"),
        config.getoption("--timer-max-calls"),
        config.getoption("--timer-warmup-calls"),
    )
    yield timer
    record = config.stash[_RECORDER].records.setdefault(request.node.nodeid, {})
    record.update(samples_ns=timer.samples_ns, digest=timer.digest)
