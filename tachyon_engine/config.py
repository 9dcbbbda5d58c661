"""Mirror of `starlette.config`."""

from __future__ import annotations

from starlette.config import (
    Config as Config,
    Environ as Environ,
    EnvironError as EnvironError,
    T as T,
    environ as environ,
    undefined as undefined,
)
