"""One side of one scenario (or of a whole suite), in a fresh process: builds the scenario from that
side's stack alone, checks its output, and times it.

python -m benchmarks.scenarios.worker SUITE SIDE [--case NAME] --budget-s SECONDS --out FILE

The runner starts one process per scenario: scenarios that allocate large buffers are sensitive
to the heap that earlier scenarios left behind (glibc's malloc adapts its mmap threshold), so
sharing a process would let one side inherit a luckier heap than the other.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import operator
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.comparison import CANDIDATE, REFERENCE
from benchmarks.digest import digest
from benchmarks.scenarios.catalogue import SUITES, Case
from benchmarks.scenarios.operation import Operation, probe
from benchmarks.stacks import CANDIDATE_PACKAGE, REFERENCE_PACKAGE, Stack, load

BATCHES = 3


def stack_for(suite: str, side: str) -> Stack:
    if suite == "fastapi":
        # FastAPI always builds on Starlette; the candidate side accelerates it in place.
        if side == CANDIDATE:
            import tachyon_engine

            # Looked up by name: `install` arrives with a later issue (the runner checks first).
            operator.attrgetter("install")(tachyon_engine)()
        return load(REFERENCE_PACKAGE)
    return load(CANDIDATE_PACKAGE if side == CANDIDATE else REFERENCE_PACKAGE)


class Timer:
    """Calls an operation in a running event loop (or directly, if it is synchronous)."""

    def __init__(self, operation: Operation, loop: asyncio.AbstractEventLoop) -> None:
        self.operation = operation
        self.loop = loop

    def once(self) -> object:
        if self.operation.synchronous is not None:
            return self.operation.synchronous()
        assert self.operation.asynchronous is not None
        return self.loop.run_until_complete(self.operation.asynchronous())

    def per_call_ns(self, calls: int) -> float:
        if self.operation.synchronous is not None:
            function = self.operation.synchronous
            start = time.perf_counter_ns()
            for _ in range(calls):
                function()
            return (time.perf_counter_ns() - start) / calls
        return self.loop.run_until_complete(self._batch(calls)) / calls

    async def _batch(self, calls: int) -> int:
        # Timed inside the loop, so the figure holds the request's own awaits, not loop start-up.
        coroutine_function = self.operation.asynchronous
        assert coroutine_function is not None
        start = time.perf_counter_ns()
        for _ in range(calls):
            await coroutine_function()
        return time.perf_counter_ns() - start

    def observe(self) -> tuple[str, str | None]:
        """The digest of one call's output and of what the app reported through the probe."""
        probe.start()
        try:
            observation = self.once()
        finally:
            recorded = probe.stop()
        problem = self.operation.check(observation) if self.operation.check else None
        return digest([observation, recorded]), problem


def measure(case: Case, stack: Stack, budget_s: float, loop: asyncio.AbstractEventLoop) -> dict[str, Any]:
    timer = Timer(case.build(stack), loop)
    first_digest, problem = timer.observe()
    # Warm up (lazy middleware stacks, caches, the interpreter's specialisation), then size the
    # batches from what a call costs once warm.
    warm_until = time.perf_counter() + budget_s / 5
    calls = 0
    while calls < 3 or time.perf_counter() < warm_until:
        single_ns = timer.per_call_ns(1)
        calls += 1
        if single_ns > budget_s * 1e9:
            break
    estimate_ns = max(timer.per_call_ns(max(1, calls // 2)), 1.0)
    per_batch = max(1, int(budget_s * 1e9 / BATCHES / estimate_ns))
    gc.collect()
    batches = [timer.per_call_ns(per_batch) for _ in range(BATCHES)]
    last_digest, _ = timer.observe()
    if last_digest != first_digest:
        problem = problem or "output changed between the first and the last call"
    return {
        "group": case.group,
        "batches_ns": batches,
        "calls_per_batch": per_batch,
        "digest": first_digest,
        "problem": problem,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("suite", choices=sorted(SUITES))
    parser.add_argument("side", choices=[REFERENCE, CANDIDATE])
    parser.add_argument("--case", help="the one scenario to run (default: every scenario of the suite)")
    parser.add_argument("--budget-s", type=float, required=True, help="measured time per scenario")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    stack = stack_for(args.suite, args.side)
    loop = asyncio.new_event_loop()
    results: dict[str, Any] = {}
    cases = [case for case in SUITES[args.suite] if args.case in (None, case.name)]
    if not cases:
        parser.error(f"no scenario {args.case!r} in suite {args.suite!r}")
    for case in cases:
        try:
            results[case.name] = measure(case, stack, args.budget_s, loop)
        except Exception as exc:  # reported as this scenario's failure; the others still run
            results[case.name] = {"group": case.group, "error": f"{type(exc).__name__}: {exc}"[:300]}
    loop.close()
    args.out.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
