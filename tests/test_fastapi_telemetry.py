"""FastAPI's telemetry gate (`NativeTelemetry.enabled`) under `install()` against FastAPI's own.

Each example sets up OpenTelemetry's and FastAPI's state (the config's switches and providers,
the global providers, the provider variables in the environment, getters, `_unconfigured` and
`_DEFERRED_PROVIDERS` replaced, an environment that is not `os.environ`), asks FastAPI's gate,
sets up the same state again and asks tachyon's: the answers (or the exceptions) and the global
providers left behind must be the same.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections import UserDict
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import fastapi.telemetry._api
import fastapi.telemetry._asgi
import opentelemetry._logs._internal as otel_logs
import opentelemetry.metrics._internal as otel_metrics
import opentelemetry.trace as otel_trace
import pytest
from hypothesis import given, settings, strategies as st
from opentelemetry.util._once import Once

import tachyon_engine
from tachyon_engine.fastapi import telemetry as accelerated_telemetry

_asgi: Any = fastapi.telemetry._asgi
_stock_enabled = accelerated_telemetry._stock_enabled

# Per signal: the config's switch and provider keys, the OpenTelemetry module, its globals, the
# environment variable, the SDK's entry point for that variable, and where FastAPI finds it.
SIGNALS = [
    ("tracing", "tracer_provider", otel_trace, "TRACER", "OTEL_PYTHON_TRACER_PROVIDER", "sdk_tracer_provider", "trace"),
    ("metrics", "meter_provider", otel_metrics, "METER", "OTEL_PYTHON_METER_PROVIDER", "sdk_meter_provider", "metrics"),
    ("logs", "logger_provider", otel_logs, "LOGGER", "OTEL_PYTHON_LOGGER_PROVIDER", "sdk_logger_provider", "_logs"),
]
SWITCHES: list[Any] = [True, False, 1, 0, "", "counted-true", "counted-false"]


class CountedSwitch:
    """A switch whose truth is asked by calling Python code: every ask is counted."""

    def __init__(self, value: bool, asked: list[bool]) -> None:
        self.value = value
        self.asked = asked

    def __bool__(self) -> bool:
        self.asked.append(self.value)
        return self.value


class Marker:
    """A provider that is neither a proxy nor an SDK one."""


class _EveryVariableSet(os._Environ[str]):
    """An environment (`os._Environ` all the same) in which every provider variable is set."""

    def __init__(self, environ: Any) -> None:
        super().__init__(
            dict(environ._data), environ.encodekey, environ.decodekey, environ.encodevalue, environ.decodevalue
        )

    def __getitem__(self, key: str) -> str:
        return "bogus" if key.startswith("OTEL_PYTHON_") else super().__getitem__(key)


signal_state = st.fixed_dictionaries(
    {
        "switch": st.sampled_from(SWITCHES),
        "own": st.booleans(),
        "global": st.sampled_from([None, None, "marker"]),
        "variable": st.sampled_from([None, None, "bogus", "sdk"]),
        "getter_replaced": st.sampled_from([False, False, True]),
    }
)
states = st.fixed_dictionaries(
    {
        "signals": st.tuples(signal_state, signal_state, signal_state),
        "config_type": st.sampled_from([dict, dict, dict, UserDict]),
        "unconfigured_replaced": st.sampled_from([False, False, False, True]),
        "deferred_replaced": st.sampled_from([False, False, False, True]),
        "environ": st.sampled_from(["stock", "stock", "stock", "dict", "os_module", "subclass"]),
    }
)


@contextlib.contextmanager
def _restored_otel() -> Iterator[None]:
    """OpenTelemetry's global providers and provider variables, put back as they were."""
    saved_env = {variable: os.environ.get(variable) for _, _, _, _, variable, _, _ in SIGNALS}
    saved = {
        (module, attribute): vars(module)[attribute]
        for _, _, module, kind, *_ in SIGNALS
        for attribute in (f"_{kind}_PROVIDER", f"_{kind}_PROVIDER_SET_ONCE")
    }
    try:
        yield
    finally:
        for (module, attribute), value in saved.items():
            setattr(module, attribute, value)
        for name, value in saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.fixture
def pristine_otel() -> Iterator[None]:
    with _restored_otel():
        yield


