"""FastAPI on tachyon_engine's router: `APIRouter` and `APIRoute`, for code that prefers explicit
classes to `tachyon_engine.install()` (which puts the same `APIRouter.app` on FastAPI's class).

FastAPI 0.163's `APIRouter.app` is its own loop (telemetry's `http.route`, included-router
wrappers in `routes`, low-priority routes after the main loop). The accelerated `app` below asks
the Rust route index for the main loop's decision only, and hands every request it does not
decide (lifespan, no full or partial match: redirects, low-priority routes, 404; a scope or route
list the index does not take) to FastAPI's own `app`, which then decides exactly as it always does.

FastAPI's `APIRoute.matches` and `APIWebSocketRoute.matches` are Starlette's plus
`child_scope["route"] = route`; `APIRoute.matches` asks an included router's effective route
context instead when the scope carries one. The index reproduces them natively (kind `"+route"`)
and asks the routes themselves whenever the scope carries such a context.

An included router (`include_router` puts an `_IncludedRouter` in `routes`) matches a request in
its own loop over its effective candidates, twice per request (`matches`, then `handle`):
`included_router_match` below is that loop on a route index of the candidates. An effective
context of an `APIRoute` matches as Starlette's `Route.matches` on the context's prefixed path
and methods, and FastAPI's loop adds `child_scope["route"]`; other candidates are asked.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

import fastapi.telemetry._api
import starlette._exception_handler
import starlette.routing
from fastapi import routing as fastapi_routing

from tachyon_engine._exception_handler import STOCK_RESPONSE_CALL, answer_exception, handlers_of
from tachyon_engine.engine.bindings import requests as rust_requests, routing as rust_routing
from tachyon_engine.engine.exit_stacks import leave_on_error, plain_exit_stacks
from tachyon_engine.engine.route_index import describe, index_of, register_equivalent_matches
from tachyon_engine.engine.targets import is_verified, stock
from tachyon_engine.fastapi import bindings as rust_fastapi
from tachyon_engine.routing import Match
from tachyon_engine.types import ASGIApp, Message, Receive, Scope, Send

_SCOPE_KEY = fastapi_routing._FASTAPI_SCOPE_KEY
_stock_request_response = stock("fastapi.routing:request_response")
_stock_wrap = stock("starlette._exception_handler:wrap_app_handling_exceptions")
_CONTEXT_KEY = fastapi_routing._FASTAPI_EFFECTIVE_ROUTE_CONTEXT_KEY
_stock_api_router_app = stock("fastapi.routing:APIRouter.app")


def _carries_route_context(scope: Any) -> bool:
    """Whether `APIRoute.matches` may ask an effective route context for this scope (or raise
    reading it): then the routes answer for themselves."""
    if type(scope) is dict:  # the usual case, without raising a KeyError per request
        fastapi_scope = scope.get(_SCOPE_KEY, _ABSENT)
        if fastapi_scope is _ABSENT:
            return False
    else:
        try:
            fastapi_scope = scope[_SCOPE_KEY]
        except KeyError:
            return False
    return type(fastapi_scope) is not dict or fastapi_scope.get(_CONTEXT_KEY) is not None


_ABSENT = object()


# Declared only for the verified sources of these methods (`targets`); otherwise the routes
# are asked in their place.
if is_verified("fastapi.routing:APIRoute.matches"):
    register_equivalent_matches(
        stock("fastapi.routing:APIRoute.matches"), fastapi_routing.APIRoute, "http+route", _carries_route_context
    )
if is_verified("fastapi.routing:APIWebSocketRoute.matches"):
    register_equivalent_matches(
        stock("fastapi.routing:APIWebSocketRoute.matches"),
        fastapi_routing.APIWebSocketRoute,
        "websocket+route",
        None,
    )


_IncludedRouter: Any = fastapi_routing._IncludedRouter
_EffectiveRouteContext: Any = fastapi_routing._EffectiveRouteContext
_stock_included_match = stock("fastapi.routing:_IncludedRouter._match")
_stock_api_route_matches = stock("fastapi.routing:APIRoute.matches")


def _of_api_route(context: Any) -> bool:
    return isinstance(context.original_route, fastapi_routing.APIRoute)


# `_EffectiveRouteContext.matches` for an `APIRoute`: Starlette's `Route.matches` on its own path,
# convertors, methods and endpoint (the other contexts delegate to other routes).
if is_verified("fastapi.routing:_EffectiveRouteContext.matches"):
    register_equivalent_matches(
        stock("fastapi.routing:_EffectiveRouteContext.matches"),
        _EffectiveRouteContext,
        "http",
        None,
        accepts=_of_api_route,
    )


_stock_get_routes_version = stock("fastapi.routing:APIRouter._get_routes_version")


def get_routes_version(self: Any, seen: set[int] | None = None) -> int:
    """`APIRouter._get_routes_version`: the router's version plus its included routers' (each
    once), which an included router asks twice per request. The routes are scanned for
    included routers in Rust; anything but a list of routes takes FastAPI's own loop."""
    if seen is None:
        seen = set()
    router_id = id(self)
    if router_id in seen:
        return self._routes_version  # type: ignore[no-any-return]
    included = rust_routing.instances_in(self.routes, fastapi_routing._IncludedRouter)
    if included is NotImplemented:
        return _stock_get_routes_version(self, seen)  # type: ignore[no-any-return]
    seen.add(router_id)
    version = self._routes_version
    for route in included:
        version += route.original_router._get_routes_version(seen)
    return version  # type: ignore[no-any-return]


