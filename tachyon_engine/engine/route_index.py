"""The per-router index behind tachyon_engine's routing.

Each route is described once (`describe`) for the Rust `RouteIndex`: plain `Route` and
`WebSocketRoute` objects with built-in convertors (and route classes whose `matches` is declared
equivalent, such as FastAPI's `APIRoute`) are matched natively, `Mount` is narrowed
by its path prefix and confirmed by its own `matches`, and anything else (`Host`, custom
convertors, route classes that override `matches`) is confirmed by its own `matches` on every
request. The native side checks before each request that the router's `routes` list still
holds the same objects, so routes added, removed or replaced at any time are honoured.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from starlette.convertors import (
    Convertor,
    FloatConvertor,
    IntegerConvertor,
    PathConvertor,
    StringConvertor,
    UUIDConvertor,
)
from starlette.routing import PARAM_REGEX, BaseRoute, Match, Mount, Route, WebSocketRoute

from tachyon_engine.engine.bindings import routing as rust_routing

Descriptor = tuple[str, list[str | tuple[str, str]]] | None


class _Builtin(NamedTuple):
    name: str
    regex: str
    convert: Any


# The built-in convertors as Starlette defines them, captured at import: a convertor whose
# class, regex or `convert` differs from these is not matched natively.
_BUILTIN_CLASSES: list[tuple[str, type[Convertor[Any]]]] = [
    ("str", StringConvertor),
    ("path", PathConvertor),
    ("int", IntegerConvertor),
    ("float", FloatConvertor),
    ("uuid", UUIDConvertor),
]
_BUILTIN_CONVERTORS = {cls: _Builtin(name, cls.regex, cls.convert) for name, cls in _BUILTIN_CLASSES}


class _Equivalent(NamedTuple):
    """A `matches` function whose answer the native index reproduces: `kind` for routes that
    are instances of `base` (and that `accepts`, when given), unless `guard(scope)` says this
    request must ask the route."""

    base: type[Any]
    kind: str
    guard: Callable[[Any], bool] | None
    accepts: Callable[[Any], bool] | None = None


_EQUIVALENT_MATCHES: dict[Any, _Equivalent] = {
    Route.matches: _Equivalent(Route, "http", None),
    WebSocketRoute.matches: _Equivalent(WebSocketRoute, "websocket", None),
    Mount.matches: _Equivalent(Mount, "mount", None),
}


def register_equivalent_matches(
    matches: Callable[..., Any],
    base: type[Any],
    kind: str,
    guard: Callable[[Any], bool] | None,
    accepts: Callable[[Any], bool] | None = None,
) -> None:
    """Declares that `matches` answers like Starlette's `matches` of `kind` (`"http"`,
    `"websocket"`, with a `"+route"` suffix when it also sets `child_scope["route"] = route`),
    for instances of `base` that `accepts` (all when `None`), on every request where
    `guard(scope)` is false. A differential test must back every such declaration."""
    _EQUIVALENT_MATCHES[matches] = _Equivalent(base, kind, guard, accepts)


def _equivalent(route: Any) -> _Equivalent | None:
    """The native description of the route's `matches`, if it runs one the index reproduces."""
    try:
        equivalent = _EQUIVALENT_MATCHES.get(type(route).matches)
    except TypeError:  # an unhashable `matches` attribute
        return None
    if equivalent is None or not isinstance(route, equivalent.base):
        return None
    return equivalent if equivalent.accepts is None or equivalent.accepts(route) else None


def _segments(path: str, convertors: dict[str, Convertor[Any]], path_regex: re.Pattern[str]) -> list[Any] | None:
    """The path as literal and `(name, convertor)` segments, if the route's compiled regex is
    exactly what these segments compile to and every convertor is a built-in one."""
    segments: list[str | tuple[str, str]] = []
    expected = "^"
    end = 0
    for match in PARAM_REGEX.finditer(path):
        name = match.group(1)
        convertor = convertors.get(name)
        builtin = None if convertor is None else _BUILTIN_CONVERTORS.get(type(convertor))
        if (
            convertor is None
            or builtin is None
            or getattr(convertor, "__dict__", None)
            or type(convertor).regex != builtin.regex
            or type(convertor).convert is not builtin.convert
        ):
            return None
        literal = path[end : match.start()]
        if literal:
            segments.append(literal)
        segments.append((name, builtin.name))
        expected += re.escape(literal) + f"(?P<{name}>{builtin.regex})"
        end = match.end()
    tail = path[end:]
    if tail:
        segments.append(tail)
    expected += re.escape(tail) + "$"
    if path_regex.pattern != expected or path_regex.flags != re.UNICODE:
        return None
    return segments


