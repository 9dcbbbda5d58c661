"""Deterministic request and response payloads of a given size."""

from __future__ import annotations

import json
from urllib.parse import urlencode

MULTIPART_BOUNDARY = "tachyon-benchmark-boundary"


def record(index: int) -> dict[str, object]:
    """A record with the value types an API returns: ints, floats (whole, small, large), text
    with non-ASCII characters, booleans, null, a nested list and object."""
    return {
        "id": index,
        "name": f"user-{index}",
        "email": f"user{index}@example.com",
        "active": index % 3 != 0,
        "score": index * 1.25,
        "ratio": index / 7,
        "tiny": 1.5e-7 * (index + 1),
        "city": "Zürich" if index % 2 else "東京",
        "parent": None if index % 5 else index - 1,
        "tags": ["alpha", "beta", index % 10],
        "address": {"street": f"{index} Main St", "zip": f"{10000 + index}"},
    }


def json_content(size: int) -> dict[str, object]:
    """About `size` bytes once rendered compactly."""
    per_record = len(json.dumps(record(1000), ensure_ascii=False, separators=(",", ":")).encode())
    count = max(1, round(size / per_record))
    return {"count": count, "items": [record(index) for index in range(count)]}


def json_body(size: int) -> bytes:
    return json.dumps(json_content(size), ensure_ascii=False, separators=(",", ":")).encode()


def urlencoded_body(fields: int) -> bytes:
    return urlencode([(f"field{index}", f"value {index} é&=") for index in range(fields)]).encode()


def multipart_body(fields: int = 0, files: tuple[int, ...] = ()) -> bytes:
    boundary = MULTIPART_BOUNDARY.encode()
    parts = []
    for index in range(fields):
        parts.append(
            b'--%s\r\nContent-Disposition: form-data; name="field%d"\r\n\r\nvalue %d\r\n' % (boundary, index, index)
        )
    for index, size in enumerate(files):
        content = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
        parts.append(
            b'--%s\r\nContent-Disposition: form-data; name="file%d"; filename="upload%d.bin"\r\n'
            b"Content-Type: application/octet-stream\r\n\r\n%s\r\n" % (boundary, index, index, content)
        )
    parts.append(b"--%s--\r\n" % boundary)
    return b"".join(parts)


def multipart_content_type() -> bytes:
    return f"multipart/form-data; boundary={MULTIPART_BOUNDARY}".encode()
