"""The Python face of `rust/routing/`: the route index."""

from tachyon_engine._core import (
    RouteIndex as RouteIndex,
    instances_in as instances_in,
)
