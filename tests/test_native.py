"""The extension reports its version and build profile, and what runs natively."""

from __future__ import annotations

import tachyon_engine
from tachyon_engine import _core


def test_version_and_profile() -> None:
    assert tachyon_engine.__version__ == _core.__version__
    assert _core.BUILD_PROFILE in {"release", "debug"}
    assert tachyon_engine.build_profile() == _core.BUILD_PROFILE


def test_accelerated_names_real_native_functions() -> None:
    report = tachyon_engine.accelerated()
    assert "datastructures.QueryParams(str | bytes)" in report
    for function in report.values():
        module, _, name = function.rpartition(".")
        assert module == "tachyon_engine._core"
        assert callable(getattr(_core, name))
