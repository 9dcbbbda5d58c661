"""The `tachyon` command: uvicorn's command line for the options this server has; uvicorn's other
options are recognised and refused with the reason."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from tachyon_engine.server.config import UNSUPPORTED, Config
from tachyon_engine.server.main import main as run_config


def _flag(parser: argparse.ArgumentParser, name: str, default: bool, help: str) -> None:
    parser.add_argument(f"--{name}", dest=name.replace("-", "_"), action="store_true", default=default, help=help)
    parser.add_argument(f"--no-{name}", dest=name.replace("-", "_"), action="store_false", help=argparse.SUPPRESS)


def _header(value: str) -> tuple[str, str]:
    name, sep, content = value.partition(":")
    if not sep:
        raise argparse.ArgumentTypeError(f"--header must be 'name:value', not {value!r}")
    return name, content.lstrip()


def _boolean(value: str) -> bool:
    """A BOOLEAN option value, spelled as click (uvicorn's parser) accepts it."""
    lowered = value.strip().lower()
    if lowered in ("1", "true", "t", "yes", "y", "on"):
        return True
    if lowered in ("0", "false", "f", "no", "n", "off"):
        return False
    raise argparse.ArgumentTypeError(f"{value!r} is not a valid boolean")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tachyon", description="Serve an ASGI app with hyper and tokio.")
    p.add_argument("app", metavar="APP", help="the app as module:attribute")
    p.add_argument("--host", default="127.0.0.1", help="bind to this address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="bind to this port (default 8000)")
    p.add_argument("--uds", help="bind to this Unix domain socket")
    p.add_argument("--fd", type=int, help="serve the listening socket open on this file descriptor")
    p.add_argument("--reload", action="store_true", help="restart the worker when a .py file changes")
    p.add_argument("--reload-dir", dest="reload_dirs", action="append", help="watch this folder (repeatable)")
    p.add_argument("--reload-delay", type=float, default=0.25, help="seconds between checks for changes")
    p.add_argument("--workers", type=int, help="worker processes (default $WEB_CONCURRENCY or 1)")
    p.add_argument("--loop", default="auto", choices=["auto", "asyncio", "uvloop"], help="event loop")
    p.add_argument(
        "--http", default="auto", help="auto (HTTP/1.1, and HTTP/2 with prior knowledge), 1 or 2 (hyper's either way)"
    )
    p.add_argument("--ws", default="auto", help="WebSocket implementation (auto or none)")
    p.add_argument("--ws-max-size", type=int, default=16777216, help="largest WebSocket message in bytes")
    p.add_argument("--ws-max-queue", type=int, default=32, help="received messages held for the app")
    p.add_argument("--ws-ping-interval", type=float, default=20.0, help="seconds between keepalive pings")
    p.add_argument("--ws-ping-timeout", type=float, default=20.0, help="seconds to wait for a pong")
    p.add_argument(
        "--ws-per-message-deflate", type=_boolean, default=False, help="compression (not supported: false only)"
    )
    p.add_argument("--interface", default="auto", help="auto or asgi3")
    p.add_argument("--lifespan", default="auto", choices=["auto", "on", "off"], help="lifespan protocol")
    p.add_argument("--env-file", help="environment variables to load (needs python-dotenv)")
    p.add_argument("--log-config", help="logging configuration file (.json, .yaml or .ini)")
    p.add_argument("--log-level", choices=["critical", "error", "warning", "info", "debug", "trace"])
    _flag(p, "access-log", True, "one log line per response (--no-access-log turns it off)")
    _flag(p, "proxy-headers", True, "trust X-Forwarded-Proto/-For from --forwarded-allow-ips")
    _flag(p, "server-header", True, "send 'server: tachyon'")
    _flag(p, "date-header", True, "send a 'date' header")
    p.add_argument("--forwarded-allow-ips", help="proxies trusted for proxy headers (default 127.0.0.1)")
    p.add_argument("--root-path", default="", help="the ASGI root_path, for an app mounted below a prefix")
    p.add_argument("--limit-concurrency", type=int, help="answer 503 beyond this many connections or requests")
    p.add_argument("--limit-max-requests", type=int, help="exit after this many requests (a supervisor restarts)")
    p.add_argument("--limit-max-requests-jitter", type=int, default=0, help="add up to this many at random")
    p.add_argument("--limit-header-count", type=int, default=100, help="most header fields in a request head")
    p.add_argument("--limit-header-size", type=int, help="most bytes in a request head")
    p.add_argument("--backlog", type=int, default=2048, help="listen backlog")
    p.add_argument(
        "--timeout-keep-alive",
        type=float,
        default=5,
        help="close idle connections, and request heads that take longer, after this many seconds",
    )
    p.add_argument("--timeout-graceful-shutdown", type=float, help="most seconds to wait for in-flight requests")
    p.add_argument("--ssl-keyfile", help="TLS: the private key (PEM)")
    p.add_argument("--ssl-certfile", help="TLS: the certificate chain (PEM); serving https")
    p.add_argument("--ssl-keyfile-password", help="TLS: the key's password (needs the cryptography package)")
    p.add_argument("--ssl-version", type=int, default=17, help="17 only (ssl.PROTOCOL_TLS_SERVER: TLS 1.2 or 1.3)")
    p.add_argument("--ssl-cert-reqs", type=int, default=0, help="client certificates: 0 none, 1 optional, 2 required")
    p.add_argument("--ssl-ca-certs", help="TLS: the CA certificates that sign client certificates")
    p.add_argument("--ssl-ciphers", default="TLSv1", help="not supported (rustls chooses); TLSv1 only")
    p.add_argument("--header", dest="headers", action="append", type=_header, default=[], help="name:value")
    p.add_argument("--factory", action="store_true", help="APP is a factory: call it for the app")
    p.add_argument("--app-dir", default="", help="look for APP in this folder (default: the current one)")
    for name in UNSUPPORTED:
        option = "--" + name.replace("_", "-")
        p.add_argument(option, dest=f"unsupported_{name}", nargs="?", const=True, help=argparse.SUPPRESS)
        if name == "use_colors":
            p.add_argument(
                "--no-use-colors", dest=f"unsupported_{name}", action="store_const", const=True, help=argparse.SUPPRESS
            )
    return p


def main(argv: Sequence[str] | None = None) -> None:
    options: dict[str, Any] = vars(parser().parse_args(argv))
    for key in [k for k in options if k.startswith("unsupported_")]:
        value = options.pop(key)
        if value is not None:
            print(
                f"Error: tachyon does not support uvicorn's option --{key[12:].replace('_', '-')}: "
                f"{UNSUPPORTED[key[12:]]}.",
                file=sys.stderr,
            )
            sys.exit(2)
    app = options.pop("app")
    if options["log_config"] is None:
        options.pop("log_config")
    try:
        config = Config(app, **options)
    except ValueError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        sys.exit(2)
    code = run_config(config)
    if code:
        sys.exit(code)
