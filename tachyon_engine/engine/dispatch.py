"""The default middleware stack, fused into one coroutine for HTTP requests.

An app without user middleware runs `ServerErrorMiddleware > ExceptionMiddleware > Router >
Route > request_response` on every request: five calls deep, three exception layers, and every
ASGI message forwarded through three `send` wrappers. `LeanStack` runs the same layers inline,
with one response-started flag (the three wrappers see the same messages, so their flags agree)
and Starlette's own code for everything it does not inline:

- the route: a FULL match on a `Route` whose `handle` is Starlette's, with an allowed method and
  an endpoint wrapped by our `request_response`, also inside `Mount`s of routers without
  middleware (resolved in the mounted router's own index); anything else goes through
  `routing.dispatch_resolved` with the router that resolved it;
- the response: sent as `Response.__call__` sends it when its class keeps that method, else
  through the response's own `__call__`;
- each exception layer answers as the middleware it replaces (`answer_exception` for the two
  exception layers, `answer_server_error` for the outermost one), then re-raises the same way.

User middleware that begins with Starlette's `CORSMiddleware`, `GZipMiddleware`,
`TrustedHostMiddleware` or `HTTPSRedirectMiddleware` runs inline too (`inline_middleware`): those
layers' request and response phases in this coroutine, then the default layers as above, or the
rest of the user middleware called as it is. The exception layer's response-started flag and
the outermost layer's then differ (GZip holds the start message back), so there are two.

Websocket and lifespan scopes, and a stack whose parts were replaced or whose classes were
patched (instrumentation libraries do that), go through the full stack, built as usual.
"""

from __future__ import annotations

from typing import Any

import starlette.middleware.errors
import starlette.middleware.exceptions
import starlette.routing
from starlette.middleware.errors import ServerErrorMiddleware

from tachyon_engine._exception_handler import STOCK_RESPONSE_CALL, answer_exception
from tachyon_engine.engine.base_http import STOCK_CALL as STOCK_BASE_HTTP_CALL, base_http_call
from tachyon_engine.engine.bindings.requests import new_request
from tachyon_engine.engine.inline_middleware import (
    answer,
    compose,
    enter,
    recognised_prefix,
    send_through,
    still_stock,
)
from tachyon_engine.engine.route_index import index_of
from tachyon_engine.engine.targets import stock
from tachyon_engine.middleware.exceptions import STOCK_CALL as _stock_exception_call, ExceptionMiddleware
from tachyon_engine.requests import Request
from tachyon_engine.routing import Router, dispatch_resolved
from tachyon_engine.types import ASGIApp, Message, Receive, Scope, Send

# The names ServerErrorMiddleware's and Route's modules bind (patchable there), as they use them.
stock_errors: Any = starlette.middleware.errors
stock_routing: Any = starlette.routing
_stock_server_error_call = stock("starlette.middleware.errors:ServerErrorMiddleware.__call__")
_own_exception_call = ExceptionMiddleware.__call__
_stock_router_call = stock("starlette.routing:Router.__call__")
_ROUTER_APP = Router.app
_ROUTE_HANDLE = starlette.routing.Route.handle
_MOUNT_HANDLE = starlette.routing.Mount.handle


def lean_stack_for(stack: ASGIApp) -> ASGIApp:
    """`stack`, or its `LeanStack` twin when it is the default stack around a router running
    tachyon_engine's `Router.app` (ours, or Starlette's under `install()`), or when its user
    middleware begins with Starlette's classes that the lean dispatch runs inline."""
    if type(stack) is ServerErrorMiddleware:
        inline, after = recognised_prefix(stack.app)
        if inline or _default_inner(after) or type(after).__call__ is STOCK_BASE_HTTP_CALL:
            return LeanStack(stack.app, handler=stack.handler, debug=stack.debug)
    return stack


def _default_inner(layer: Any) -> bool:
    """Whether `layer` is the default `ExceptionMiddleware` around a router the lean dispatch serves."""
    return type(layer) is ExceptionMiddleware and _own_entry(layer.app) is not None


