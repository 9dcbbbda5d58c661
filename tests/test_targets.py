"""The registry of targets: a replacement is applied only over a verified stock source.

The installed releases verify (every target applied); a release whose source differs from every
verified one (simulated by a copy of the installed FastAPI with one method edited, as a new
release would be) leaves that target stock, says why, and the app answers as that release does;
nothing the accelerated stack runs at request time imports a module.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import fastapi

import tachyon_engine
from tachyon_engine.engine import targets


def _run(code: str, pythonpath: Path | None = None) -> Any:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TACHYON_ENGINE_")}
    if pythonpath is not None:
        environment["PYTHONPATH"] = str(pythonpath)
    result = subprocess.run(
        [sys.executable, "-c", code], env=environment, capture_output=True, text=True, timeout=120, cwd="/"
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


APP = """
import json, sys, tachyon_engine
tachyon_engine.install()
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

app = FastAPI()

@app.get("/items/{item_id}")
def item(item_id: int, request: Request):
    return {"item_id": item_id, "edited": request.scope.get("edited", False)}

client = TestClient(app)
answers = [client.get(path).json() for path in ("/items/3", "/items/x")]
report = tachyon_engine.installed_patches()
print(json.dumps([answers, report, tachyon_engine.native_counts()]))
"""


def test_every_target_verifies_on_the_installed_releases() -> None:
    answers, report, counts = _run(APP)
    assert answers[0] == {"item_id": 3, "edited": False}
    assert not [target for target, value in report.items() if not value.startswith("tachyon_engine.")]
    assert counts["route_native_matches"] > 0


def test_an_unverified_release_stays_stock(tmp_path: Path) -> None:
    """FastAPI with `APIRouter.app` edited (a new release's source): that target is skipped with
    its reason, the others still apply, and the app answers as the edited FastAPI does."""
    copy = tmp_path / "fastapi"
    shutil.copytree(Path(fastapi.__file__).parent, copy)
    routing = copy / "routing.py"
    source = routing.read_text()
    anchor = '        assert scope["type"] in ("http", "websocket", "lifespan")\n'
    assert source.count(anchor) == 1
    routing.write_text(source.replace(anchor, anchor + '        scope["edited"] = True\n'))
    answers, report, _ = _run(APP, pythonpath=tmp_path)
    assert answers[0] == {"item_id": 3, "edited": True}
    assert answers[1]["detail"][0]["type"] == "int_parsing"
    reason = report["fastapi.routing.APIRouter.app"]
    assert reason.startswith("skipped: fastapi.routing:APIRouter.app is not a verified source (source sha256:")
    assert "verified: fastapi 0.163.2" in reason
    assert report["fastapi.routing.request_response"] == "tachyon_engine.fastapi.routing:request_response"


def test_a_reproduced_helper_of_another_source_leaves_its_dependants_stock(tmp_path: Path) -> None:
    """`APIRoute.handle` is one of the functions the accelerated `APIRouter.app` inlines: an
    edited one leaves `APIRouter.app` stock too."""
    copy = tmp_path / "fastapi"
    shutil.copytree(Path(fastapi.__file__).parent, copy)
    routing = copy / "routing.py"
    source = routing.read_text()
    anchor = "    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:\n"
    handle = source.index(anchor, source.index("class APIRoute("))
    routing.write_text(source[:handle] + anchor + '        scope["edited"] = True\n' + source[handle + len(anchor) :])
    answers, report, _ = _run(APP, pythonpath=tmp_path)
    assert answers[0] == {"item_id": 3, "edited": True}
    assert "fastapi.routing:APIRoute.handle is not a verified source" in report["fastapi.routing.APIRouter.app"]


def test_no_import_at_request_time() -> None:
    """A test suite that drops `fastapi` from `sys.modules` (prometheus-fastapi-instrumentator's
    does) still gets FastAPI's answers: nothing imports at request time."""
    code = APP.replace("client = TestClient(app)", "client = TestClient(app)\ndel sys.modules['fastapi']")
    answers, report, _ = _run(code)
    assert answers[0] == {"item_id": 3, "edited": False}
    assert report["fastapi.applications.FastAPI.build_middleware_stack"].startswith("tachyon_engine.")


def test_the_registry_records_the_installed_releases() -> None:
    """`record()` of this environment is covered by the verified sources (what `merge` keeps)."""
    import fastapi.routing  # noqa: F401  (the records resolve FastAPI's modules)

    recorded = targets.record()
    merged = targets.merge([recorded])
    for name, (digest, _release) in recorded.items():
        if digest != "unavailable" and not _release.endswith("(not installed)"):
            assert digest in merged[name]
            assert targets.is_verified(name), targets.unverified_reason(name)


def test_every_patch_names_resolvable_objects() -> None:
    for patch in targets.PATCHES:
        module, _, _ = patch.replacement.partition(":")
        assert module.startswith("tachyon_engine")
        assert patch.engages in (None, *tachyon_engine.native_counts())


def test_stock_names_only_registered_objects() -> None:
    """Replacements get their stock functions through the registry, so each one is verified."""
    assert targets.stock("fastapi.routing:APIRouter.app") is targets.resolve("fastapi.routing:APIRouter.app")
    # An object the release lacks (FastAPI 0.163 has no `_apply_router_form_limits`) gives the default.
    assert targets.stock("fastapi._body_limit:AppBodyLimitMiddleware.__call__", "x") in (
        "x",
        targets.resolve("fastapi._body_limit:AppBodyLimitMiddleware.__call__"),
    )
    try:
        targets.stock("fastapi.routing:get_request_handler")
    except LookupError as error:
        assert "not in the registry" in str(error)
    else:
        raise AssertionError("an unregistered stock object was handed out")


def test_source_text_is_inspect_getsource() -> None:
    """The digests hash `inspect.getsource`'s text, read without tokenizing (ten times faster at
    install time): the same text for every registered function of this environment."""
    import inspect

    import fastapi.routing  # noqa: F401  (the registered objects live in FastAPI's modules too)

    compared = 0
    for name in sorted(targets._REGISTERED):
        value = targets.resolve(name)
        function: Any = value.fget if isinstance(value, property) else value
        code = getattr(function, "__code__", None)
        if code is not None:
            assert targets._source_text(code) == inspect.getsource(function), name
            compared += 1
    assert compared > 50
