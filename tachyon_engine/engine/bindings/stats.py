"""The Python face of `rust/stats.rs, rust/build_info.rs`: engagement counters, the build profile
and version."""

from tachyon_engine._core import (
    BUILD_PROFILE as BUILD_PROFILE,
    __version__ as __version__,
    native_counts as native_counts,
)
