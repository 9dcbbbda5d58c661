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


def original_in_mro(cls: type, name: str, replacement: Any) -> Any:
    """The stock `name` for instances of `cls`: what `install()` found on the first class of the
    MRO it patched, else the first definition that is not `replacement`. For a replacement that
    must find its stock method without importing the library (at request time)."""
    for klass in cls.__mro__:
        saved = SAVED.get((klass, name))
        if saved is not None:
            return saved
        value = vars(klass).get(name)
        if value is not None and value is not replacement:
            return value
    raise AttributeError(f"{cls.__qualname__} has no stock {name!r}")
