"""App factories for the servers (`--factory benchmarks.endtoend.apps:starlette_app`): each server
process builds its app from one stack only."""

from __future__ import annotations

from typing import Any

from benchmarks.scenarios.apps import demo_app
from benchmarks.stacks import CANDIDATE_PACKAGE, REFERENCE_PACKAGE, load


def starlette_app() -> Any:
    return demo_app(load(REFERENCE_PACKAGE))


def tachyon_engine_app() -> Any:
    return demo_app(load(CANDIDATE_PACKAGE))
