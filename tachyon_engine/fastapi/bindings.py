"""The Python face of `rust/fastapi/`: FastAPI's `jsonable_encoder` for plain data, its telemetry
gate."""

from tachyon_engine._core import (
    TelemetryGate as TelemetryGate,
    jsonable_plain as jsonable_plain,
)
