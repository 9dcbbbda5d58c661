"""A hash of an operation's output, to compare the two stacks' outputs without keeping them."""

from __future__ import annotations

import hashlib
import re
from typing import Any

_GZIP_MAGIC = b"\x1f\x8b\x08"
# Derived from a file's modification time, which differs between the two stacks' runs.
_TIME_DERIVED_HEADERS = {b"etag", b"last-modified"}
# A cookie's `expires` given in seconds is dated from the clock.
_COOKIE_DATE = re.compile(rb"expires=\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} GMT")


def digest(value: object) -> str:
    """A hash of a result (ASGI messages, usually), with gzip timestamps, file-time headers and
    cookie dates masked: those differ between any two runs, whatever the stack."""
    hasher = hashlib.sha256()
    _feed(hasher, value)
    return hasher.hexdigest()


def _feed(hasher: Any, value: object) -> None:
    if isinstance(value, bytes):
        if value.startswith(_GZIP_MAGIC) and len(value) >= 10:
            value = value[:4] + b"\0\0\0\0" + value[8:]
        hasher.update(b"b%d:" % len(value))
        hasher.update(value)
    elif isinstance(value, dict):
        hasher.update(b"{")
        for key, item in value.items():
            _feed(hasher, key)
            _feed(hasher, _masked_headers(item) if key == "headers" else item)
        hasher.update(b"}")
    elif isinstance(value, list | tuple):
        hasher.update(b"[")
        for item in value:
            _feed(hasher, item)
        hasher.update(b"]")
    else:
        hasher.update(repr(value).encode("utf-8", "surrogatepass") + b";")


def _masked_headers(headers: object) -> object:
    if not isinstance(headers, list):
        return headers
    return [(name, _masked_value(name, value)) for name, value in headers]


def _masked_value(name: object, value: object) -> object:
    if not isinstance(name, bytes):
        return value
    if name.lower() in _TIME_DERIVED_HEADERS:
        return b"<time-derived>"
    if name.lower() == b"set-cookie" and isinstance(value, bytes):
        return _COOKIE_DATE.sub(b"expires=<date>", value)
    return value