def describe(route: Any) -> Descriptor:
    """What the native index needs to know about a route; `None` to always ask the route."""
    equivalent = _equivalent(route)
    if equivalent is None:
        return None
    kind = equivalent.kind
    try:
        path = route.path + "/{path:path}" if kind == "mount" else route.path
        segments = _segments(path, route.param_convertors, route.path_regex)
    except (AttributeError, TypeError):
        return None
    return None if segments is None else (kind, segments)


def _plain_name(route: BaseRoute) -> str | None:
    """The name a route answers `url_path_for` to, when its `url_path_for` is the stock
    exact-name one (Route, WebSocketRoute); `None` when it must always be asked."""
    cls = type(route)
    stock = (isinstance(route, Route) and cls.url_path_for is Route.url_path_for) or (
        isinstance(route, WebSocketRoute) and cls.url_path_for is WebSocketRoute.url_path_for
    )
    name = getattr(route, "name", None) if stock else None
    return name if isinstance(name, str) else None


class RouteIndex:
    """One router's index: routing candidates and `url_path_for` candidates."""

    __slots__ = ("_always_named", "_by_name", "_guards", "_native")

    def __init__(self) -> None:
        self._native = rust_routing.RouteIndex(Match.FULL, Match.PARTIAL, uuid.UUID)
        self._by_name: dict[str, list[int]] = {}
        self._always_named: list[int] = []
        # The guards of the routes described natively under a condition (see `_Equivalent`).
        self._guards: tuple[Callable[[Any], bool], ...] = ()

    def _refresh(self, routes: Sequence[BaseRoute]) -> bool:
        """Re-describes `routes` if they changed; `False` if they cannot be indexed."""
        if self._native.is_current(routes):
            return True
        if type(routes) is not list:
            return False
        descriptors = [describe(route) for route in routes]
        guards = []
        for route, descriptor in zip(routes, descriptors, strict=True):
            guard = None if descriptor is None else _EQUIVALENT_MATCHES[type(route).matches].guard
            if guard is not None and guard not in guards:
                guards.append(guard)
        self._native.rebuild(routes, descriptors)
        self._guards = tuple(guards)
        self._by_name, self._always_named = {}, []
        for position, route in enumerate(routes):
            name = _plain_name(route)
            if name is None:
                self._always_named.append(position)
            else:
                self._by_name.setdefault(name, []).append(position)
        return True

    def resolve(self, routes: Sequence[BaseRoute], scope: Any, stop_at_partial: bool) -> Any:
        """`(kind, route, child_scope)` with kind 2 (full), 1 (partial) or 0 (none), or
        `NotImplemented` when Starlette's own loop must answer. (While `_guards` is empty, a
        hot path may call `_native.resolve` itself, and this method when that says
        `NotImplemented`.)"""
        # Every request comes through here: the common case (no guards) is one native call.
        if self._guards and self._guarded(scope):
            return NotImplemented
        found = self._native.resolve(routes, scope, stop_at_partial)
        if found is NotImplemented and not self._native.is_current(routes) and self._refresh(routes):
            found = NotImplemented if self._guarded(scope) else self._native.resolve(routes, scope, stop_at_partial)
        return found

    def _guarded(self, scope: Any) -> bool:
        """Whether a guard sends this request to the routes' own `matches`."""
        for guard in self._guards:  # (a loop: `any` over a generator costs more per request)
            if guard(scope):
                return True
        return False

    def url_path_candidates(self, routes: Sequence[BaseRoute], name: str) -> Sequence[BaseRoute]:
        """The routes that may answer `url_path_for(name, ...)`, in order."""
        if not self._refresh(routes):
            return routes
        positions = sorted(self._by_name.get(name, []) + self._always_named)
        return [routes[position] for position in positions]


def index_of(router: Any) -> RouteIndex:
    """The router's index, created on first use (routers of any class can be indexed)."""
    try:
        index: RouteIndex = router._tachyon_route_index
    except AttributeError:
        index = router._tachyon_route_index = RouteIndex()
    return index
