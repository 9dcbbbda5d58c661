"""The record of what `install()` replaced, kept apart from the patch list so that the modules
holding the accelerated implementations can ask for Starlette's own function without importing
`_install` (which imports them).

The accelerated implementations are plain functions shared by tachyon_engine's subclasses and by
the patches `install()` puts on Starlette's own classes. They fall back to the stock function by
calling it explicitly (`original(owner, name)`), never through `super()`: transplanted onto
Starlette's class, a zero-argument `super()` would name the wrong class, and the class attribute
would by then be the accelerated function itself.
"""

from __future__ import annotations

import inspect
from typing import Any

# (owner, attribute) -> the value `install()` found there (the effective one, inherited or not).
SAVED: dict[tuple[object, str], Any] = {}


def original(owner: object, name: str) -> Any:
    """`owner.name` as it was before `install()` replaced it (without binding descriptors:
    a function, a property, ...). Correct whether or not `install()` has run."""
    try:
        return SAVED[(owner, name)]
    except KeyError:
        return inspect.getattr_static(owner, name)
