from __future__ import annotations

import pytest

import tachyon_engine


def pytest_report_header() -> str:
    return (
        f"tachyon_engine {tachyon_engine.__version__} ({tachyon_engine.build_profile()} build) "
        f"from {tachyon_engine.__file__}"
    )


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
