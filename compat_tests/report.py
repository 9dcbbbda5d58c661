"""Reads pytest's JUnit XML into per-test outcomes and writes the side-by-side report."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

OUTCOMES = ("passed", "failed", "skipped", "xfailed")


def read_outcomes(junit_xml: Path) -> dict[str, str]:
    """Maps each test id (`tests/test_x.py::[Class::]name[param]`) to its outcome."""
    outcomes: dict[str, str] = {}
    for case in ET.parse(junit_xml).getroot().iter("testcase"):
        test_id = _test_id(case)
        if case.find("failure") is not None or case.find("error") is not None:
            outcomes[test_id] = "failed"
        elif (skipped := case.find("skipped")) is not None:
            outcomes[test_id] = "xfailed" if skipped.get("type") == "pytest.xfail" else "skipped"
        else:
            outcomes.setdefault(test_id, "passed")
    return outcomes


def _test_id(case: ET.Element) -> str:
    file = case.get("file", "")
    module = file.removesuffix(".py").replace("/", ".")
    classname = case.get("classname", "")
    parts = [file]
    if classname.startswith(module + "."):
        parts.append(classname[len(module) + 1 :].replace(".", "::"))
    parts.append(case.get("name", ""))
    return "::".join(parts)


def read_divergences(path: Path) -> dict[str, str]:
    """`test-id  # reason` lines; blank lines and lines starting with `#` are ignored."""
    divergences = {}
    if path.exists():
        for line in path.read_text().splitlines():
            if line.strip() and not line.startswith("#"):
                test_id, _, reason = line.partition("#")
                divergences[test_id.strip()] = reason.strip()
    return divergences


@dataclass
class Comparison:
    suite: str
    stock: dict[str, str]
    candidate: dict[str, str]
    divergences: dict[str, str]
    # Wall-clock seconds of the stock and the candidate runs.
    seconds: tuple[float, float] = (0.0, 0.0)
    # Install-mode suites: native counts summed over the candidate run's interpreters, and what
    # shows the acceleration was not engaged (any entry fails the suite).
    engagement: dict[str, int] | None = None
    # Install-mode suites: per target of the registry, whether `install()` applied it in every
    # interpreter (else the reasons it was skipped) and the native count that shows it answering.
    targets: dict[str, tuple[str, int | None]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    environment: list[str] = field(default_factory=list)
    expected: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        # A test the stock run has and the candidate run lacks (collection error, crash) fails.
        outcomes = {test_id: "failed" for test_id in self.stock} | self.candidate
        for test_id, outcome in sorted(outcomes.items()):
            if outcome != "failed":
                continue
            if test_id in self.divergences:
                self.expected.append(test_id)
            elif self.stock.get(test_id) == "failed":
                self.environment.append(test_id)
            else:
                self.unexpected.append(test_id)
        self.stale = sorted(t for t in self.divergences if self.candidate.get(t) not in (None, "failed"))

    @property
    def ok(self) -> bool:
        return bool(self.candidate) and not self.unexpected and not self.stale and not self.problems

    def markdown(self) -> str:
        def counts(outcomes: dict[str, str]) -> str:
            tally = Counter(outcomes.values())
            cells = [str(len(outcomes))] + [str(tally.get(o, 0)) for o in OUTCOMES]
            return " | ".join(cells)

        lines = [
            f"# Compatibility report: {self.suite}",
            "",
            "| run | collected | " + " | ".join(OUTCOMES) + " | seconds |",
            "|---|---:|" + "---:|" * (len(OUTCOMES) + 1),
            f"| stock | {counts(self.stock)} | {self.seconds[0]:.0f} |",
            f"| tachyon_engine | {counts(self.candidate)} | {self.seconds[1]:.0f} |",
            "",
            f"- unexpected failures: {len(self.unexpected)}",
            f"- expected divergences (listed with reasons): {len(self.expected)}",
            f"- environment failures shared with the stock run: {len(self.environment)}",
            f"- listed divergences that no longer fail: {len(self.stale)}",
        ]
        if self.engagement is not None:
            lines.append(
                "- acceleration engaged (native counts summed over the run's interpreters): "
                + ", ".join(f"{name} {count:,}" for name, count in self.engagement.items())
            )
        lines += [f"- NOT ENGAGED: {problem}" for problem in self.problems]
        if self.targets:
            lines += [
                "",
                "## Targets of install()",
                "",
                "| target | verified and applied | engaged |",
                "|---|---|---:|",
            ]
            for target, (status, count) in self.targets.items():
                lines.append(f"| `{target}` | {status} | {'' if count is None else f'{count:,}'} |")
        sections = [
            ("Unexpected failures", [(t, "") for t in self.unexpected]),
            ("Expected divergences", [(t, self.divergences[t]) for t in self.expected]),
            ("Environment failures (fail on stock too)", [(t, "") for t in self.environment]),
            ("Stale divergences (now pass: remove them from the list)", [(t, "") for t in self.stale]),
            (
                "Stock failures",
                [(t, "") for t, outcome in sorted(self.stock.items()) if outcome == "failed"],
            ),
        ]
        for title, rows in sections:
            if rows:
                lines += ["", f"## {title}", ""]
                lines += [f"- `{t}`" + (f": {reason}" if reason else "") for t, reason in rows]
        return "\n".join(lines) + "\n"
