"""The registry of targets: every third-party internal `install()` replaces, what each replacement
reproduces, and which stock sources it has been verified against.

A replacement reimplements stock code, so it is exact only for the releases it was ported from. A
target is therefore replaced only after every stock object its replacement reproduces (the
target itself, and the functions whose behaviour it inlines) has been found to have one of the
sources recorded in `verified_sources.VERIFIED_SOURCES` (SHA-256 of the function's source text,
`inspect.getsource`'s, each with the releases it was recorded on). Any other source, a new
release or a local edit, leaves the target stock, and `installed_patches()` says which object
did not verify. An object absent from
a release (added upstream later) is recorded as absent (`None`) for it.

`python -m tachyon_engine.engine.targets record` prints the digests of the current environment;
`python -m tachyon_engine.engine.targets merge <record>...` prints `engine/verified_sources.py` made from
such records (`make verified-sources` records every supported release and rewrites it).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import inspect
import json
import linecache
import sys
from pathlib import Path
from typing import Any, NamedTuple

from tachyon_engine.engine.patching import SAVED, original
from tachyon_engine.engine.verified_sources import VERIFIED_SOURCES


class Patch(NamedTuple):
    """`module.target` (a dotted attribute path, `"Router.app"` or `"cookie_parser"`) becomes
    `replacement`, written `"package.module:Attribute.path"` and read without binding
    descriptors (a function, a property). `reproduces` names the other stock objects
    (`"module:Qualified.name"`) whose behaviour the replacement inlines; `engages` the
    `native_counts()` counter that shows it answering, where it has one."""

    module: str
    target: str
    replacement: str
    reproduces: tuple[str, ...] = ()
    engages: str | None = None

    @property
    def name(self) -> str:
        return f"{self.module}.{self.target}"

    def stock_objects(self) -> tuple[str, ...]:
        """Every stock object the replacement must have been verified against, the target first."""
        return (f"{self.module}:{self.target}", *self.reproduces)


# Starlette's layers that the lean dispatches run inline, and its endpoint wrapper's pieces.
_STARLETTE_LAYERS = (
    "starlette.middleware.errors:ServerErrorMiddleware.__call__",
    "starlette.middleware.errors:ServerErrorMiddleware.error_response",
    "starlette.middleware.errors:ServerErrorMiddleware.debug_response",
    "starlette.middleware.exceptions:ExceptionMiddleware.__call__",
    "starlette._exception_handler:wrap_app_handling_exceptions",
    "starlette.routing:Router.__call__",
    "starlette.routing:Route.handle",
    "starlette.responses:Response.__call__",
)
# Starlette's middleware classes that the lean dispatch runs inline (`engine.inline_middleware`).
_STARLETTE_INLINE_MIDDLEWARE = (
    "starlette.middleware.cors:CORSMiddleware.__call__",
    "starlette.middleware.cors:CORSMiddleware.simple_response",
    "starlette.middleware.cors:CORSMiddleware.send",
    "starlette.middleware.cors:CORSMiddleware.is_allowed_origin",
    "starlette.middleware.cors:CORSMiddleware.allow_explicit_origin",
    "starlette.middleware.cors:CORSMiddleware.preflight_response",
    "starlette.middleware.gzip:GZipMiddleware.__call__",
    "starlette.middleware.gzip:IdentityResponder.send_with_compression",
    "starlette.middleware.gzip:GZipResponder.apply_compression",
    "starlette.middleware.gzip:GZipResponder._compress_body",
    "starlette.middleware.gzip:GZipResponder.compressor",
    "starlette.middleware.trustedhost:TrustedHostMiddleware.__call__",
    "starlette.middleware.httpsredirect:HTTPSRedirectMiddleware.__call__",
    "starlette.datastructures:MutableHeaders.__setitem__",
    "starlette.datastructures:MutableHeaders.add_vary_header",
)
# AnyIO's memory object streams, event and task group, which `engine.base_http` reproduces on asyncio.
_ANYIO_STREAMS = (
    "anyio.streams.memory:MemoryObjectSendStream.send",
    "anyio.streams.memory:MemoryObjectSendStream.send_nowait",
    "anyio.streams.memory:MemoryObjectSendStream.close",
    "anyio.streams.memory:MemoryObjectReceiveStream.receive",
    "anyio.streams.memory:MemoryObjectReceiveStream.receive_nowait",
    "anyio.streams.memory:MemoryObjectReceiveStream.close",
    "anyio._backends._asyncio:Event.wait",
    "anyio._backends._asyncio:TaskGroup.__aexit__",
    # The function under its `@asynccontextmanager` (the decorator's wrapper is contextlib's).
    "starlette._utils:create_collapsing_task_group.__wrapped__",
)
# python-multipart's parsers, which the Rust form parsers reproduce (with Starlette's callbacks).
_MULTIPART = (
    "python_multipart.multipart:QuerystringParser._internal_write",
    "python_multipart.multipart:MultipartParser._internal_write",
    "python_multipart.multipart:parse_options_header",
    "python_multipart.decoders:Base64Decoder.write",
    "python_multipart.decoders:QuotedPrintableDecoder.write",
)
# FastAPI's routing helpers that its `APIRouter.app` runs and the accelerated one reproduces.
_FASTAPI_ROUTING = (
    "fastapi.routing:APIRoute.matches",
    "fastapi.routing:APIRoute.handle",
    "fastapi.routing:APIWebSocketRoute.matches",
    "fastapi.routing:_route_selected",
    "fastapi.routing:_get_fastapi_scope",
    "fastapi.routing:_update_scope",
    "fastapi.routing:_apply_router_form_limits",
    "fastapi.routing:_resolve_form_limits",
    "starlette.routing:Route.handle",
)

PATCHES: list[Patch] = [
    # datastructures: query string parsing and header lookups in Rust.
    Patch("starlette.datastructures", "QueryParams.__init__", "tachyon_engine.datastructures:QueryParams.__init__"),
    Patch("starlette.datastructures", "Headers.__getitem__", "tachyon_engine.datastructures:Headers.__getitem__"),
    Patch("starlette.datastructures", "Headers.get", "tachyon_engine.datastructures:Headers.get"),
    Patch("starlette.datastructures", "Headers.getlist", "tachyon_engine.datastructures:Headers.getlist"),
    Patch("starlette.datastructures", "Headers.__contains__", "tachyon_engine.datastructures:Headers.__contains__"),
    Patch(
        "starlette.datastructures",
        "MutableHeaders.__delitem__",
        "tachyon_engine.datastructures:MutableHeaders.__delitem__",
    ),
    # requests: headers, query params, cookies and JSON bodies.
    Patch("starlette.requests", "cookie_parser", "tachyon_engine.requests:cookie_parser"),
    Patch(
        "starlette.requests",
        "HTTPConnection.headers",
        "tachyon_engine.requests:starlette_headers",
        ("starlette.datastructures:Headers.__init__",),
    ),
    Patch(
        "starlette.requests",
        "HTTPConnection.query_params",
        "tachyon_engine.requests:starlette_query_params",
        ("starlette.datastructures:QueryParams.__init__", "starlette.datastructures:ImmutableMultiDict.__init__"),
    ),
    Patch("starlette.requests", "HTTPConnection.cookies", "tachyon_engine.requests:HTTPConnection.cookies"),
    Patch("starlette.requests", "Request.json", "tachyon_engine.requests:Request.json", engages="json_parses"),
    # formparsers: urlencoded and multipart bodies in Rust (Starlette's own code for what the
    # Rust parsers do not reproduce: overridden callbacks, odd limits).
    Patch(
        "starlette.formparsers",
        "FormParser.parse",
        "tachyon_engine.formparsers:FormParser.parse",
        _MULTIPART,
        "form_parses",
    ),
    Patch(
        "starlette.formparsers",
        "MultiPartParser.parse",
        "tachyon_engine.formparsers:MultiPartParser.parse",
        _MULTIPART,
        "form_parses",
    ),
    # responses and websockets: headers, cookies and JSON in Rust.
    Patch(
        "starlette.responses",
        "Response.__init__",
        "tachyon_engine.responses:Response.__init__",
        ("starlette.responses:Response.render", "starlette.datastructures:Headers.__init__"),
    ),
    Patch("starlette.responses", "Response.init_headers", "tachyon_engine.responses:Response.init_headers"),
    Patch(
        "starlette.responses",
        "Response.headers",
        "tachyon_engine.responses:Response.headers",
        ("starlette.datastructures:Headers.__init__",),
    ),
    Patch("starlette.responses", "Response.set_cookie", "tachyon_engine.responses:Response.set_cookie"),
    Patch(
        "starlette.responses",
        "JSONResponse.render",
        "tachyon_engine.responses:JSONResponse.render",
        engages="json_renders",
    ),
    Patch("starlette.websockets", "WebSocket.send_json", "tachyon_engine.websockets:WebSocket.send_json"),
    Patch("starlette.websockets", "WebSocket.receive_json", "tachyon_engine.websockets:WebSocket.receive_json"),
    # routing: the Rust route index, for Starlette's router and FastAPI's.
    Patch(
        "starlette.routing",
        "Router.app",
        "tachyon_engine.routing:Router.app",
        (
            "starlette.routing:Route.matches",
            "starlette.routing:WebSocketRoute.matches",
            "starlette.routing:Mount.matches",
        ),
        "route_native_matches",
    ),
    Patch("starlette.routing", "Router.url_path_for", "tachyon_engine.routing:Router.url_path_for"),
    # The endpoint wrappers routes bind when built (one exception layer per call, and the marker
    # the lean dispatch looks for), and the application's stack: the lean dispatch when the app
    # has no user middleware.
    Patch("starlette.routing", "request_response", "tachyon_engine.routing:request_response", _STARLETTE_LAYERS),
    Patch("starlette.routing", "websocket_session", "tachyon_engine.routing:websocket_session", _STARLETTE_LAYERS),
    Patch(
        "starlette.applications",
        "Starlette.build_middleware_stack",
        "tachyon_engine.applications:Starlette.build_middleware_stack",
        (*_STARLETTE_LAYERS, *_STARLETTE_INLINE_MIDDLEWARE),
    ),
    # `BaseHTTPMiddleware.__call__` on asyncio's primitives (AnyIO's reproduced where verified).
    Patch(
        "starlette.middleware.base",
        "BaseHTTPMiddleware.__call__",
        "tachyon_engine.engine.base_http:base_http_call",
        _ANYIO_STREAMS,
    ),
    # FastAPI's main routing loop on the route index, and its included routers' loop.
    Patch(
        "fastapi.routing",
        "APIRouter.app",
        "tachyon_engine.fastapi.routing:APIRouter.app",
        _FASTAPI_ROUTING,
        "route_native_matches",
    ),
    Patch(
        "fastapi.routing",
        "_IncludedRouter._match",
        "tachyon_engine.fastapi.routing:included_router_match",
        ("fastapi.routing:_EffectiveRouteContext.matches", "fastapi.routing:APIRoute.matches"),
    ),
    Patch("fastapi.routing", "APIRouter._get_routes_version", "tachyon_engine.fastapi.routing:get_routes_version"),
    # FastAPI's endpoint wrapper (its copy of `request_response`), which its routes bind when built.
    Patch("fastapi.routing", "request_response", "tachyon_engine.fastapi.routing:request_response", _STARLETTE_LAYERS),
    # FastAPI's own stack (no user middleware): fused as Starlette's is.
    Patch(
        "fastapi.applications",
        "FastAPI.build_middleware_stack",
        "tachyon_engine.fastapi.dispatch:build_middleware_stack",
        (
            *_STARLETTE_LAYERS,
            "fastapi.telemetry._asgi:ExceptionTelemetryMiddleware.__call__",
            "fastapi.middleware.asyncexitstack:AsyncExitStackMiddleware.__call__",
            "fastapi._body_limit:AppBodyLimitMiddleware.__init__",
            "fastapi._body_limit:AppBodyLimitMiddleware.__call__",
            "fastapi._body_limit:wrap_app_with_body_limit",
        ),
    ),
    # FastAPI's telemetry gate, asked on every request: OpenTelemetry's getters answered in place
    # (each getter is answered only while its own source is a verified one, see `tachyon_engine.fastapi.telemetry`).
    Patch(
        "fastapi.telemetry._asgi",
        "NativeTelemetry.enabled",
        "tachyon_engine.fastapi.telemetry:enabled",
        ("fastapi.telemetry._asgi:_unconfigured",),
        "telemetry_gates",
    ),
    # FastAPI's encoding of an endpoint's return value, as its routing module calls it.
    Patch(
        "fastapi.routing", "jsonable_encoder", "tachyon_engine.fastapi.routing:jsonable_encoder", (), "jsonable_encodes"
    ),
    # FastAPI's parameter extraction asks this of each parameter's annotation on every request.
    Patch(
        "fastapi.dependencies.utils",
        "field_annotation_is_sequence",
        "tachyon_engine.fastapi.params:field_annotation_is_sequence",
    ),
]

# Objects verified on their own (not a patch's target): OpenTelemetry's provider getters, which
# FastAPI's telemetry gate answers in place only while they are verified.
OTHER_STOCK_OBJECTS = (
    "opentelemetry.trace:get_tracer_provider",
    "opentelemetry.metrics._internal:get_meter_provider",
    "opentelemetry._logs._internal:get_logger_provider",
)

# The patches by the name of their target ("module.Attribute.path").
PATCH_BY_NAME = {patch.name: patch for patch in PATCHES}
# Every stock object a replacement may name (`stock()`) or verify.
_REGISTERED = frozenset(name for patch in PATCHES for name in patch.stock_objects()) | frozenset(OTHER_STOCK_OBJECTS)

# The releases each replacement is verified against (`make verified-sources` records them): the
# pinned minimum through the newest, as the README's "Supported versions" table lists them.
SUPPORTED_RELEASES: dict[str, tuple[str, ...]] = {
    "starlette": ("1.10.0",),
    "fastapi": ("0.163.2", "0.164.0", "0.165.0"),
    "python-multipart": ("0.0.32", "0.0.33", "0.0.34"),
    "opentelemetry-api": ("1.44.0", "1.45.0", "1.45.1", "1.45.2", "1.45.3"),
    "anyio": ("4.15.1",),
}

_ABSENT: Any = object()  # what `resolve` gives for an object the release lacks
_UNSET: Any = object()  # a parameter not given
# The distribution that ships each top-level package (for the releases a record names).
_DISTRIBUTIONS = {"python_multipart": "python-multipart", "opentelemetry": "opentelemetry-api"}


def _locate(name: str) -> tuple[Any, str]:
    """The owner of `"module:Qualified.name"` and the attribute's name. Imports the module if
    needed (only ever a module the patched library has imported itself or is importing); raises
    `ImportError` or `AttributeError` where the release has no such owner."""
    module_name, _, path = name.partition(":")
    *owners, attribute = path.split(".")
    owner: Any = sys.modules.get(module_name) or importlib.import_module(module_name)
    for part in owners:
        owner = inspect.getattr_static(owner, part)
    return owner, attribute


def stock(name: str, default: Any = _UNSET) -> Any:
    """The stock object `"module:Qualified.name"`, as it was before `install()` (descriptors
    unbound): how a replacement gets the stock function it falls back to, inlines or checks
    against. Only objects of the registry (verified with the patch that reproduces them) can be
    named; `default` when the release has no such object."""
    if name not in _REGISTERED:
        raise LookupError(f"{name} is not in the registry of targets (targets.PATCHES)")
    try:
        owner, attribute = _locate(name)
        return original(owner, attribute)
    except (ImportError, AttributeError):
        if default is _UNSET:
            raise
        return default


def resolve(name: str) -> Any:
    """What verification digests for `"module:Qualified.name"`: the stock object (descriptors
    unbound: a function, a property), `_Inherited` where the class defines nothing of its own,
    or `_ABSENT`."""
    try:
        owner, attribute = _locate(name)
        value = inspect.getattr_static(owner, attribute)
    except (ImportError, AttributeError):
        return _ABSENT
    if (owner, attribute) in SAVED:  # replaced by `install()`: the stock value it found
        return SAVED[(owner, attribute)]
    if isinstance(owner, type) and attribute not in vars(owner):
        # Inherited: what the library chose is to define nothing there (`Headers.get` is
        # `Mapping.get`, whose source a frozen stdlib module may not ship).
        definer = next(cls for cls in owner.__mro__ if attribute in vars(cls))
        return _Inherited(f"{definer.__module__}.{definer.__qualname__}")
    return value


class _Inherited(NamedTuple):
    definer: str


def source_digest(value: Any) -> str | None:
    """SHA-256 of the function's source text (a property's getter's), or None without one."""
    if value is _ABSENT:
        return None
    if isinstance(value, _Inherited):
        return f"inherited from {value.definer}"
    if isinstance(value, property):
        value = value.fget
    elif isinstance(value, (staticmethod, classmethod)):
        value = value.__func__
    code = getattr(value, "__code__", None)
    if code is None:
        return "unavailable"
    digest = _digests.get(code)
    if digest is None:
        source = _source_text(code)
        digest = "unavailable" if source is None else hashlib.sha256(source.encode()).hexdigest()
        _digests[code] = digest
    return digest


