"""`Config`: uvicorn's option names and defaults, for the options this server has. An option
uvicorn has and this server does not is refused with a clear message, never ignored."""

from __future__ import annotations

import importlib
import inspect
import os
import socket
import ssl
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from tachyon_engine.server.logs import LOGGING_CONFIG

LIFESPAN_MODES = ("auto", "on", "off")
LOOPS = ("auto", "asyncio", "uvloop")
HTTP_VERSIONS = ("auto", "1", "2")

# uvicorn options this server does not have yet, and why; naming one is an error.
UNSUPPORTED: dict[str, str] = {
    "ssl_context_factory": "TLS is rustls's, set up from --ssl-certfile/--ssl-keyfile, not from a Python SSLContext",
    "use_colors": "coloured logs are not supported: use --log-config for custom formatting",
    "h11_max_incomplete_event_size": "the server parses HTTP with hyper, not h11: see --limit-header-size",
    "reload_includes": "--reload watches *.py files only",
    "reload_excludes": "--reload watches *.py files only",
    "reset_contextvars": "not supported: each request already runs in a copy of the loop's context",
    "timeout_worker_healthcheck": "not supported: a worker is replaced when its process exits",
}


def _decrypted_key(pem: bytes, password: str) -> bytes:
    """An encrypted PEM key, decrypted (rustls reads only plain keys)."""
    try:
        from cryptography.hazmat.primitives import serialization
    except ImportError as exc:
        raise ValueError(
            "--ssl-keyfile-password needs the 'cryptography' package to decrypt the key "
            "(pip install cryptography), or a key file without a password."
        ) from exc
    key = serialization.load_pem_private_key(pem, password.encode())
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def refuse(name: str) -> None:
    raise ValueError(f"tachyon does not support uvicorn's option {name!r}: {UNSUPPORTED[name]}.")


