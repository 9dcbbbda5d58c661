"""`install()` / `uninstall()` / `is_installed()`: Starlette's own classes on the accelerated paths.

FastAPI and other Starlette-based libraries import `starlette.*` directly, so the import swap
cannot reach them. `install()` instead puts tachyon_engine's implementations on Starlette's (and
FastAPI's) classes and modules in place, from the registry of targets, `targets.PATCHES`: each
entry names a target (module, then attribute path), the replacement (module, then attribute path)
and the stock objects it reproduces, so a new accelerated path is one more entry. The
replacements are the very functions tachyon_engine's subclasses use; they fall back to the saved
stock function explicitly (see `patching`).

Rules:

- Idempotent: a second `install()` changes nothing.
- A target is replaced only when every stock object its replacement reproduces has a verified
  source (`targets`): another release of the library, or an edited copy, leaves it stock.
- A target is replaced only while it still holds the library's own code (its code object lives in
  the library's package, and it wraps nothing). A target that a third party (sentry-sdk,
  OpenTelemetry, a test's monkeypatch) replaced first keeps the third party's value: whoever
  patches last wins, and that third party patched after Starlette.
- Targets in modules not imported yet (all of them when `install()` runs from the `.pth` hook at
  interpreter start) are patched right after their module is imported, by a finder on
  `sys.meta_path`; `install()` never imports Starlette or FastAPI itself.
- `uninstall()` puts back exactly what it found (deleting the attribute again where the class
  inherited it) wherever the target still holds tachyon_engine's replacement. Where a third party
  has since wrapped the replacement, its wrapper stays (removing it would silently undo the third
  party's patch); the replacement it calls behaves exactly as stock does, and `uninstall()`
  returns the targets it left that way.
- Objects built while installed keep what they bound at construction: `Router.__init__` binds
  `self.app` as `middleware_stack`, so call `install()` before the application is built (at the
  top of the entry module, or through `TACHYON_ENGINE_INSTALL=1`).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import inspect
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any, NamedTuple

from tachyon_engine.engine.patching import SAVED
from tachyon_engine.engine.targets import PATCHES, Patch, patch_unverified_reason

_MISSING: Any = object()


class _Applied(NamedTuple):
    patch: Patch
    owner: Any
    attribute: str
    own_value: Any  # what `owner.__dict__` held (`_MISSING`: the value was inherited)
    replacement: Any


class _State:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.installed = False
        self.applied: list[_Applied] = []
        self.skipped: dict[str, str] = {}  # target -> why it was left stock
        self.pending: set[str] = set()  # modules whose import the finder waits for
        self.deferred: list[Patch] = []  # patches whose replacement's module was mid-import
        self.executed: set[str] = set()  # modules the finder saw run to their end


_state = _State()


def install() -> None:
    """Runs Starlette (and FastAPI, imported now or later) on tachyon_engine's accelerated
    paths, in place. Call it before the application is built. Idempotent."""
    with _state.lock:
        if _state.installed:
            return
        _state.installed = True
        _state.skipped = {}
        # Modules imported later are patched on import, so that `install()` imports nothing itself
        # (at interpreter start, importing Starlette would import anyio before pytest can rewrite
        # its plugin, for one).
        for name in sorted({patch.module for patch in PATCHES}):
            module = sys.modules.get(name)
            if module is not None and _fully_imported(module):
                _apply_module(module)
            else:
                _state.pending.add(name)
        # The replacements' modules too: one imported first (`import tachyon_engine.routing`
        # imports `starlette.routing` before defining `Router`) completes its patches when done.
        for name in {patch.replacement.partition(":")[0] for patch in PATCHES}:
            module = sys.modules.get(name)
            if module is None or not _fully_imported(module):
                _state.pending.add(name)
        if _state.pending and _FINDER not in sys.meta_path:
            sys.meta_path.insert(0, _FINDER)


def uninstall() -> list[str]:
    """Restores the stock classes and functions. Returns the targets left in place because a
    third party wrapped tachyon_engine's replacement after `install()` (empty normally)."""
    with _state.lock:
        kept = []
        for applied in reversed(_state.applied):
            current = vars(applied.owner).get(applied.attribute, _MISSING)
            if current is applied.replacement:
                if applied.own_value is _MISSING:
                    delattr(applied.owner, applied.attribute)
                else:
                    setattr(applied.owner, applied.attribute, applied.own_value)
            else:
                kept.append(f"{applied.patch.module}.{applied.patch.target}")
            SAVED.pop((applied.owner, applied.attribute), None)
        _state.applied = []
        _state.pending.clear()
        _state.deferred = []
        _state.installed = False
        if _FINDER in sys.meta_path:
            sys.meta_path.remove(_FINDER)
        return sorted(kept)


