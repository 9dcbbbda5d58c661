"""Helpers for differential tests: run the same operation on stock Starlette and on
tachyon_engine and compare everything observable, exceptions included."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def outcome(operation: Callable[[], Any]) -> tuple[str, Any]:
    """`("value", result)` or `("raised", (exception type, message))`."""
    try:
        return "value", operation()
    except Exception as exc:
        return "raised", (type(exc), str(exc))