@dataclass
class Config:
    app: Any
    host: str = "127.0.0.1"
    port: int = 8000
    uds: str | None = None
    fd: int | None = None
    loop: str = "auto"
    http: str = "auto"
    ws: str = "auto"
    ws_max_size: int = 16 * 1024 * 1024
    ws_max_queue: int = 32
    ws_ping_interval: float | None = 20.0
    ws_ping_timeout: float | None = 20.0
    # uvicorn negotiates permessage-deflate by default; tokio-tungstenite has no compression.
    ws_per_message_deflate: bool = False
    interface: str = "auto"
    lifespan: str = "auto"
    env_file: str | os.PathLike[str] | None = None
    # uvicorn's default: its own logging setup (None: leave logging alone).
    log_config: dict[str, Any] | str | None = field(default_factory=lambda: dict(LOGGING_CONFIG))
    log_level: str | int | None = None
    access_log: bool = True
    factory: bool = False
    app_dir: str | None = ""
    reload: bool = False
    reload_dirs: list[str] | str | None = None
    reload_delay: float = 0.25
    workers: int | None = None
    proxy_headers: bool = True
    server_header: bool = True
    date_header: bool = True
    forwarded_allow_ips: list[str] | str | None = None
    root_path: str = ""
    limit_concurrency: int | None = None
    limit_max_requests: int | None = None
    limit_max_requests_jitter: int = 0
    backlog: int = 2048
    timeout_keep_alive: float = 5
    timeout_graceful_shutdown: float | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)
    limit_header_count: int = 100
    limit_header_size: int | None = None
    ssl_keyfile: str | os.PathLike[str] | None = None
    ssl_certfile: str | os.PathLike[str] | None = None
    ssl_keyfile_password: str | None = None
    # uvicorn's defaults: ssl.PROTOCOL_TLS_SERVER (the only one: rustls negotiates TLS 1.2 or 1.3)
    # and ssl.CERT_NONE.
    ssl_version: int = ssl.PROTOCOL_TLS_SERVER
    ssl_cert_reqs: int = ssl.CERT_NONE
    ssl_ca_certs: str | os.PathLike[str] | None = None
    ssl_ciphers: str | None = None

    def __post_init__(self) -> None:
        if self.lifespan not in LIFESPAN_MODES:
            raise ValueError(f"--lifespan must be one of {', '.join(LIFESPAN_MODES)}, not {self.lifespan!r}.")
        if self.loop not in LOOPS:
            raise ValueError(
                f"--loop must be one of {', '.join(LOOPS)} (the server drives its own HTTP), not {self.loop!r}."
            )
        if self.http not in HTTP_VERSIONS:
            raise ValueError(
                f"--http {self.http!r} is not supported: the server speaks HTTP through hyper; "
                "--http is one of auto (HTTP/1.1, and HTTP/2 with prior knowledge), 1 or 2."
            )
        if self.ws not in ("auto", "none"):
            raise ValueError(
                f"--ws {self.ws!r} is not supported: the server has one WebSocket implementation "
                "(tokio-tungstenite); use 'auto', or 'none' to turn WebSockets off."
            )
        if self.ssl_version != ssl.PROTOCOL_TLS_SERVER:
            raise ValueError(
                "--ssl-version is not supported: rustls negotiates TLS 1.2 or 1.3 (leave it at "
                f"{int(ssl.PROTOCOL_TLS_SERVER)}, ssl.PROTOCOL_TLS_SERVER)."
            )
        if self.ssl_ciphers not in (None, "TLSv1"):
            raise ValueError("--ssl-ciphers is not supported: rustls chooses among its own safe cipher suites.")
        if self.ssl_cert_reqs not in (ssl.CERT_NONE, ssl.CERT_OPTIONAL, ssl.CERT_REQUIRED):
            raise ValueError(f"--ssl-cert-reqs must be 0, 1 or 2, not {self.ssl_cert_reqs!r}.")
        if self.ssl_keyfile and not self.ssl_certfile:
            raise ValueError("--ssl-keyfile needs --ssl-certfile (the certificate chain).")
        if self.ws_per_message_deflate:
            raise ValueError(
                "--ws-per-message-deflate is not supported: WebSocket messages are sent uncompressed (pass False)."
            )
        if self.interface not in ("auto", "asgi3"):
            raise ValueError(f"--interface {self.interface!r} is not supported: the server runs ASGI 3 apps.")
        if self.workers is None:
            self.workers = int(os.environ.get("WEB_CONCURRENCY", 1))
        if self.forwarded_allow_ips is None:
            self.forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
        if self.reload_dirs is None:
            self.reload_dirs = []
        elif isinstance(self.reload_dirs, str):
            self.reload_dirs = [self.reload_dirs]

    @classmethod
    def from_options(cls, app: Any, **options: Any) -> Config:
        known = {f.name for f in fields(cls)}
        for name, value in options.items():
            if name in UNSUPPORTED and value not in (None, False, [], ()):
                refuse(name)
        unknown = sorted(set(options) - known - set(UNSUPPORTED))
        if unknown:
            raise TypeError(f"unknown option(s): {', '.join(unknown)}")
        return cls(app, **{name: value for name, value in options.items() if name in known})

    @property
    def should_supervise(self) -> bool:
        return self.reload or (self.workers or 1) > 1

    def encoded_headers(self) -> list[tuple[bytes, bytes]]:
        """`server` (unless turned off or set by --header) then the --header values, as uvicorn."""
        headers = [(name.lower().encode("latin1"), value.encode("latin1")) for name, value in self.headers]
        if self.server_header and b"server" not in dict(headers):
            headers.insert(0, (b"server", b"tachyon"))
        return headers

    @property
    def is_ssl(self) -> bool:
        return bool(self.ssl_certfile)

    def tls_material(self) -> dict[str, Any]:
        """`TlsConfig`'s arguments (with TLS only): the certificate chain, the key (decrypted with
        --ssl-keyfile-password) and the CA certificates, as bytes, and the checks asked for."""
        assert self.ssl_certfile, "tls_material() without --ssl-certfile"
        chain = Path(self.ssl_certfile).read_bytes()
        key = Path(self.ssl_keyfile).read_bytes() if self.ssl_keyfile else chain
        if self.ssl_keyfile_password is not None:
            key = _decrypted_key(key, self.ssl_keyfile_password)
        ca = Path(self.ssl_ca_certs).read_bytes() if self.ssl_ca_certs else None
        return {
            "certificates": chain,
            "key": key,
            "ca_certs": ca,
            "cert_reqs": int(self.ssl_cert_reqs),
            "http": self.http,
        }

    def load_env(self) -> None:
        if self.env_file is None:
            return
        try:
            from dotenv import load_dotenv
        except ImportError as exc:
            raise RuntimeError("--env-file needs python-dotenv, as uvicorn's does: pip install python-dotenv") from exc
        load_dotenv(dotenv_path=self.env_file)

    def load_app(self) -> Any:
        """The app object: an ASGI callable, or `module:attribute`, or a factory's result."""
        if self.app_dir is not None:
            sys.path.insert(0, str(Path(self.app_dir).resolve()) if self.app_dir else "")
        app = self.app
        if isinstance(app, str):
            module_name, _, attrs = app.partition(":")
            if not module_name or not attrs:
                raise ValueError(f'Import string "{app}" must be in format "<module>:<attribute>".')
            module = importlib.import_module(module_name)
            app = module
            for attr in attrs.split("."):
                try:
                    app = getattr(app, attr)
                except AttributeError as exc:
                    raise ValueError(f'Attribute "{attrs}" not found in module "{module_name}".') from exc
        if self.factory:
            app = app()
        if inspect.isclass(app):
            raise ValueError("ASGI 2 apps (a class) are not supported: pass an ASGI 3 callable.")
        return app

    def bind(self) -> socket.socket:
        """The listening socket: a Unix socket, an inherited fd, or TCP on host:port."""
        if self.uds:
            path = self.uds
            if os.path.exists(path):
                os.unlink(path)
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.bind(path)
            os.chmod(path, 0o666)
        elif self.fd is not None:
            sock = socket.fromfd(self.fd, socket.AF_UNIX, socket.SOCK_STREAM)
            sock = socket.socket(fileno=sock.detach())
            return sock
        else:
            family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host.strip("[]"), self.port))
        sock.listen(self.backlog)
        sock.set_inheritable(True)
        return sock