def _own_entry(router: Any) -> Any:
    """The router's entry point (`middleware_stack`), if it is `Router.app` bound to the router
    itself (no router-level middleware); `None` otherwise."""
    if not isinstance(router, starlette.routing.Router):
        return None
    entry = router.middleware_stack
    own = getattr(entry, "__func__", None) is _ROUTER_APP and getattr(entry, "__self__", None) is router
    return entry if own else None


class LeanStack(ServerErrorMiddleware):
    """The outermost layer of the default stack, a `ServerErrorMiddleware` (with its `app`,
    `handler` and `debug`), serving HTTP requests in one coroutine while the layers inside are
    the default ones; otherwise it is exactly `ServerErrorMiddleware`."""

    def __init__(self, app: ASGIApp, handler: Any = None, debug: bool = False) -> None:
        super().__init__(app, handler, debug)
        # The layers checked before each request: set once, compared by identity. First the
        # user middleware run inline (Starlette's own classes), then either the default
        # exception layer and router, or the rest of the stack (`after`), called as it is.
        self._inline, after = recognised_prefix(app)
        self._after = after
        self._first = self._inline[0] if self._inline else after
        self._rest: Any = None
        self._layers: tuple[Any, Any, Any, Any]
        if _default_inner(after):
            router: starlette.routing.Router = after.app
            # The router's index, kept here: `index_of` would find the same one on every request.
            self._layers = (after, router, _own_entry(router), index_of(router))
        else:
            self._rest = after
            self._layers = (None, None, None, None)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        exceptions, router, entry, index = self._layers
        inline, rest = self._inline, self._rest
        # Whether this is an HTTP request and the layers inside still are the ones found, each
        # running its own code (inline: this runs on every request).
        if not (
            scope["type"] == "http"
            and self.app is self._first
            and ServerErrorMiddleware.__call__ is _stock_server_error_call
            and (not inline or still_stock(inline, self._after))
            and (
                rest is not None
                or (
                    exceptions.app is router
                    and router.middleware_stack is entry
                    and type(exceptions).__call__ is _own_exception_call
                    and starlette.middleware.exceptions.ExceptionMiddleware.__call__ is _stock_exception_call
                    and type(router).__call__ is _stock_router_call
                )
            )
        ):
            # Looked up now: instrumentation may have replaced Starlette's method.
            await ServerErrorMiddleware.__call__(self, scope, receive, send)
            return
        # Whether the response started, as the exception layer's wrapper sees it, and (with
        # user middleware in between, which may hold the start message back) as the outermost
        # layer's sees it.
        response_started = outer_started = False
        states: Any = None
        chain: Any = None
        if inline:

            async def outer(message: Message) -> None:
                nonlocal outer_started
                if message["type"] == "http.response.start":
                    outer_started = True
                await send(message)

            async def sender(message: Message) -> None:
                nonlocal response_started, chain
                if message["type"] == "http.response.start":
                    response_started = True
                if chain is None:
                    chain = compose(states, outer)
                await chain(message)

        else:

            async def sender(message: Message) -> None:
                nonlocal response_started
                if message["type"] == "http.response.start":
                    response_started = True
                await send(message)

        try:
            if inline:
                states, answering = enter(inline, scope)
                if answering >= 0:
                    await answer(inline[answering], states, scope, receive, outer)
                    return
            if rest is not None:
                # The rest of the user middleware, as it is (a `BaseHTTPMiddleware` whose class
                # keeps Starlette's `__call__`: that method on asyncio's primitives).
                target = compose(states, outer) if inline else sender
                if type(rest).__call__ is STOCK_BASE_HTTP_CALL:
                    await base_http_call(rest, scope, receive, target)
                else:
                    await rest(scope, receive, target)
                return
            handlers = (exceptions._exception_handlers, exceptions._status_handlers)
            scope["starlette.exception_handlers"] = handlers
            try:
                if "router" not in scope:
                    scope["router"] = router
                # The route resolved in the router's index, then, while it is a `Mount` of a
                # router without middleware, in the mounted router's: `Mount.handle`, the
                # router's `__call__` and its `app`, inline, so routes inside mounts are served
                # here too.
                while True:
                    routes = router.routes
                    # `index.resolve` without its frame in the common case (no guards).
                    found = NotImplemented if index._guards else index._native.resolve(routes, scope, False)
                    if found is NotImplemented:
                        found = index.resolve(routes, scope, False)
                    route: Any
                    kind, route, child_scope = (0, None, {}) if found is NotImplemented else found
                    handle = type(route).handle if kind == 2 else None
                    if handle is not _MOUNT_HANDLE:
                        break
                    mounted: Any = route.app
                    # `_own_entry(mounted)` and `index_of(mounted)`, written out (a call each costs
                    # a frame per request inside a mount).
                    mounted_entry = getattr(mounted, "middleware_stack", None)
                    bound_to_it = getattr(mounted_entry, "__self__", None) is mounted
                    if (
                        type(mounted).__call__ is not _stock_router_call
                        or getattr(mounted_entry, "__func__", None) is not _ROUTER_APP
                        or not bound_to_it
                    ):
                        break
                    scope["route"] = route
                    scope.update(child_scope)
                    try:
                        index = mounted._tachyon_route_index
                    except AttributeError:
                        index = index_of(mounted)
                    router = mounted
                endpoint = None
                # A route fully matched that this coroutine may serve inline: `Route.handle` is
                # Starlette's, the method is allowed, the endpoint is wrapped by our `request_response`.
                if handle is _ROUTE_HANDLE:
                    methods = route.methods
                    if not methods or scope["method"] in methods:
                        endpoint = getattr(route.app, "tachyon_endpoint", None)
                if kind == 1 and _refuses_method(route, scope):
                    scope["route"] = route
                    scope.update(child_scope)
                    # `Route.handle`'s answer, raised here instead of two frames further in.
                    raise stock_routing.HTTPException(status_code=405, headers={"Allow": ", ".join(route.methods)})
                if endpoint is None:
                    await dispatch_resolved(router, index, found, scope, receive, sender)
                    return
                scope["route"] = route
                scope.update(child_scope)
                request = new_request(Request, scope, receive, sender)
                try:
                    response = await endpoint(request)
                    if type(response).__call__ is STOCK_RESPONSE_CALL:
                        response_started = True
                        status, headers = response.status_code, response.raw_headers
                        if inline:
                            start = {"type": "http.response.start", "status": status, "headers": headers}
                            await send_through(
                                states, start, {"type": "http.response.body", "body": response.body}, outer
                            )
                        else:
                            await send({"type": "http.response.start", "status": status, "headers": headers})
                            await send({"type": "http.response.body", "body": response.body})
                        if response.background is not None:
                            await response.background()
                    else:
                        await response(scope, receive, sender)
                except Exception as exc:
                    await answer_exception(exc, handlers, response_started, request, scope, receive, sender)
            except Exception as exc:
                await answer_exception(exc, handlers, response_started, None, scope, receive, sender)
        except Exception as exc:
            started = outer_started if inline else response_started
            await answer_server_error(self, exc, started, scope, receive, send)
            raise exc


def _refuses_method(route: Any, scope: Scope) -> bool:
    """Whether the route partially matched is a `Route` whose own `handle` raises its 405."""
    methods = route.methods
    return type(route).handle is _ROUTE_HANDLE and bool(methods) and scope["method"] not in methods and "app" in scope


async def answer_server_error(
    errors: ServerErrorMiddleware, exc: Exception, response_started: bool, scope: Scope, receive: Receive, send: Send
) -> None:
    """`ServerErrorMiddleware`'s answer to an unhandled exception (its caller re-raises it), with
    the names that middleware's module binds, looked up there."""
    request = stock_errors.Request(scope)
    handler: Any = errors.handler
    response: Any
    if errors.debug:
        response = await stock_errors.run_in_threadpool(errors.debug_response, request, exc)
    elif handler is None:
        response = errors.error_response(request, exc)
    elif stock_errors.is_async_callable(handler):
        response = await handler(request, exc)
    else:
        response = await stock_errors.run_in_threadpool(handler, request, exc)
    if not response_started:
        await response(scope, receive, send)
