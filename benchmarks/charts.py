"""PNG charts of a run: speedups per scenario, and cost against the number of routes."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from benchmarks.endtoend.run import LOADS, REQUEST_WORDS, EndToEnd
from benchmarks.endtoend.servers import SERVERS
from benchmarks.results import NOISE_BAND, Row

COLOURS = {"faster": "#2a9d5c", "on par": "#9a9a9a", "slower": "#d1495b"}


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as pyplot

    return pyplot


def draw(rows: list[Row], end_to_end: EndToEnd | None, folder: Path) -> list[tuple[str, str]]:
    """Writes the charts into `folder`; returns (title, file name) pairs for the report."""
    folder.mkdir(parents=True, exist_ok=True)
    charts = []
    ours = [row for row in rows if row.section in ("apps", "fastapi", "steps", "parsers")]
    if _speedup_chart(ours, "Speedup of tachyon_engine over stock (the project's scenarios)", folder / "speedups.png"):
        charts.append(("Speedups, the project's scenarios", "speedups.png"))
    upstream = [row for row in rows if row.section == "upstream"]
    if _speedup_chart(
        upstream, "Speedup of tachyon_engine over stock (Starlette's scenarios)", folder / "upstream.png"
    ):
        charts.append(("Speedups, Starlette's own scenarios", "upstream.png"))
    if _routing_chart([row for row in rows if row.group == "routing"], folder / "routing.png"):
        charts.append(("Cost against route count", "routing.png"))
    if end_to_end is not None and _servers_chart(end_to_end, folder / "servers.png"):
        charts.append(("End to end, every app on every server, requests per second", "servers.png"))
    if end_to_end is not None and end_to_end.rows and _load_chart(end_to_end, folder / "endtoend.png"):
        charts.append(("End to end, stock Starlette vs tachyon_engine, requests per second", "endtoend.png"))
    return charts


def _speedup_chart(rows: list[Row], title: str, path: Path) -> bool:
    rows = [row for row in rows if row.speedup is not None]
    if not rows:
        return False
    pyplot = _pyplot()
    # Upstream names already start with their module's subject (`gzip[...]`, `routing_miss`).
    labels = [
        row.name if row.section in (row.group, "upstream", "steps") else f"{row.group}: {row.name}" for row in rows
    ]
    speedups = [row.speedup or 1.0 for row in rows]
    colours = [COLOURS[_verdict(value)] for value in speedups]
    figure, axes = pyplot.subplots(figsize=(11, 1.2 + 0.22 * len(rows)))
    positions = range(len(rows))
    axes.barh(positions, speedups, color=colours, left=0)
    axes.set_xscale("log")
    axes.axvline(1.0, color="black", linewidth=0.8)
    axes.set_yticks(list(positions), [_label(label, row) for label, row in zip(labels, rows, strict=True)], fontsize=7)
    axes.invert_yaxis()
    axes.set_xlabel("speedup, stock time / tachyon_engine time (log scale; right of the line is faster)")
    axes.set_title(title, fontsize=10)
    for position, value in zip(positions, speedups, strict=True):
        axes.annotate(
            f"{value:.2f}x", (value, position), xytext=(3, 0), textcoords="offset points", va="center", fontsize=6
        )
    axes.grid(axis="x", which="both", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    pyplot.close(figure)
    return True


def _label(label: str, row: Row) -> str:
    label = label if len(label) <= 60 else label[:57] + "..."
    return label if row.correct is not False else f"{label} [OUTPUT DIFFERS]"


def _verdict(speedup: float) -> str:
    if speedup < 1 - NOISE_BAND:
        return "slower"
    return "faster" if speedup > 1 + NOISE_BAND else "on par"


# "120 routes: late", or with the table's route shape: "1000 routes /t/{tenant}/resourcesN/{id:int}: last".
_ROUTING_NAME = re.compile(r"(\d+) routes(?: (/\S+))?: (.+)")


def _routing_chart(rows: list[Row], path: Path) -> bool:
    series: dict[str, dict[str, list[tuple[int, float]]]] = {}
    for row in rows:
        match = _ROUTING_NAME.fullmatch(row.name)
        if not match or row.stock_ns is None:
            continue
        count, case = int(match.group(1)), " ".join(filter(None, (match.group(2), match.group(3))))
        sides = series.setdefault(case, {"Starlette": [], "tachyon_engine": []})
        sides["Starlette"].append((count, row.stock_ns / 1000))
        if row.candidate_ns is not None:
            sides["tachyon_engine"].append((count, row.candidate_ns / 1000))
    if not series:
        return False
    pyplot = _pyplot()
    figure, axes = pyplot.subplots(figsize=(9, 5.5))
    colours = pyplot.rcParams["axes.prop_cycle"].by_key()["color"]
    for index, (case, sides) in enumerate(series.items()):
        colour = colours[index % len(colours)]
        for side, style in (("Starlette", "--"), ("tachyon_engine", "-")):
            points = sorted(sides[side])
            if points:
                axes.plot(*zip(*points, strict=True), style, marker="o", color=colour, label=f"{case}, {side}")
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("routes in the table (log scale)")
    axes.set_ylabel("µs per request, full app (log scale)")
    axes.set_title("Cost against route count: stock Starlette (dashed) vs tachyon_engine (solid)", fontsize=10)
    axes.grid(which="both", alpha=0.3)
    axes.legend(fontsize=7, ncol=2)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    pyplot.close(figure)
    return True


def _load_chart(result: EndToEnd, path: Path) -> bool:
    rows = [row for row in result.rows if row.stock_rps and row.candidate_rps]
    if not rows:
        return False
    pyplot = _pyplot()
    figure, axes = pyplot.subplots(figsize=(max(9.0, 0.9 * len(rows)), 4.5))
    width = 0.38
    positions = list(range(len(rows)))
    axes.bar([p - width / 2 for p in positions], [row.stock_rps or 0 for row in rows], width, label="Starlette")
    axes.bar(
        [p + width / 2 for p in positions], [row.candidate_rps or 0 for row in rows], width, label="tachyon_engine"
    )
    axes.set_xticks(positions, [_load_label(row.server, row.connections, row.path) for row in rows], fontsize=6)
    axes.set_ylabel("requests per second (higher is better)")
    axes.set_title("End to end on loopback, wrk", fontsize=10)
    axes.legend(fontsize=8)
    axes.grid(axis="y", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    pyplot.close(figure)
    return True


def _load_label(server: str, connections: int | None, path: str) -> str:
    # "hello world (/)": the path only, the words are long.
    level = "" if connections is None else f" c{connections}"
    return f"{server}{level}\n{path.rpartition(' (')[2].rstrip(')')}"


def _servers_chart(result: EndToEnd, path: Path) -> bool:
    """One panel per concurrency: each app's request, one bar per server."""
    if not any(load.rps for load in result.loads):
        return False
    pyplot = _pyplot()
    levels = result.connections
    figure, panels = pyplot.subplots(len(levels), 1, figsize=(11, 3.8 * len(levels)), squeeze=False)
    width = 0.8 / len(SERVERS)
    for axes, level in zip((row[0] for row in panels), levels, strict=True):
        positions = list(range(len(LOADS)))
        for index, kind in enumerate(SERVERS):
            values = []
            for load in LOADS:
                found = result.find(load.app.name, load.request, kind.name, level)
                values.append(found.rps if found and found.rps and found.correct else 0.0)
            offsets = [p + (index - (len(SERVERS) - 1) / 2) * width for p in positions]
            axes.bar(offsets, values, width, label=kind.name)
        labels = [f"{load.app.title.replace('`', '')}\n{REQUEST_WORDS[load.request]}" for load in LOADS]
        axes.set_xticks(positions, labels, fontsize=7)
        axes.set_ylabel("requests per second")
        axes.set_title(f"End to end on loopback, wrk, {level} connections (higher is better)", fontsize=10)
        axes.legend(fontsize=8)
        axes.grid(axis="y", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    pyplot.close(figure)
    return True
