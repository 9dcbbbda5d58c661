"""Every Starlette 1.10 module has a tachyon_engine mirror exporting the same names, each
either Starlette's own object or a subclass of it (the isinstance rule)."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import warnings
from types import ModuleType

import pytest
import starlette

# What tachyon_engine replaces: everything else must be Starlette's object itself.
REPLACED = {
    "tachyon_engine._exception_handler": {"wrap_app_handling_exceptions"},
    "tachyon_engine.applications": {"Starlette"},
    "tachyon_engine.datastructures": {"Headers", "MutableHeaders", "QueryParams"},
    "tachyon_engine.formparsers": {"MultiPartParser"},
    "tachyon_engine.middleware.exceptions": {"ExceptionMiddleware"},
    "tachyon_engine.requests": {"HTTPConnection", "Request", "cookie_parser"},
    "tachyon_engine.routing": {"Mount", "Route", "Router", "WebSocketRoute", "request_response", "websocket_session"},
    "tachyon_engine.responses": {
        "FileResponse",
        "HTMLResponse",
        "JSONResponse",
        "PlainTextResponse",
        "RedirectResponse",
        "Response",
        "StreamingResponse",
    },
    "tachyon_engine.websockets": {"WebSocket"},
}


def starlette_modules() -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages(starlette.__path__, "starlette."))


def import_quietly(name: str) -> ModuleType:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return importlib.import_module(name)


def top_level_names(module: ModuleType) -> set[str]:
    """Names a module defines or imports from Starlette at top level (read from its source,
    including both branches of version checks and optional-import fallbacks)."""
    names: set[str] = set()

    def visit(statements: list[ast.stmt]) -> None:
        for node in statements:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(node.name)
            elif isinstance(node, ast.Assign):
                names.update(t.id for t in node.targets if isinstance(t, ast.Name))
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                names.add(node.target.id)
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("starlette"):
                names.update(alias.asname or alias.name for alias in node.names)
            elif isinstance(node, ast.If):
                is_type_checking = isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"
                visit(node.orelse if is_type_checking else node.body + node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body + [s for handler in node.handlers for s in handler.body])

    visit(ast.parse(inspect.getsource(module)).body)
    return {name for name in names if not (name.startswith("__") and name.endswith("__"))}


def expected_mirror(original: object) -> object:
    """What tachyon_engine exports in place of a Starlette object: the mirror of a Starlette
    module, the defining mirror module's version of a Starlette class or function, and
    Starlette's object itself for anything else."""
    if isinstance(original, ModuleType) and original.__name__.startswith("starlette"):
        return import_quietly(original.__name__.replace("starlette", "tachyon_engine", 1))
    module = str(getattr(original, "__module__", ""))
    if (inspect.isclass(original) or inspect.isfunction(original)) and module.startswith("starlette."):
        defining_mirror = import_quietly(module.replace("starlette", "tachyon_engine", 1))
        return getattr(defining_mirror, original.__name__)
    return original


@pytest.mark.parametrize("name", starlette_modules())
def test_module_is_mirrored(name: str) -> None:
    theirs = import_quietly(name)
    mirror_name = name.replace("starlette", "tachyon_engine", 1)
    ours = import_quietly(mirror_name)
    replaced = REPLACED.get(mirror_name, set())
    for attribute in sorted(top_level_names(theirs)):
        assert hasattr(ours, attribute), f"{mirror_name} lacks {attribute}"
        mine, original = getattr(ours, attribute), getattr(theirs, attribute)
        if attribute in replaced:
            assert mine is not original, f"{mirror_name}.{attribute} should be tachyon_engine's own"
            if inspect.isclass(original):
                assert issubclass(mine, original)
        else:
            assert mine is expected_mirror(original), f"{mirror_name}.{attribute} is not the mirror of Starlette's"
    assert getattr(ours, "__all__", None) == getattr(theirs, "__all__", None)


def test_every_replacement_is_declared() -> None:
    for mirror_name, names in REPLACED.items():
        module = import_quietly(mirror_name)
        for attribute in names:
            assert getattr(module, attribute).__module__ == mirror_name


def test_status_answers_in_its_own_name() -> None:
    import tachyon_engine.status as status

    with pytest.raises(AttributeError, match="module 'tachyon_engine.status' has no attribute 'HTTP_999'"):
        status.HTTP_999  # noqa: B018
    with pytest.warns(starlette.exceptions.StarletteDeprecationWarning, match="Use 'HTTP_422_UNPROCESSABLE_CONTENT'"):
        assert status.HTTP_422_UNPROCESSABLE_ENTITY == 422


def test_application_class_alias() -> None:
    import tachyon_engine
    from tachyon_engine.applications import Starlette

    assert tachyon_engine.TachyonEngine is Starlette
    assert issubclass(Starlette, starlette.applications.Starlette)
