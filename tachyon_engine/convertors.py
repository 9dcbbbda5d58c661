"""Mirror of `starlette.convertors`."""

from __future__ import annotations

from starlette.convertors import (
    CONVERTOR_TYPES as CONVERTOR_TYPES,
    Convertor as Convertor,
    FloatConvertor as FloatConvertor,
    IntegerConvertor as IntegerConvertor,
    PathConvertor as PathConvertor,
    StringConvertor as StringConvertor,
    T as T,
    UUIDConvertor as UUIDConvertor,
    register_url_convertor as register_url_convertor,
)
