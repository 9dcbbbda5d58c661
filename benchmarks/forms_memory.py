"""Peak memory of a multipart upload, stock Starlette vs tachyon_engine, side by side.

`python -m benchmarks.forms_memory` (from the import root, like `python -m benchmarks`): each
side parses the same 10 MiB upload through `Request.form()` in a fresh process, alternating,
and reports the peak of memory traced by `tracemalloc` during a request after a warm-up one
(the body arrives
in 64 KiB chunks allocated as a server allocates them, one per `receive`), and a hash of what
it parsed (field names, file names, sizes, content) that must be equal on both sides.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import subprocess
import sys
from typing import Any

from benchmarks.processes import alternating
from benchmarks.scenarios.asgi import CHUNK, MiB
from benchmarks.scenarios.payloads import multipart_body, multipart_content_type


async def _measure(side: str, size: int) -> dict[str, Any]:
    import tracemalloc

    if side == "stock":
        from starlette.requests import Request
    else:
        from tachyon_engine.requests import Request

    body = multipart_body(files=(size,))
    await _upload(Request, body)  # warm-up: lazy imports and caches are not the request's memory
    tracemalloc.start()
    baseline = tracemalloc.get_traced_memory()[0]
    digest = await _upload(Request, body)
    peak = tracemalloc.get_traced_memory()[1] - baseline
    tracemalloc.stop()
    return {"peak": peak, "output": digest}


async def _upload(Request: Any, body: bytes) -> str:
    """One request through `Request.form()`; a hash of what it parsed."""
    pieces = [memoryview(body)[offset : offset + CHUNK] for offset in range(0, len(body), CHUNK)]
    scope = {"type": "http", "method": "POST", "path": "/", "query_string": b"", "headers": []}
    scope["headers"] = [(b"content-type", multipart_content_type()), (b"content-length", b"%d" % len(body))]
    index = 0

    async def receive() -> dict[str, Any]:
        nonlocal index
        index += 1
        chunk = bytes(pieces[index - 1]) if index <= len(pieces) else b""
        return {"type": "http.request", "body": chunk, "more_body": index < len(pieces)}

    async with Request(scope, receive).form() as form:
        digest = hashlib.sha256()
        for name, value in form.multi_items():
            digest.update(name.encode())
            if isinstance(value, str):
                digest.update(value.encode())
            else:
                digest.update(f"{value.filename}:{value.size}".encode())
                while block := await value.read(CHUNK):
                    digest.update(block)
    return digest.hexdigest()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--mib", type=int, default=10)
    parser.add_argument("--side", choices=["stock", "tachyon_engine"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side:
        print(json.dumps(asyncio.run(_measure(args.side, args.mib * MiB))))
        return 0
    peaks: dict[str, list[int]] = {"stock": [], "tachyon_engine": []}
    outputs: set[str] = set()
    for round_index in range(args.rounds):
        for side in alternating(["stock", "tachyon_engine"], round_index):
            command = [sys.executable, "-m", "benchmarks.forms_memory", "--side", side, "--mib", str(args.mib)]
            result = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
            peaks[side].append(result["peak"])
            outputs.add(result["output"])
    stock, ours = max(peaks["stock"]), max(peaks["tachyon_engine"])
    print(f"{args.mib} MiB multipart upload, peak traced memory during Request.form(), max of {args.rounds} rounds:")
    print(f"  stock Starlette {stock:,} B, tachyon_engine {ours:,} B ({ours / stock:.3f}x)")
    print(f"  same output on both sides: {'yes' if len(outputs) == 1 else 'NO'}")
    return 0 if len(outputs) == 1 else 1


if __name__ == "__main__":
    raise SystemExit(main())