def is_installed() -> bool:
    """Whether `install()` is in effect."""
    return _state.installed


def installed_patches() -> dict[str, str]:
    """Every target replaced now, with its replacement; and every skipped target, with why."""
    with _state.lock:
        report = {f"{a.patch.module}.{a.patch.target}": a.patch.replacement for a in _state.applied}
        report.update({target: f"skipped: {reason}" for target, reason in _state.skipped.items()})
        report.update(
            {
                f"{patch.module}.{patch.target}": "waiting for the module's import"
                for patch in PATCHES
                if patch.module in _state.pending
            }
        )
        return report


def _fully_imported(module: ModuleType) -> bool:
    spec = getattr(module, "__spec__", None)
    return not getattr(spec, "_initializing", False)


def _apply_module(module: ModuleType) -> None:
    for patch in PATCHES:
        if patch.module == module.__name__:
            _apply(patch, module)


def _apply(patch: Patch, module: ModuleType) -> None:
    *path, attribute = patch.target.split(".")
    owner: Any = module
    for part in path:
        owner = getattr(owner, part)
    current = inspect.getattr_static(owner, attribute)
    if attribute in vars(owner) and not _is_pristine(current, module):
        _state.skipped[patch.name] = "replaced by someone else before install()"
        return
    unverified = patch_unverified_reason(patch)
    if unverified is not None:
        _state.skipped[patch.name] = unverified
        return
    replacement_module = patch.replacement.partition(":")[0]
    loaded = sys.modules.get(replacement_module)
    if loaded is not None and not _fully_imported(loaded) and replacement_module not in _state.executed:
        # `import tachyon_engine.routing` imports `starlette.routing` first: patch once it is done.
        _state.deferred.append(patch)
        _state.pending.add(replacement_module)
        return
    try:
        replacement = _resolve(patch.replacement)
    except Exception as exc:  # the replacement's module does not take this release
        _state.skipped[patch.name] = f"{patch.replacement} unavailable: {type(exc).__name__}: {exc}"
        return
    own_value = vars(owner).get(attribute, _MISSING)
    SAVED[(owner, attribute)] = current
    setattr(owner, attribute, replacement)
    _state.applied.append(_Applied(patch, owner, attribute, own_value, replacement))


def _resolve(spec: str) -> Any:
    module_name, _, path = spec.partition(":")
    value: Any = importlib.import_module(module_name)
    for part in path.split("."):
        value = inspect.getattr_static(value, part)
    return value


def _is_pristine(value: Any, module: ModuleType) -> bool:
    """Whether `value`, set on the target itself, is the library's own code: a function (or a
    property's getter) compiled from a file of the target's top-level package, wrapping nothing.
    (An inherited value, `Headers.get` from `Mapping`, is the library's choice as it stands.)"""
    function = value.fget if isinstance(value, property) else value
    code = getattr(function, "__code__", None)
    if code is None or hasattr(function, "__wrapped__"):
        return False
    package = sys.modules[module.__name__.split(".")[0]]
    roots = [Path(root).resolve() for root in getattr(package, "__path__", [])]
    return any(Path(code.co_filename).resolve().is_relative_to(root) for root in roots)


class _PatchAfterImport(importlib.abc.MetaPathFinder):
    """Finds nothing itself: for a module whose patches are pending, it wraps the loader the
    other finders return, so that the patches apply as soon as the module has run."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in _state.pending:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        if spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return None
        spec.loader = _LoaderThenPatch(spec.loader)
        return spec


class _LoaderThenPatch(importlib.abc.Loader):
    def __init__(self, loader: Any) -> None:
        self.loader = loader

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self.loader.create_module(spec)  # type: ignore[no-any-return]

    def exec_module(self, module: ModuleType) -> None:
        # The module looks as if imported normally: its own loader, not this wrapper.
        module.__loader__ = self.loader
        if module.__spec__ is not None:
            module.__spec__.loader = self.loader
        self.loader.exec_module(module)
        # What the import system does next, done now: the replacements' modules import this one
        # by its dotted name.
        parent, _, child = module.__name__.rpartition(".")
        if parent in sys.modules:
            setattr(sys.modules[parent], child, module)
        with _state.lock:
            if module.__name__ in _state.pending:
                _state.pending.discard(module.__name__)
                _state.executed.add(module.__name__)
                _apply_module(module)
                ready = [p for p in _state.deferred if p.replacement.partition(":")[0] == module.__name__]
                _state.deferred = [p for p in _state.deferred if p not in ready]
                for patch in ready:
                    _apply(patch, sys.modules[patch.module])
            if not _state.pending and _FINDER in sys.meta_path:
                sys.meta_path.remove(_FINDER)


_FINDER = _PatchAfterImport()
