"""Mirror of `starlette.routing`.

`Router` finds its route through a Rust index (see `_route_index`) with Starlette's exact
decisions, and function endpoints receive tachyon_engine's `Request` / `WebSocket`.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Collection, Sequence
from typing import Any

import starlette.responses
import starlette.routing
from starlette.routing import (
    _T as _T,
    PARAM_FORMAT_REGEX as PARAM_FORMAT_REGEX,
    PARAM_REGEX as PARAM_REGEX,
    BaseRoute as BaseRoute,
    Host as Host,
    Match as Match,
    NoMatchFound as NoMatchFound,
    _AsyncLiftContextManager as _AsyncLiftContextManager,
    _DefaultLifespan as _DefaultLifespan,
    _wrap_gen_lifespan_context as _wrap_gen_lifespan_context,
    compile_path as compile_path,
    get_name as get_name,
    replace_params as replace_params,
)

from tachyon_engine._exception_handler import (
    call_handling_exceptions,
    wrap_app_handling_exceptions as wrap_app_handling_exceptions,
)
from tachyon_engine._utils import (
    get_route_path as get_route_path,
    is_async_callable as is_async_callable,
    parse_host_header as parse_host_header,
)
from tachyon_engine.concurrency import (
    run_in_threadpool as run_in_threadpool,
)
from tachyon_engine.convertors import (
    CONVERTOR_TYPES as CONVERTOR_TYPES,
    Convertor as Convertor,
)
from tachyon_engine.datastructures import (
    URL as URL,
    Headers as Headers,
    URLPath as URLPath,
)
from tachyon_engine.engine.bindings.requests import new_request
from tachyon_engine.engine.route_index import index_of
from tachyon_engine.engine.targets import stock
from tachyon_engine.exceptions import (
    HTTPException as HTTPException,
    StarletteDeprecationWarning as StarletteDeprecationWarning,
)
from tachyon_engine.middleware import (
    Middleware as Middleware,
)
from tachyon_engine.middleware.body_limit import (
    RequestBodyLimitMiddleware as RequestBodyLimitMiddleware,
)
from tachyon_engine.requests import (
    Request as Request,
)
from tachyon_engine.responses import (
    PlainTextResponse as PlainTextResponse,
    RedirectResponse as RedirectResponse,
    Response as Response,
)
from tachyon_engine.types import (
    ASGIApp as ASGIApp,
    Lifespan as Lifespan,
    Receive as Receive,
    Scope as Scope,
    Send as Send,
)
from tachyon_engine.websockets import (
    WebSocket as WebSocket,
    WebSocketClose as WebSocketClose,
)


def request_response(
    func: Callable[[Request], Awaitable[Response] | Response],
) -> ASGIApp:
    """Turns `func(request) -> response` (sync or async) into an ASGI app."""
    endpoint: Callable[[Request], Awaitable[Response]] = (
        func if is_async_callable(func) else functools.partial(run_in_threadpool, func)  # type: ignore[assignment, call-arg]
    )

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        request = new_request(Request, scope, receive, send)

        async def respond(scope: Scope, receive: Receive, send: Send) -> None:
            response = await endpoint(request)
            await response(scope, receive, send)

        await call_handling_exceptions(respond, scope, receive, send, conn=request)

    # The lean dispatch (`engine.dispatch.LeanStack`) calls the endpoint itself, with the same layers.
    app.tachyon_endpoint = endpoint  # type: ignore[attr-defined]
    return app


def websocket_session(func: Callable[[WebSocket], Awaitable[None]]) -> ASGIApp:
    """Turns the coroutine `func(websocket)` into an ASGI app."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        session = WebSocket(scope, receive=receive, send=send)

        async def serve(scope: Scope, receive: Receive, send: Send) -> None:
            await func(session)

        await call_handling_exceptions(serve, scope, receive, send, conn=session)

    return app


def _wrap_app(app: ASGIApp, middleware: Sequence[Middleware] | None, max_body_size: int | None) -> ASGIApp:
    """Wraps a route's app the way Starlette's route constructors do: the first middleware
    outermost, and the body-size limit outside all of them."""
    for cls, args, kwargs in reversed(middleware or ()):
        app = cls(app, *args, **kwargs)
    if max_body_size is not None:
        app = RequestBodyLimitMiddleware(app, max_body_size=max_body_size)
    return app


