"""tachyon_engine: a drop-in, Starlette-compatible accelerator with its hot paths in Rust.

Change `from starlette.X import Y` to `from tachyon_engine.X import Y`: every module of
Starlette 1.10 exists here under the same name, its objects are Starlette's or subclasses
of them, and the hot paths run in the Rust extension `tachyon_engine._core`.

Or call `tachyon_engine.install()` before the application is built (or set
`TACHYON_ENGINE_INSTALL=1` in the environment): Starlette's own classes then run on the same
accelerated paths, so FastAPI and other Starlette-based libraries speed up unchanged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tachyon_engine.engine.bindings.stats import __version__ as __version__
from tachyon_engine.engine.install import (
    install as install,
    installed_patches as installed_patches,
    is_installed as is_installed,
    uninstall as uninstall,
)
from tachyon_engine.engine.native import (
    accelerated as accelerated,
    build_profile as build_profile,
    native_counts as native_counts,
)

if TYPE_CHECKING:
    from tachyon_engine.applications import Starlette as TachyonEngine

__all__ = [
    "TachyonEngine",
    "__version__",
    "accelerated",
    "build_profile",
    "install",
    "installed_patches",
    "is_installed",
    "native_counts",
    "uninstall",
]


def __getattr__(name: str) -> object:
    # The application class is imported on first use, so `import tachyon_engine` stays as
    # light as `import starlette`.
    if name == "TachyonEngine":
        from tachyon_engine.applications import Starlette

        return Starlette
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
