"""Mirror of `starlette.schemas`."""

from __future__ import annotations

# Includes optional-dependency names (None when not installed), bound as Starlette binds them.
from starlette.schemas import (  # type: ignore[attr-defined]
    BaseSchemaGenerator as BaseSchemaGenerator,
    EndpointInfo as EndpointInfo,
    OpenAPIResponse as OpenAPIResponse,
    SchemaGenerator as SchemaGenerator,
    _remove_converter_pattern as _remove_converter_pattern,
    yaml as yaml,
)

from tachyon_engine.requests import (
    Request as Request,
)
from tachyon_engine.responses import (
    Response as Response,
)
from tachyon_engine.routing import (
    BaseRoute as BaseRoute,
    Host as Host,
    Mount as Mount,
    Route as Route,
)