class Route(starlette.routing.Route):
    def __init__(
        self,
        path: str,
        endpoint: Callable[..., Any],
        *,
        methods: Collection[str] | None = None,
        name: str | None = None,
        include_in_schema: bool = True,
        middleware: Sequence[Middleware] | None = None,
        max_body_size: int | None = None,
    ) -> None:
        super().__init__(path, endpoint, methods=methods, name=name, include_in_schema=include_in_schema)
        # Starlette wrapped a function endpoint in its own `request_response`; use ours.
        if self.app is not endpoint:
            self.app = request_response(endpoint)
        self.app = _wrap_app(self.app, middleware, max_body_size)


class WebSocketRoute(starlette.routing.WebSocketRoute):
    def __init__(
        self,
        path: str,
        endpoint: Callable[..., Any],
        *,
        name: str | None = None,
        middleware: Sequence[Middleware] | None = None,
    ) -> None:
        super().__init__(path, endpoint, name=name)
        # Starlette wrapped a function endpoint in its own `websocket_session`; use ours.
        if self.app is not endpoint:
            self.app = websocket_session(endpoint)
        self.app = _wrap_app(self.app, middleware, None)


class Mount(starlette.routing.Mount):
    def __init__(
        self,
        path: str,
        app: ASGIApp | None = None,
        routes: Sequence[BaseRoute] | None = None,
        name: str | None = None,
        *,
        middleware: Sequence[Middleware] | None = None,
        max_body_size: int | None = None,
    ) -> None:
        super().__init__(path, app=app, routes=routes, name=name)
        # Starlette built its own router for `routes`; mount an indexed one instead.
        if app is None:
            self._base_app = Router(routes=self.routes)
        self.app = _wrap_app(self._base_app, middleware, max_body_size)


# Starlette's own router loop: the fallback of `Router.app` below, called explicitly because
# `install()` puts that same function on Starlette's `Router`.
_stock_router_app = stock("starlette.routing:Router.app")


def _matches_any(router: starlette.routing.Router, index: Any, scope: Scope) -> bool:
    """Whether any route matches `scope` at all, asking routes in order until one does."""
    found = index.resolve(router.routes, scope, True)
    if found is not NotImplemented:
        return bool(found[0])
    for route in router.routes:
        match, _ = route.matches(scope)
        if match is not Match.NONE:
            return True
    return False


async def dispatch_resolved(
    router: starlette.routing.Router, index: Any, found: Any, scope: Scope, receive: Receive, send: Send
) -> None:
    """Serves the request the index resolved (`found`), as the rest of Starlette's `Router.app`
    does (a module function: `install()` runs `Router.app` on Starlette's own routers too)."""
    if found is NotImplemented:
        await _stock_router_app(router, scope, receive, send)
        return
    kind, route, child_scope = found
    if kind:
        scope["route"] = route
        scope.update(child_scope)
        await route.handle(scope, receive, send)
        return

    route_path = get_route_path(scope)
    if scope["type"] == "http" and router.redirect_slashes and route_path != "/":
        redirect_scope = dict(scope)
        if route_path.endswith("/"):
            redirect_scope["path"] = redirect_scope["path"].rstrip("/")
        else:
            redirect_scope["path"] = redirect_scope["path"] + "/"
        if _matches_any(router, index, redirect_scope):
            redirect_url = URL(scope=redirect_scope)
            response = RedirectResponse(url=str(redirect_url))
            await response(scope, receive, send)
            return

    await router.default(scope, receive, send)


class Router(starlette.routing.Router):
    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] in ("http", "websocket", "lifespan")

        if "router" not in scope:
            scope["router"] = self

        if scope["type"] == "lifespan":
            await self.lifespan(scope, receive, send)
            return

        index = index_of(self)
        await dispatch_resolved(self, index, index.resolve(self.routes, scope, False), scope, receive, send)

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        for route in index_of(self).url_path_candidates(self.routes, name):
            try:
                return route.url_path_for(name, **path_params)
            except NoMatchFound:
                pass
        raise NoMatchFound(name, path_params)

    def mount(self, path: str, app: ASGIApp, name: str | None = None) -> None:  # pragma: no cover
        self.routes.append(Mount(path, app=app, name=name))

    def add_route(
        self,
        path: str,
        endpoint: Callable[[Request], Awaitable[starlette.responses.Response] | starlette.responses.Response],
        methods: Collection[str] | None = None,
        name: str | None = None,
        include_in_schema: bool = True,
    ) -> None:  # pragma: no cover
        route = Route(path, endpoint=endpoint, methods=methods, name=name, include_in_schema=include_in_schema)
        self.routes.append(route)

    def add_websocket_route(
        self,
        path: str,
        endpoint: Callable[[WebSocket], Awaitable[None]],
        name: str | None = None,
    ) -> None:  # pragma: no cover
        self.routes.append(WebSocketRoute(path, endpoint=endpoint, name=name))
