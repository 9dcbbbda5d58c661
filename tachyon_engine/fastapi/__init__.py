"""The FastAPI integration: FastAPI's own functions and classes, reproduced on tachyon_engine's
engine, and put on FastAPI by `tachyon_engine.install()`.

- `routing`: `APIRouter.app` on the route index, FastAPI's `request_response`, the included
  routers' loop, `jsonable_encoder` for plain data (Rust: `rust/fastapi/jsonable.rs`); also the
  explicit `APIRouter` and `APIRoute` classes, exported here.
- `dispatch`: the fused middleware stack (`build_middleware_stack`) for apps whose stack is
  FastAPI's defaults.
- `params`: the parameter-analysis helpers FastAPI calls per request.
- `telemetry`: FastAPI's telemetry gate, answered natively (Rust: `rust/fastapi/telemetry.rs`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tachyon_engine.fastapi.routing import APIRoute as APIRoute, APIRouter as APIRouter

__all__ = ["APIRoute", "APIRouter"]


def __getattr__(name: str) -> object:
    # Imported on first use: `install()` imports `params` and `telemetry` while FastAPI itself is
    # still being imported, before `fastapi.routing` (which `routing` needs) exists.
    if name in __all__:
        from tachyon_engine.fastapi import routing

        return getattr(routing, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
