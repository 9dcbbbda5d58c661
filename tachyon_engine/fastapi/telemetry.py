"""FastAPI's telemetry gate, `NativeTelemetry.enabled()`, without its cost when nothing is set up.

`FastAPI.__call__` asks the gate on every HTTP request. With FastAPI's defaults (tracing, metrics
and logs on, no provider of the application's own) it asks OpenTelemetry's three global-provider
getters. While no provider is set, each getter tests `os.environ` for its provider variable, and
`Mapping.__contains__` answers that by raising and catching a `KeyError` in
`_Environ.__getitem__`: about 0.77 us per getter, 3.1 us per request.

`enabled` below is FastAPI's expression, evaluated in the same order on the same names of FastAPI's
module. It answers a getter's call itself only while the getter is OpenTelemetry's own function
(its source one of the registry's verified ones, `targets`) and only where that function returns without
side effects: the global provider once set, or the proxy provider while the provider variable is
absent from the stock `os.environ`, tested as `_Environ.__getitem__` tests it, on `_data` with
`encodekey`. A getter replaced or of another source, an environment that is not the stock
`_Environ`, or the variable set (the getter then loads and sets a provider) calls the getter. A
FastAPI whose gate is not the verified one keeps its own gate.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, NamedTuple

import fastapi.telemetry._asgi

from tachyon_engine.engine.targets import is_verified, stock
from tachyon_engine.fastapi import bindings as rust_fastapi

_asgi: Any = fastapi.telemetry._asgi
_stock_enabled = stock("fastapi.telemetry._asgi:NativeTelemetry.enabled")


# The stock `name in os.environ`: `Mapping.__contains__` calling `_Environ.__getitem__`, which
# looks up `encodekey(name)` (the platform's pure encoder, made by `os._createenviron`) in `_data`.
_Environ: Any = os._Environ
_encodekey: Any = getattr(os.environ, "encodekey", None)


class _StockEnviron(NamedTuple):
    class_: Any
    getitem: Any
    contains: Any
    encodekey: Any


_STOCK_ENVIRON = _StockEnviron(_Environ, _Environ.__getitem__, Mapping.__contains__, _encodekey)
_ENVIRON_VERIFIED = (
    type(os.environ) is _Environ
    and _Environ.__getitem__.__module__ == "os"
    and getattr(_encodekey, "__module__", None) == "os"
    and getattr(_encodekey, "__qualname__", "").startswith("_createenviron.")
)


class _ProviderGetter(NamedTuple):
    """One OpenTelemetry global-provider getter, as `rust_fastapi.TelemetryGate` takes it."""

    switch: str  # the config switch ("tracing")
    own_provider: str  # the application's own provider in the config ("tracer_provider")
    module_global: str  # where FastAPI's module finds the getter: `trace.get_tracer_provider`
    function_name: str
    verified: tuple[Any, str, bytes] | None  # the function, its variable's name, encoded
    namespace: dict[str, Any]  # the function's globals
    provider: str  # the globals it reads: the provider, the variable's name, the proxy
    variable: str
    proxy: str
    environ_in_os: bool  # reads `os.environ` (else its own `environ`, imported from `os`)


def _getter(
    switch: str,
    own_provider: str,
    module_global: str,
    verified_as: str,
    provider: str,
    variable: str,
    proxy: str,
) -> _ProviderGetter:
    function_name = "get_" + own_provider
    function: Any = getattr(getattr(_asgi, module_global, None), function_name, None)
    verified = None
    if _ENVIRON_VERIFIED and function is not None and is_verified(verified_as, function):
        variable_name = function.__globals__[variable]
        verified = (function, variable_name, _encodekey(variable_name))
    return _ProviderGetter(
        switch,
        own_provider,
        module_global,
        function_name,
        verified,
        getattr(function, "__globals__", {}),
        provider,
        variable,
        proxy,
        "os" in getattr(getattr(function, "__code__", None), "co_names", ()),
    )


def _gate() -> Any:
    """The native gate, or None where FastAPI's gate is not the verified one."""
    # FastAPI's `NativeTelemetry.enabled`, the expression the native gate evaluates.
    if not is_verified("fastapi.telemetry._asgi:NativeTelemetry.enabled", _stock_enabled):
        return None
    unconfigured = _asgi._unconfigured
    # OpenTelemetry's getters, in FastAPI's order (each answered in place only while verified).
    getters = [
        _getter(
            "tracing",
            "tracer_provider",
            "trace",
            "opentelemetry.trace:get_tracer_provider",
            "_TRACER_PROVIDER",
            "OTEL_PYTHON_TRACER_PROVIDER",
            "_PROXY_TRACER_PROVIDER",
        ),
        _getter(
            "metrics",
            "meter_provider",
            "metrics",
            "opentelemetry.metrics._internal:get_meter_provider",
            "_METER_PROVIDER",
            "OTEL_PYTHON_METER_PROVIDER",
            "_PROXY_METER_PROVIDER",
        ),
        _getter(
            "logs",
            "logger_provider",
            "_logs",
            "opentelemetry._logs._internal:get_logger_provider",
            "_LOGGER_PROVIDER",
            "_OTEL_PYTHON_LOGGER_PROVIDER",
            "_PROXY_LOGGER_PROVIDER",
        ),
    ]
    return rust_fastapi.TelemetryGate(
        vars(_asgi),
        getters,
        unconfigured if is_verified("fastapi.telemetry._asgi:_unconfigured", unconfigured) else None,
        unconfigured.__globals__,
        _STOCK_ENVIRON,
    )


_GATE = _gate()


def enabled(self: Any) -> bool:
    """`NativeTelemetry.enabled()`: whether FastAPI records this request's telemetry."""
    if _GATE is not None:
        answer = _GATE(self.config)
        if answer is not None:
            return answer  # type: ignore[no-any-return]
    return _stock_enabled(self)  # type: ignore[no-any-return]
