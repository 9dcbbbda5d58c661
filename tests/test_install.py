"""`tachyon_engine.install()` / `uninstall()`: exact restoration, idempotence, third-party patches
(before and after), the import hook for modules imported later, and the environment switch
(`TACHYON_ENGINE_INSTALL` through the `.pth` hook) in fresh interpreters."""

from __future__ import annotations

import functools
import importlib
import inspect
import json
import os
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import starlette.datastructures
import starlette.requests
import starlette.routing
from starlette.applications import Starlette
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

import tachyon_engine
from tachyon_engine.engine import install, targets
from tachyon_engine.engine.dispatch import LeanStack

MISSING = object()


def patch_targets() -> dict[str, tuple[Any, str]]:
    """Every patch target that exists now (modules imported), as (owner, attribute)."""
    found = {}
    for patch in targets.PATCHES:
        module = sys.modules.get(patch.module)
        if module is None:
            continue
        *path, attribute = patch.target.split(".")
        owner: Any = module
        for part in path:
            owner = getattr(owner, part)
        found[f"{patch.module}.{patch.target}"] = (owner, attribute)
    return found


def snapshot() -> dict[str, Any]:
    """What each target's owner holds itself (not inherited), by identity."""
    return {name: vars(owner).get(attribute, MISSING) for name, (owner, attribute) in patch_targets().items()}


@pytest.fixture(autouse=True)
def stock_afterwards() -> Iterator[None]:
    """Every test starts and ends with stock Starlette, whatever it does in between."""
    assert not tachyon_engine.is_installed()
    yield
    tachyon_engine.uninstall()


def test_install_replaces_every_target_and_uninstall_restores_each_exactly() -> None:
    importlib.import_module("fastapi.routing")
    before = snapshot()
    assert set(before) == {f"{p.module}.{p.target}" for p in targets.PATCHES}
    tachyon_engine.install()
    try:
        assert tachyon_engine.is_installed()
        during = snapshot()
        report = tachyon_engine.installed_patches()
        for name, (owner, attribute) in patch_targets().items():
            replacement = install._resolve(report[name])
            assert inspect.getattr_static(owner, attribute) is replacement, name
            assert during[name] is not before[name], name
        # Inherited targets (Headers.get comes from Mapping) are set on the class, then deleted again.
        assert before["starlette.datastructures.Headers.get"] is MISSING
        tachyon_engine.install()  # idempotent
        assert snapshot() == during
    finally:
        assert tachyon_engine.uninstall() == []
    assert not tachyon_engine.is_installed()
    after = snapshot()
    assert all(after[name] is before[name] for name in before)
    assert "get" not in vars(starlette.datastructures.Headers)


def test_reinstall_after_uninstall() -> None:
    for _ in range(2):
        tachyon_engine.install()
        assert starlette.routing.Router.app is tachyon_engine.routing.Router.app
        tachyon_engine.uninstall()
        assert starlette.routing.Router.app.__module__ == "starlette.routing"


def _stock_app() -> Starlette:
    async def endpoint(request: Any) -> JSONResponse:
        body = await request.json() if request.method == "POST" else None
        return JSONResponse(
            {
                "params": request.path_params,
                "query": list(request.query_params.multi_items()),
                "agent": request.headers.get("user-agent"),
                "cookies": request.cookies,
                "body": body,
                "route": request.scope["route"].name,
            }
        )

    async def login(request: Any) -> PlainTextResponse:
        response = PlainTextResponse("in", headers={"X-Login": "yes"})
        response.set_cookie("session", "a b==", max_age=60, expires="Wed, 21 Oct 2037 07:28:00 GMT", httponly=True)
        return response

    async def form(request: Any) -> JSONResponse:
        async with request.form() as data:
            items = []
            for name, value in data.multi_items():
                if isinstance(value, str):
                    items.append([name, value])
                else:
                    content = await value.read()
                    items.append(
                        [name, value.filename, value.size, value.content_type, len(content), content[-9:].hex()]
                    )
        return JSONResponse(items)

    routes = [Route(f"/r{i}/{{n:int}}", endpoint, methods=["GET", "POST"]) for i in range(30)]
    return Starlette(routes=[*routes, Route("/login", login), Route("/form", form, methods=["POST"])])


REQUESTS: list[tuple[str, str, dict[str, Any]]] = [
    ("GET", "/r29/7?a=1&a=2&b=%C3%A9", {"headers": {"user-agent": "x", "cookie": "a=1; b=2"}}),
    ("POST", "/r3/1", {"json": {"x": [1, 2.5, None, "é"], "big": 10**30}}),
    ("PUT", "/r3/1", {}),
    ("GET", "/r3/1/", {"follow_redirects": False}),
    ("GET", "/missing", {}),
    ("GET", "/login", {}),
    ("POST", "/form", {"data": {"a": "1", "b": "é &"}}),
    (
        "POST",
        "/form",
        {
            "data": {"field": "x"},
            "files": {"small": ("a.txt", b"hello", "text/plain"), "big": ("b.bin", bytes(range(256)) * 6000)},
        },
    ),
    ("POST", "/form", {"content": b"--b\r\nbroken", "headers": {"content-type": "multipart/form-data; boundary=b"}}),
]


