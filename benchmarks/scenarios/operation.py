"""What an operation is, and the probe through which apps report what they parsed.

Apps record into the probe only while it is enabled, which it is for the correctness calls and
never for the timed ones: a disabled probe costs one attribute test."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from benchmarks.stacks import Stack


@dataclass(frozen=True)
class Operation:
    """One timed unit of work: a plain call or a coroutine function, returning an observation."""

    synchronous: Callable[[], object] | None = None
    asynchronous: Callable[[], Coroutine[Any, Any, object]] | None = None
    # Says what is wrong with an observation on either stack (a scenario that answers 500 on
    # both would otherwise compare equal).
    check: Callable[[object], str | None] | None = None


# Builds a scenario's operation from one stack's classes, inside the worker process.
Builder = Callable[["Stack"], Operation]


class Probe:
    def __init__(self) -> None:
        self.enabled = False
        self.values: list[object] = []

    def record(self, value: object) -> None:
        self.values.append(value)

    def start(self) -> None:
        self.enabled = True
        self.values = []

    def stop(self) -> list[object]:
        self.enabled = False
        values, self.values = self.values, []
        return values


probe = Probe()