def _indexable(included: Any, candidates: list[Any]) -> bool:
    """Whether the index may run the included router's loop over `candidates`: each `APIRoute`
    context is matched natively (FastAPI's loop asks the route's own `matches`, which must then
    be FastAPI's). Remembered per candidate list (FastAPI builds a new one when routes change)."""
    checked = getattr(included, "_tachyon_indexable", None)
    if checked is not None and checked[0] is candidates:
        return bool(checked[1])
    indexable = all(
        type(candidate.original_route).matches is _stock_api_route_matches and describe(candidate) is not None
        for candidate in candidates
        if isinstance(candidate, _EffectiveRouteContext) and _of_api_route(candidate)
    )
    included._tachyon_indexable = (candidates, indexable)
    return indexable


def included_router_match(self: Any, scope: Scope) -> tuple[Match, Scope, Any, Any]:
    """`_IncludedRouter._match`: the first full match among the effective candidates, else the
    first partial one, as `(match, child_scope, route, effective_context)`."""
    candidates = self.effective_candidates()
    # FastAPI's loop creates (or asserts) the scope's "fastapi" dict: with one there already, its
    # matching leaves the scope as it found it, and so does the index.
    if type(scope.get(_SCOPE_KEY)) is not dict or not _indexable(self, candidates):
        return _stock_included_match(self, scope)  # type: ignore[no-any-return]
    found = index_of(self).resolve(candidates, scope, False)
    if found is NotImplemented:  # also for candidates that are not a list
        return _stock_included_match(self, scope)  # type: ignore[no-any-return]
    kind, candidate, child_scope = found
    if not kind:
        return Match.NONE, {}, None, None
    match = Match.FULL if kind == 2 else Match.PARTIAL
    if isinstance(candidate, _IncludedRouter):
        return match, child_scope, candidate, None
    route = candidate.original_route
    if isinstance(route, fastapi_routing.APIRoute):
        child_scope["route"] = route
        return match, child_scope, route, candidate
    return match, child_scope, candidate.starlette_route or route, candidate


# FastAPI's own message, raised when a dependency with `yield` swallowed the endpoint's error.
_RESPONSE_NOT_AWAITED = (
    "Response not awaited. There's a high chance that the "
    "application code is raising an exception and a dependency with yield "
    "has a block with a bare except, or a block with except Exception, "
    "and is not raising the exception again. Read more about it in the "
    "docs: https://fastapi.tiangolo.com/tutorial/dependencies/dependencies-with-yield/#dependencies-with-yield-and-except"
)


