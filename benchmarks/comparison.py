"""Collects, round by round, each side's figure and output digest per scenario, and reduces them
to rows: median of the per-round figures, and a correctness flag that holds only when every
round's candidate output equalled the reference output of the same round."""

from __future__ import annotations

from collections import defaultdict

from benchmarks.results import Row, median

REFERENCE = "reference"
CANDIDATE = "candidate"


class Comparison:
    def __init__(self, section: str, unavailable: str | None = None) -> None:
        self.section = section
        # Why the candidate side does not run at all (a feature that has not landed yet).
        self.unavailable = unavailable
        self._groups: dict[str, str] = {}
        self._figures: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
        self._digests: dict[str, dict[int, dict[str, str | None]]] = defaultdict(lambda: defaultdict(dict))
        self._problems: dict[str, list[str]] = defaultdict(list)
        self._crashes: list[str] = []

    def add(
        self,
        round_index: int,
        side: str,
        group: str,
        name: str,
        figure: float | None,
        digest: str | None,
        problem: str | None = None,
    ) -> None:
        self._groups.setdefault(name, group)
        if figure is not None:
            self._figures[name][side].append(figure)
        self._digests[name][round_index][side] = digest
        if problem:
            self._problems[name].append(f"{_label(side)}: {problem}")

    def crash(self, side: str, what: str, error: str) -> None:
        """A worker died: every scenario it should have measured is reported as crashed."""
        self._crashes.append(f"{_label(side)} {what}: {error}")

    @property
    def crashes(self) -> list[str]:
        return list(self._crashes)

    def rows(self, expected: dict[str, str] | None = None) -> list[Row]:
        """One row per scenario seen (plus `expected`, name -> group, that no worker reported)."""
        for name, group in (expected or {}).items():
            self._groups.setdefault(name, group)
        return [self._row(name, group) for name, group in self._groups.items()]

    def _row(self, name: str, group: str) -> Row:
        figures = self._figures[name]
        problems = list(dict.fromkeys(self._problems[name]))
        rounds = self._digests[name]
        for round_index, digests in sorted(rounds.items()):
            if self.unavailable:
                continue
            if set(digests) != {REFERENCE, CANDIDATE}:
                problems.append(f"round {round_index + 1}: only {', '.join(map(_label, digests))} ran")
            elif digests[REFERENCE] is None or digests[REFERENCE] != digests[CANDIDATE]:
                problems.append(f"round {round_index + 1}: candidate output differs from the reference")
        if not rounds:
            problems.append("error: not measured" + (f" ({self._crashes[-1]})" if self._crashes else ""))
        return Row(
            section=self.section,
            group=group,
            name=name,
            stock_ns=median(figures[REFERENCE]),
            candidate_ns=median(figures[CANDIDATE]),
            correct=None if self.unavailable and not problems else not problems,
            note="; ".join([*([self.unavailable] if self.unavailable else []), *dict.fromkeys(problems)]),
            stock_rounds=list(figures[REFERENCE]),
            candidate_rounds=list(figures[CANDIDATE]),
        )


def _label(side: str) -> str:
    return {REFERENCE: "stock", CANDIDATE: "tachyon_engine"}.get(side, side)