def _responses(app: Starlette) -> list[tuple[int, list[tuple[str, str]], bytes]]:
    with TestClient(app) as client:
        return [
            (r.status_code, list(r.headers.multi_items()), r.content)
            for method, url, kwargs in REQUESTS
            for r in [client.request(method, url, **kwargs)]
        ]


def test_installed_starlette_answers_like_stock_and_runs_natively() -> None:
    expected = _responses(_stock_app())
    tachyon_engine.install()
    try:
        app = _stock_app()
        before = tachyon_engine.native_counts()
        assert _responses(app) == expected
        after = tachyon_engine.native_counts()
        # The app built while installed serves HTTP through the lean dispatch.
        assert isinstance(app.middleware_stack, LeanStack)
    finally:
        tachyon_engine.uninstall()
    assert after["route_native_matches"] > before["route_native_matches"]
    assert after["json_renders"] > before["json_renders"]
    assert after["json_parses"] > before["json_parses"]
    assert after["form_parses"] == before["form_parses"] + 3
    # An app built after uninstall() runs stock code again: no native route match.
    app = _stock_app()
    before = tachyon_engine.native_counts()
    assert _responses(app) == expected
    assert tachyon_engine.native_counts()["route_native_matches"] == before["route_native_matches"]


def test_third_party_patch_after_install_keeps_working_and_survives_uninstall() -> None:
    calls: list[str] = []
    tachyon_engine.install()
    accelerated = starlette.routing.Router.app

    # What sentry-sdk / OpenTelemetry do: wrap whatever is there now.
    @functools.wraps(accelerated)
    async def instrumented(self: Any, scope: Any, receive: Any, send: Any) -> None:
        calls.append(scope["type"])
        await accelerated(self, scope, receive, send)

    starlette.routing.Router.app = instrumented  # type: ignore[method-assign]
    try:
        expected_kept = ["starlette.routing.Router.app"]
        app = _stock_app()
        responses = _responses(app)
        assert calls
        assert tachyon_engine.uninstall() == expected_kept
        # The third party's wrapper stays (and still calls the accelerated, stock-equivalent app).
        assert starlette.routing.Router.app is instrumented
        calls.clear()
        assert _responses(_stock_app()) == responses
        assert calls
        # Re-installing leaves the third party alone.
        tachyon_engine.install()
        assert starlette.routing.Router.app is instrumented
        assert "skipped" in tachyon_engine.installed_patches()["starlette.routing.Router.app"]
        tachyon_engine.uninstall()
    finally:
        # Back to the stock function (the one the accelerated app falls back to).
        starlette.routing.Router.app = tachyon_engine.routing._stock_router_app  # type: ignore[method-assign]
    assert starlette.routing.Router.app.__module__ == "starlette.routing"


def test_third_party_patch_before_install_is_left_in_place() -> None:
    stock = starlette.requests.cookie_parser
    calls: list[str] = []

    def instrumented(cookie_string: str) -> dict[str, str]:
        calls.append(cookie_string)
        return stock(cookie_string)

    starlette.requests.cookie_parser = instrumented
    try:
        tachyon_engine.install()
        try:
            assert starlette.requests.cookie_parser is instrumented
            assert "skipped" in tachyon_engine.installed_patches()["starlette.requests.cookie_parser"]
        finally:
            assert tachyon_engine.uninstall() == []
        assert starlette.requests.cookie_parser is instrumented
    finally:
        starlette.requests.cookie_parser = stock