def request_response(func: Callable[[Any], Any]) -> ASGIApp:
    """FastAPI's `request_response`: Starlette's, with the dependencies' two exit stacks in the
    scope, run in one coroutine. The exception layer (`wrap_app_handling_exceptions`) is inline,
    the exit stacks are left only when something was pushed on them (`exit_stacks`), and a
    response keeping Starlette's `__call__` is sent inline. With another exit stack class or
    exception layer in FastAPI's module, FastAPI's own wrapper runs. The names FastAPI's module
    binds are looked up there."""
    routing: Any = fastapi_routing
    endpoint = func if routing.is_async_callable(func) else functools.partial(routing.run_in_threadpool, func)
    stock_app = _stock_request_response(func)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        stack_class = routing.AsyncExitStack
        if routing.wrap_app_handling_exceptions is not _stock_wrap or not plain_exit_stacks(stack_class):
            await stock_app(scope, receive, send)
            return
        request = rust_requests.new_request(routing.Request, scope, receive, send)
        handlers = handlers_of(scope)
        response_started = False
        try:
            # The request's stack around the function's stack around the endpoint, then the response.
            response_awaited = False
            request_stack = scope["fastapi_inner_astack"] = stack_class()
            try:
                function_stack = scope["fastapi_function_astack"] = stack_class()
                try:
                    response = await endpoint(request)
                except BaseException as exc:
                    if not await leave_on_error(function_stack, exc):
                        raise
                else:
                    if function_stack._exit_callbacks:
                        await function_stack.__aexit__(None, None, None)
                if type(response).__call__ is STOCK_RESPONSE_CALL:
                    response_started = True
                    status, headers = response.status_code, response.raw_headers
                    await send({"type": "http.response.start", "status": status, "headers": headers})
                    await send({"type": "http.response.body", "body": response.body})
                    if response.background is not None:
                        await response.background()
                else:

                    async def sender(message: Message) -> None:
                        nonlocal response_started
                        if message["type"] == "http.response.start":
                            response_started = True
                        await send(message)

                    await response(scope, receive, sender)
                response_awaited = True
            except BaseException as exc:
                if not await leave_on_error(request_stack, exc):
                    raise
            else:
                if request_stack._exit_callbacks:
                    await request_stack.__aexit__(None, None, None)
            if not response_awaited:
                raise routing.FastAPIError(_RESPONSE_NOT_AWAITED)
        except Exception as exc:
            await answer_exception(exc, handlers, response_started, request, scope, receive, send)

    return app


_stock_jsonable_encoder = stock("fastapi.routing:jsonable_encoder")


def jsonable_encoder(
    obj: Any,
    include: Any = None,
    exclude: Any = None,
    by_alias: bool = True,
    exclude_unset: bool = False,
    exclude_defaults: bool = False,
    exclude_none: bool = False,
    custom_encoder: Any = None,
    sqlalchemy_safe: bool = True,
) -> Any:
    """FastAPI's `jsonable_encoder` (what its routing module calls to serialise an endpoint's
    return value), in Rust for plain data without `include`, `exclude` or `custom_encoder`:
    the alias and unset/default options only concern models, which FastAPI's function encodes."""
    if include is None and exclude is None and not custom_encoder:
        encoded = rust_fastapi.jsonable_plain(
            obj, exclude_none=bool(exclude_none), sqlalchemy_safe=bool(sqlalchemy_safe)
        )
        if encoded is not NotImplemented:
            return encoded
    return _stock_jsonable_encoder(
        obj,
        include=include,
        exclude=exclude,
        by_alias=by_alias,
        exclude_unset=exclude_unset,
        exclude_defaults=exclude_defaults,
        exclude_none=exclude_none,
        custom_encoder=custom_encoder,
        sqlalchemy_safe=sqlalchemy_safe,
    )


_stock_api_route_handle = stock("fastapi.routing:APIRoute.handle")
_stock_route_handle = stock("starlette.routing:Route.handle")
# Route classes in which Starlette's `Route` comes right after FastAPI's `APIRoute` (its `super()`).
_plain_handle: dict[type, bool] = {}


