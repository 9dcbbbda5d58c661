"""`--proxy-headers`: a trusted proxy's `X-Forwarded-Proto` and `X-Forwarded-For` rewrite the
scope's `scheme` and `client`, with uvicorn's rules (`--forwarded-allow-ips`: addresses, networks,
literals such as a Unix socket path, or `*`; the client is the rightmost untrusted hop). The native
scope builder calls this only for requests that carry one of the two headers."""

from __future__ import annotations

import ipaddress
from typing import Any

_Address = ipaddress.IPv4Address | ipaddress.IPv6Address
_Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _host_and_port(value: str) -> tuple[str, int]:
    """A forwarded hop as host and port (0 when absent or malformed)."""
    if value.startswith("["):
        end = value.find("]")
        if end == -1:
            return value, 0
        host, rest = value[1:end], value[end + 1 :]
        if not rest:
            return host, 0
        if not rest.startswith(":"):
            return value, 0
        try:
            return host, int(rest[1:])
        except ValueError:
            return host, 0
    if value.count(":") == 1:
        host, port = value.rsplit(":", 1)
        try:
            return host, int(port)
        except ValueError:
            return value, 0
    return value, 0


class TrustedHosts:
    def __init__(self, allowed: list[str] | str) -> None:
        self.everyone = allowed in ("*", ["*"])
        entries = [item.strip() for item in allowed.split(",")] if isinstance(allowed, str) else allowed
        self.literals: set[str] = set()
        self.addresses: set[_Address] = set()
        self.networks: set[_Network] = set()
        if not self.everyone:
            for entry in entries:
                try:
                    if "/" in entry:
                        self.networks.add(ipaddress.ip_network(entry))
                    else:
                        self.addresses.add(ipaddress.ip_address(entry))
                except ValueError:
                    self.literals.add(entry)

    def __contains__(self, host: object) -> bool:
        if self.everyone:
            return True
        if not isinstance(host, str) or not host:
            return False
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return host in self.literals
        return address in self.addresses or any(address in network for network in self.networks)

    def client_from(self, forwarded_for: str) -> tuple[str | None, int]:
        hops = [_host_and_port(item.strip()) for item in forwarded_for.split(",")]
        if self.everyone:
            return hops[0]
        for host, port in reversed(hops):
            if host not in self:
                return host, port
        # Every hop is trusted: the original client is the leftmost.
        return hops[0]


class ProxyHeaders:
    """Called with the scope of a request that carries X-Forwarded-* headers."""

    def __init__(self, allowed: list[str] | str) -> None:
        self.trusted = TrustedHosts(allowed)

    def __call__(self, scope: dict[str, Any]) -> None:
        client = scope.get("client")
        if (client[0] if client else None) not in self.trusted:
            return
        proto: bytes | None = None
        forwarded: list[bytes] = []
        for name, value in scope["headers"]:
            if name == b"x-forwarded-proto":
                proto = value
            elif name == b"x-forwarded-for":
                forwarded.append(value)
        if proto is not None:
            scheme = proto.decode("latin1").strip()
            if scheme in {"http", "https", "ws", "wss"}:
                scope["scheme"] = scheme.replace("http", "ws") if scope["type"] == "websocket" else scheme
        if forwarded:
            host, port = self.trusted.client_from(b", ".join(forwarded).decode("latin1"))
            if host:
                scope["client"] = (host, port)