# Digests by code object: one function is often reproduced by several replacements.
_digests: dict[Any, str] = {}


def _source_text(code: Any) -> str | None:
    """The lines of a `def` (its decorators first): from `co_firstlineno` to the last line
    indented deeper than the `def`, and at least to the last line any of its code objects runs.
    Plain text, the same on every Python version (`inspect.getsource` tokenizes the file, ten
    times slower, and `install()` verifies some seventy functions in every interpreter)."""
    lines = linecache.getlines(code.co_filename)
    first = code.co_firstlineno - 1
    if not lines or first >= len(lines):
        return None
    head = first
    while head < len(lines) and lines[head].lstrip().startswith("@"):
        head += 1
    if head >= len(lines):
        return None
    indent = len(lines[head]) - len(lines[head].lstrip())
    end = head + 1
    for index in range(head + 1, len(lines)):
        text = lines[index]
        # A line back at the `def`'s indentation ends it, unless it closes a bracket (the end
        # of a signature written over several lines).
        if text.strip() and len(text) - len(text.lstrip()) <= indent and text.lstrip()[0] not in ")]}":
            break
        if text.strip():
            end = index + 1
    return "".join(lines[first : max(end, _last_line(code))])


def _last_line(code: Any) -> int:
    last = max((line for _, _, line in code.co_lines() if line is not None), default=code.co_firstlineno)
    for constant in code.co_consts:
        if hasattr(constant, "co_lines"):
            last = max(last, _last_line(constant))
    return int(last)


