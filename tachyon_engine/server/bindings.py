"""The server's native side (`rust/server/asgi`): the only module of this package that imports
`_core`."""

from tachyon_engine._core import ClientDisconnected, HttpCycle, NativeServer, TlsConfig, WebSocketCycle

__all__ = ["ClientDisconnected", "HttpCycle", "NativeServer", "TlsConfig", "WebSocketCycle"]