class _Arranged:
    """One example's state, applied and undone around each gate's call."""

    def __init__(self, state: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
        self.state = state
        self.monkeypatch = monkeypatch
        self.marker = Marker()
        self.getter_calls = 0
        self.switches_asked: list[bool] = []

    def config(self) -> Any:
        config: dict[str, Any] = {}
        for (switch, own, *_), signal in zip(SIGNALS, self.state["signals"], strict=True):
            value = signal["switch"]
            if isinstance(value, str) and value.startswith("counted-"):
                value = CountedSwitch(value == "counted-true", self.switches_asked)
            config[switch] = value
            config[own] = self.marker if signal["own"] else None
        config.update(operation_spans=True, auto_configure=False, exclude=None)
        return self.state["config_type"](config)

    def apply(self) -> None:
        patch = self.monkeypatch
        environ: dict[str, str] = {}
        for (_, _, module, kind, variable, sdk_name, fastapi_name), signal in zip(
            SIGNALS, self.state["signals"], strict=True
        ):
            patch.setattr(module, f"_{kind}_PROVIDER", self.marker if signal["global"] else None)
            patch.setattr(module, f"_{kind}_PROVIDER_SET_ONCE", Once())
            value = {None: None, "bogus": "bogus", "sdk": sdk_name}[signal["variable"]]
            if value is None:
                patch.delenv(variable, raising=False)
            else:
                patch.setenv(variable, value)
                environ[variable] = value
            if signal["getter_replaced"]:
                otel_module = getattr(_asgi, fastapi_name)
                stock_getter = getattr(otel_module, f"get_{kind.lower()}_provider")

                def counted(getter: Any = stock_getter) -> Any:
                    self.getter_calls += 1
                    return getter()

                patch.setattr(otel_module, stock_getter.__name__, counted)
        if self.state["unconfigured_replaced"]:
            patch.setattr(_asgi, "_unconfigured", lambda provider: type(provider) is Marker)
        if self.state["deferred_replaced"]:
            patch.setattr(fastapi.telemetry._api, "_DEFERRED_PROVIDERS", frozenset({("tests", "Marker")}))
        if self.state["environ"] == "dict":
            patch.setattr(otel_metrics, "environ", dict(environ))
            patch.setattr(otel_logs, "environ", dict(environ))
        elif self.state["environ"] == "subclass":
            patch.setattr(otel_metrics, "environ", _EveryVariableSet(os.environ))
        elif self.state["environ"] == "os_module":
            patch.setattr(otel_trace, "os", SimpleNamespace(environ=dict(environ)))

    def outcome(self, gate: Any) -> tuple[Any, ...]:
        self.apply()
        telemetry = _asgi.NativeTelemetry.__new__(_asgi.NativeTelemetry)
        telemetry.config = self.config()
        try:
            answer: Any = gate(telemetry)
        except BaseException as exc:  # the exception is the outcome compared
            answer = (type(exc), str(exc))
        providers = tuple(type(vars(module)[f"_{kind}_PROVIDER"]).__name__ for _, _, module, kind, *_ in SIGNALS)
        calls, asked = self.getter_calls, list(self.switches_asked)
        self.getter_calls = 0
        self.switches_asked.clear()
        self.monkeypatch.undo()
        return answer, providers, calls, asked


@settings(max_examples=400, deadline=None)
@given(state=states)
def test_gate_answers_as_fastapis(state: dict[str, Any]) -> None:
    with pytest.MonkeyPatch.context() as monkeypatch, _restored_otel():
        arranged = _Arranged(state, monkeypatch)
        stock = arranged.outcome(_stock_enabled)
        ours = arranged.outcome(accelerated_telemetry.enabled)
        assert ours == stock
        assert type(ours[0]) is not bool or ours[0] is stock[0]


def _calls_to(names: set[str], action: Any) -> list[str]:
    seen: list[str] = []

    def profile(frame: Any, event: str, arg: Any) -> None:
        if event == "call" and frame.f_code.co_name in names:
            seen.append(frame.f_code.co_name)

    sys.setprofile(profile)
    try:
        action()
    finally:
        sys.setprofile(None)
    return seen


GETTERS = {"get_tracer_provider", "get_meter_provider", "get_logger_provider", "_unconfigured"}


def test_default_config_asks_no_getter(pristine_otel: None) -> None:
    """With nothing set up, the native gate answers without OpenTelemetry's getters, which
    FastAPI's gate calls (the reason for the native gate)."""
    for name in ("OTEL_PYTHON_TRACER_PROVIDER", "OTEL_PYTHON_METER_PROVIDER", "OTEL_PYTHON_LOGGER_PROVIDER"):
        os.environ.pop(name, None)
    telemetry = fastapi.FastAPI()._native_telemetry
    before = tachyon_engine.native_counts()["telemetry_gates"]
    assert _calls_to(GETTERS, lambda: _stock_enabled(telemetry)) == [
        "get_tracer_provider",
        "_unconfigured",
        "get_meter_provider",
        "_unconfigured",
        "get_logger_provider",
        "_unconfigured",
    ]
    assert _calls_to(GETTERS, lambda: accelerated_telemetry.enabled(telemetry)) == []
    assert accelerated_telemetry.enabled(telemetry) is False
    assert tachyon_engine.native_counts()["telemetry_gates"] > before


def test_variable_set_calls_the_getter(pristine_otel: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """A provider variable makes the getter load and set a provider: OpenTelemetry's code runs."""
    monkeypatch.setattr(otel_trace, "_TRACER_PROVIDER", None)
    monkeypatch.setattr(otel_trace, "_TRACER_PROVIDER_SET_ONCE", Once())
    monkeypatch.setenv("OTEL_PYTHON_TRACER_PROVIDER", "sdk_tracer_provider")
    telemetry = fastapi.FastAPI()._native_telemetry
    assert _calls_to(GETTERS, lambda: accelerated_telemetry.enabled(telemetry))[:1] == ["get_tracer_provider"]
    assert type(otel_trace._TRACER_PROVIDER).__module__ == "opentelemetry.sdk.trace"
    assert accelerated_telemetry.enabled(telemetry) is True


def test_installed_on_fastapis_class() -> None:
    tachyon_engine.install()
    try:
        assert vars(_asgi.NativeTelemetry)["enabled"] is accelerated_telemetry.enabled
    finally:
        tachyon_engine.uninstall()
    assert vars(_asgi.NativeTelemetry)["enabled"] is _stock_enabled


def test_gate_is_verified() -> None:
    """The pinned sources match what is installed (else the native gate is off, silently slow)."""
    assert accelerated_telemetry._GATE is not None
    assert accelerated_telemetry._ENVIRON_VERIFIED