def unverified_reason(name: str, value: Any = _UNSET) -> str | None:
    """None when the stock object `name` (or `value`, where the caller holds the object under
    another name) has a verified source; otherwise why not."""
    digest = source_digest(resolve(name) if value is _UNSET else value)
    verified = VERIFIED_SOURCES.get(name, {})
    if digest in verified:
        return None
    releases = "; ".join(sorted(set(verified.values()))) or "none"
    found = "absent" if digest is None else f"source sha256:{digest[:12]}"
    return f"{name} is not a verified source ({found}; verified: {releases})"


def is_verified(name: str, value: Any = _UNSET) -> bool:
    return unverified_reason(name, value) is None


def patch_unverified_reason(patch: Patch) -> str | None:
    """None when every stock object the patch reproduces is verified; else the first reason."""
    for name in patch.stock_objects():
        reason = unverified_reason(name)
        if reason is not None:
            return reason
    return None


def _release(name: str) -> str:
    top = name.partition(":")[0].split(".")[0]
    distribution = _DISTRIBUTIONS.get(top, top)
    try:
        return f"{distribution} {importlib.metadata.version(distribution)}"
    except importlib.metadata.PackageNotFoundError:
        return f"{distribution} (not installed)"


def record() -> dict[str, list[Any]]:
    """Every registered stock object of this environment: `[digest or None, release]`."""
    return {name: [source_digest(resolve(name)), _release(name)] for name in sorted(_REGISTERED)}