def _handled_by_its_app(route: Any, scope: Scope) -> bool:
    """Whether `route.handle(scope, ...)` would just call `route.app(scope, ...)`: FastAPI's
    `APIRoute.handle` without an effective route context in the scope, then Starlette's
    `Route.handle` with an allowed method."""
    cls = type(route)
    if cls.handle is not _stock_api_route_handle or starlette.routing.Route.handle is not _stock_route_handle:
        return False
    plain = _plain_handle.get(cls)
    if plain is None:
        mro = cls.__mro__
        plain = (
            fastapi_routing.APIRoute in mro and mro[mro.index(fastapi_routing.APIRoute) + 1] is starlette.routing.Route
        )
        _plain_handle[cls] = plain
    if not plain:
        return False
    if _SCOPE_KEY in scope:
        fastapi_scope = scope[_SCOPE_KEY]
        if type(fastapi_scope) is not dict or fastapi_scope.get(_CONTEXT_KEY) is not None:
            return False
    methods = route.methods
    return not methods or scope["method"] in methods


class APIRoute(fastapi_routing.APIRoute):
    """FastAPI's `APIRoute`, matched natively by tachyon_engine's routers (as FastAPI's own
    class is: it exists to be named as a `route_class`)."""


class APIRouter(fastapi_routing.APIRouter):
    """FastAPI's `APIRouter` whose main routing loop runs on the Rust route index."""

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] in ("http", "websocket", "lifespan")
        # Both branches set `scope["router"]` first, as FastAPI's method does.
        if scope["type"] == "lifespan":
            await _stock_api_router_app(self, scope, receive, send)
        else:
            await routed(self, scope, receive, send)


# FastAPI 0.165's router form limits (`APIRouter.app` applies its own first) and its
# `_update_scope` (merging a child scope's "fastapi" dict), absent or not called there before.
_stock_apply_form_limits = stock("fastapi.routing:_apply_router_form_limits", None)
_stock_update_scope = stock("fastapi.routing:_update_scope")
_ROUTER_FORM_LIMITS = _stock_apply_form_limits is not None


def routed(router: Any, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
    """What `APIRouter.app` awaits for an HTTP or websocket scope (the fused stack awaits it
    directly): the route matched by the main loop, or FastAPI's own code when the index does not
    decide (no full or partial match: redirects, low-priority routes, 404; a scope or route list
    the index does not take), which then repeats the main loop (its `matches` calls are
    idempotent, and so is applying the router's form limits again) and goes on."""
    routing: Any = fastapi_routing
    if _ROUTER_FORM_LIMITS:
        apply_form_limits = routing._apply_router_form_limits
        limits = router.form_limits
        if limits or apply_form_limits is not _stock_apply_form_limits:
            apply_form_limits(scope, limits)
    if "router" not in scope:
        scope["router"] = router
    found = index_of(router).resolve(router.routes, scope, False)
    if found is NotImplemented or not found[0]:
        return _stock_api_router_app(router, scope, receive, send)  # type: ignore[no-any-return]
    _, route, child_scope = found
    if _ROUTER_FORM_LIMITS and (_SCOPE_KEY in child_scope or routing._update_scope is not _stock_update_scope):
        routing._update_scope(scope, child_scope)
    else:
        scope.update(child_scope)
    _route_selected(scope, route)
    if _handled_by_its_app(route, scope):
        return route.app(scope, receive, send)  # type: ignore[no-any-return]
    return route.handle(scope, receive, send)  # type: ignore[no-any-return]


_stock_route_selected = stock("fastapi.routing:_route_selected")


def _route_selected(scope: Scope, route: Any) -> None:
    """FastAPI's `_route_selected(scope=..., path=..., mount=...)` (telemetry's `http.route`),
    skipped while it is FastAPI's own and would return at once: no request telemetry in the scope."""
    select: Any = fastapi_routing._route_selected  # type: ignore[attr-defined]
    if select is _stock_route_selected and not isinstance(
        scope.get("fastapi.telemetry"), _telemetry_api._RequestTelemetry
    ):
        return
    select(scope=scope, path=getattr(route, "path_format", None), mount=isinstance(route, starlette.routing.Mount))


# FastAPI's telemetry module, whose `_RequestTelemetry` its `_route_selected` checks for.
_telemetry_api: Any = fastapi.telemetry._api
