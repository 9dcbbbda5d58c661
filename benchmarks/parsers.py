"""The Rust parsers against Starlette's on the same inputs: query strings, cookies, headers.

python -m benchmarks.parsers [--rounds N] [--budget-ms MS] [--json FILE]

Both stacks run in this one process (the parsers are pure functions); `python -m benchmarks`
runs it as one of its sections.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import starlette
import starlette.datastructures
import starlette.requests

import tachyon_engine
import tachyon_engine.datastructures
import tachyon_engine.requests
from benchmarks.harness import Scenario, measure, require_release_build, table

QUERY_SMALL = "page=2&sort=-created&q=hello+world&tag=a&tag=b&price=%E2%82%AC10&empty="
QUERY_LARGE = "&".join(f"field{i}=value%20{i}+x" for i in range(100))
COOKIE = 'session=abc123def456; theme=dark; lang=en-US; _ga=GA1.2.3.4; quoted="a\\"b\\012c"; flag'
RAW_HEADERS = [
    (b"host", b"example.com"),
    (b"user-agent", b"Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/120.0"),
    (b"accept", b"text/html,application/xhtml+xml"),
    (b"accept-language", b"en-US,en;q=0.5"),
    (b"accept-encoding", b"gzip, deflate, br"),
    (b"connection", b"keep-alive"),
    (b"cookie", COOKIE.encode()),
    (b"upgrade-insecure-requests", b"1"),
    (b"sec-fetch-dest", b"document"),
    (b"sec-fetch-mode", b"navigate"),
    (b"cache-control", b"max-age=0"),
    (b"content-type", b"application/json"),
]


def scope() -> dict[str, Any]:
    return {"type": "http", "method": "GET", "path": "/", "headers": list(RAW_HEADERS), "query_string": b""}


def scenarios() -> list[Scenario]:
    stock_ds, fast_ds = starlette.datastructures, tachyon_engine.datastructures
    stock_rq, fast_rq = starlette.requests, tachyon_engine.requests
    stock_headers, fast_headers = stock_ds.Headers(raw=list(RAW_HEADERS)), fast_ds.Headers(raw=list(RAW_HEADERS))
    items = lambda q: q.multi_items()  # noqa: E731
    ordered = lambda d: list(d.items())  # noqa: E731
    request_scope = scope() | {"query_string": QUERY_SMALL.encode()}
    return [
        Scenario(
            "QueryParams, 7 fields",
            lambda: stock_ds.QueryParams(QUERY_SMALL),
            lambda: fast_ds.QueryParams(QUERY_SMALL),
            items,
        ),
        Scenario(
            "QueryParams, 100 fields",
            lambda: stock_ds.QueryParams(QUERY_LARGE),
            lambda: fast_ds.QueryParams(QUERY_LARGE),
            items,
        ),
        Scenario(
            "cookie_parser, 6 cookies",
            lambda: stock_rq.cookie_parser(COOKIE),
            lambda: fast_rq.cookie_parser(COOKIE),
            ordered,
        ),
        Scenario(
            "Headers[name], 12th of 12",
            lambda: stock_headers["content-type"],
            lambda: fast_headers["content-type"],
        ),
        Scenario("Headers.get(missing)", lambda: stock_headers.get("x-missing"), lambda: fast_headers.get("x-missing")),
        Scenario("'name' in Headers", lambda: "Accept" in stock_headers, lambda: "Accept" in fast_headers),
        Scenario(
            "Request: query + 3 headers + cookies",
            lambda: _touch(stock_rq.Request(dict(request_scope))),
            lambda: _touch(fast_rq.Request(dict(request_scope))),
        ),
    ]


def _touch(request: starlette.requests.Request) -> tuple[Any, ...]:
    headers = request.headers
    return (
        request.query_params.multi_items(),
        headers["user-agent"],
        headers.get("authorization"),
        "accept" in headers,
        list(request.cookies.items()),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--budget-ms", type=float, default=20.0, help="time per side per round")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args()
    require_release_build()
    print(
        f"Method: Python {platform.python_version()}, Starlette {starlette.__version__}, "
        f"tachyon_engine {tachyon_engine.__version__} ({tachyon_engine.build_profile()} build); "
        f"{args.rounds} rounds alternating which side goes first, about {args.budget_ms:g} ms per side "
        "per round; median per call.\n"
    )
    results = [measure(s, args.rounds, args.budget_ms * 1e6) for s in scenarios()]
    print(table(results))
    if args.json:
        args.json.write_text(json.dumps([asdict(result) for result in results], indent=1))
    return 0 if all(r.correct for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