def merge(records: list[dict[str, list[Any]]]) -> dict[str, dict[str | None, str]]:
    """The verified sources: per object, each digest with the releases it was recorded on."""
    releases: dict[str, dict[str | None, list[str]]] = {}
    for entry in records:
        for name, (digest, release) in entry.items():
            if digest == "unavailable" or release.endswith("(not installed)"):
                continue
            found = releases.setdefault(name, {}).setdefault(digest, [])
            if release not in found:
                found.append(release)
    return {
        name: {digest: _join_releases(labels) for digest, labels in sorted(by_digest.items(), key=str)}
        for name, by_digest in sorted(releases.items())
    }


def _join_releases(labels: list[str]) -> str:
    """ "fastapi 0.163.2, 0.164.0" from ["fastapi 0.163.2", "fastapi 0.164.0"]."""
    by_distribution: dict[str, list[str]] = {}
    for label in labels:
        distribution, _, version = label.partition(" ")
        by_distribution.setdefault(distribution, []).append(version)
    return "; ".join(
        f"{distribution} {', '.join(sorted(versions, key=_version_key))}"
        for distribution, versions in sorted(by_distribution.items())
    )


def _version_key(version: str) -> tuple[Any, ...]:
    return tuple(int(part) if part.isdigit() else part for part in version.replace("(", "").split("."))


def _write_module(verified: dict[str, dict[str | None, str]]) -> str:
    lines = [
        '"""Generated by `python -m tachyon_engine.engine.targets merge` (see `targets`): the stock sources',
        "each replacement was verified against, per object, digest -> the releases it was recorded on",
        '(`None`: the object is absent from those releases)."""',
        "",
        "# ruff: noqa: E501",
        "",
        "from __future__ import annotations",
        "",
        "VERIFIED_SOURCES: dict[str, dict[str | None, str]] = {",
    ]
    for name, by_digest in verified.items():
        lines.append(f"    {name!r}: {{")
        for digest, releases in by_digest.items():
            lines.append(f"        {digest!r}: {releases!r},")
        lines.append("    },")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    if argv[:1] == ["record"]:
        print(json.dumps(record()))
        return 0
    if argv[:1] == ["merge"] and len(argv) > 1:
        records = [json.loads(Path(path).read_text()) for path in argv[1:]]
        sys.stdout.write(_write_module(merge(records)))
        return 0
    print("usage: python -m tachyon_engine.engine.targets record | merge RECORD.json...", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