def _run(code: str, **env: str) -> Any:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TACHYON_ENGINE_")} | env
    result = subprocess.run(
        [sys.executable, "-c", code], env=environment, capture_output=True, text=True, timeout=120, cwd="/"
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_pth_hook_ships_in_site_packages() -> None:
    hook = Path(sysconfig.get_paths()["purelib"]) / "tachyon_engine_install.pth"
    assert hook.read_text().startswith("import os;")


PROBE = """
import json, starlette.routing, tachyon_engine
import fastapi.routing
print(json.dumps([tachyon_engine.is_installed(), starlette.routing.Router.app.__module__,
                  fastapi.routing.APIRouter.app.__module__, fastapi.routing.__loader__.__class__.__name__]))
"""


def test_environment_switch_installs_in_fresh_interpreters_and_patches_fastapi_on_import() -> None:
    assert _run(PROBE) == [False, "starlette.routing", "fastapi.routing", "SourceFileLoader"]
    for value in ("1", "true", "ON"):
        assert _run(PROBE, TACHYON_ENGINE_INSTALL=value) == [
            True,
            "tachyon_engine.routing",
            "tachyon_engine.fastapi.routing",
            "SourceFileLoader",
        ]
    assert _run(PROBE, TACHYON_ENGINE_INSTALL="0")[0] is False


def test_environment_switch_reports_native_counts_at_exit(tmp_path: Path) -> None:
    stats = tmp_path / "stats.jsonl"
    code = """
from fastapi import FastAPI
from fastapi.testclient import TestClient
app = FastAPI()
@app.get("/items/{item_id}")
def item(item_id: int):
    return {"item_id": item_id}
with TestClient(app) as client:
    assert client.get("/items/3").json() == {"item_id": 3}
    assert client.get("/nowhere").status_code == 404
print("[]")
"""
    _run(code, TACHYON_ENGINE_INSTALL="1", TACHYON_ENGINE_STATS=str(stats))
    (record,) = [json.loads(line) for line in stats.read_text().splitlines()]
    assert record["installed"] is True
    assert record["counts"]["route_native_matches"] >= 1
    assert record["counts"]["json_renders"] >= 1  # the 404 handler's JSONResponse
    assert record["patches"]["fastapi.routing.APIRouter.app"] == "tachyon_engine.fastapi.routing:APIRouter.app"


def test_a_replaced_exception_middleware_call_runs_under_the_lean_dispatch_too() -> None:
    """Instrumentation (sentry-sdk) wraps `ExceptionMiddleware.__call__` on Starlette's class:
    tachyon_engine's subclass and the lean dispatch step aside for the wrapper."""
    import starlette.middleware.exceptions as exceptions_module

    import tachyon_engine.applications
    import tachyon_engine.routing

    calls = []
    stock_call = exceptions_module.ExceptionMiddleware.__call__

    async def wrapped(self: Any, scope: Any, receive: Any, send: Any) -> None:
        calls.append(scope.get("path", scope["type"]))
        await stock_call(self, scope, receive, send)

    async def hello(request: Any) -> PlainTextResponse:
        return PlainTextResponse("hi")

    tachyon_engine.install()
    try:
        apps = [
            Starlette(routes=[Route("/", hello)]),
            tachyon_engine.applications.Starlette(routes=[tachyon_engine.routing.Route("/", hello)]),
        ]
        exceptions_module.ExceptionMiddleware.__call__ = wrapped  # type: ignore[method-assign]
        try:
            for app in apps:
                with TestClient(app) as client:
                    assert client.get("/").text == "hi"
                    assert client.get("/nowhere").status_code == 404
        finally:
            exceptions_module.ExceptionMiddleware.__call__ = stock_call  # type: ignore[method-assign]
    finally:
        tachyon_engine.uninstall()
    assert calls == ["lifespan", "/", "/nowhere"] * 2


def test_the_compat_runner_sets_the_hook_switches() -> None:
    """compat_tests spells the switches out (it must not import tachyon_engine): same names."""
    from tachyon_engine.engine import autoinstall

    runner = (Path(__file__).resolve().parent.parent / "compat_tests" / "__main__.py").read_text()
    assert f'ENV_INSTALL = "{autoinstall.ENV_INSTALL}"' in runner
    assert f'ENV_STATS = "{autoinstall.ENV_STATS}"' in runner


def test_a_replaced_starlette_call_runs_for_tachyon_apps_too() -> None:
    """Instrumentation (sentry-sdk) wraps `Starlette.__call__` on Starlette's class: tachyon's
    application runs the wrapper, then its lean stack."""
    import starlette.applications

    import tachyon_engine.applications
    import tachyon_engine.routing

    calls = []
    stock_call = starlette.applications.Starlette.__call__

    async def wrapped(self: Any, scope: Any, receive: Any, send: Any) -> None:
        calls.append(scope.get("path", scope["type"]))
        await stock_call(self, scope, receive, send)

    async def hello(request: Any) -> PlainTextResponse:
        return PlainTextResponse("hi")

    app = tachyon_engine.applications.Starlette(routes=[tachyon_engine.routing.Route("/", hello)])
    starlette.applications.Starlette.__call__ = wrapped  # type: ignore[method-assign]
    try:
        with TestClient(app) as client:
            assert client.get("/").text == "hi"
            assert client.get("/nowhere").status_code == 404
    finally:
        starlette.applications.Starlette.__call__ = stock_call  # type: ignore[method-assign]
    assert calls == ["lifespan", "/", "/nowhere"]
    with TestClient(app) as client:
        assert client.get("/").text == "hi"
    assert calls == ["lifespan", "/", "/nowhere"]
