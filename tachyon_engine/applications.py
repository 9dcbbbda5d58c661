"""Mirror of `starlette.applications`: the application class, `TachyonEngine`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import starlette.applications
from starlette.applications import (
    AppType as AppType,
    P as P,
)

from tachyon_engine.datastructures import (
    State as State,
    URLPath as URLPath,
)
from tachyon_engine.engine.dispatch import lean_stack_for
from tachyon_engine.middleware import (
    Middleware as Middleware,
    _MiddlewareFactory as _MiddlewareFactory,
)
from tachyon_engine.middleware.body_limit import (
    RequestBodyLimitMiddleware as RequestBodyLimitMiddleware,
)
from tachyon_engine.middleware.errors import (
    ServerErrorMiddleware as ServerErrorMiddleware,
)
from tachyon_engine.middleware.exceptions import (
    ExceptionMiddleware as ExceptionMiddleware,
)
from tachyon_engine.requests import (
    Request as Request,
)
from tachyon_engine.responses import (
    Response as Response,
)
from tachyon_engine.routing import (
    BaseRoute as BaseRoute,
    Router as Router,
)
from tachyon_engine.types import (
    ASGIApp as ASGIApp,
    ExceptionHandler as ExceptionHandler,
    Lifespan as Lifespan,
    Receive as Receive,
    Scope as Scope,
    Send as Send,
)


class Starlette(starlette.applications.Starlette):
    """Creates an application: Starlette's, with tachyon_engine's router and exception layer."""

    def __init__(
        self: AppType,
        debug: bool = False,
        routes: Sequence[BaseRoute] | None = None,
        middleware: Sequence[Middleware] | None = None,
        exception_handlers: Mapping[Any, ExceptionHandler] | None = None,
        lifespan: Lifespan[AppType] | None = None,
        *,
        max_body_size: int | None = None,
    ) -> None:
        # Routes and lifespan go to our router only: `routes` may be a one-shot iterable, and a
        # deprecated lifespan must warn once.
        super().__init__(debug, None, middleware, exception_handlers, None, max_body_size=max_body_size)
        self.router = Router(routes, lifespan=lifespan)

    def build_middleware_stack(self) -> ASGIApp:
        error_handler = None
        exception_handlers: dict[Any, ExceptionHandler] = {}
        for key, value in self.exception_handlers.items():
            if key in (500, Exception):
                error_handler = value
            else:
                exception_handlers[key] = value

        middleware = [Middleware(ServerErrorMiddleware, handler=error_handler, debug=self.debug)]
        if self.max_body_size is not None:
            middleware.append(Middleware(RequestBodyLimitMiddleware, max_body_size=self.max_body_size))
        middleware += self.user_middleware
        middleware.append(Middleware(ExceptionMiddleware, handlers=exception_handlers, debug=self.debug))

        app: ASGIApp = self.router
        for cls, args, kwargs in reversed(middleware):
            app = cls(app, *args, **kwargs)
        return lean_stack_for(app)


TachyonEngine = Starlette
