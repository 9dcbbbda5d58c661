"""FastAPI's parameter extraction, asked per parameter per request: `field_annotation_is_sequence`
(whether a query parameter or header collects every value) remembered per annotation.

A module of its own, importing only `fastapi.dependencies.utils`: `install()` patches that module
while `fastapi.routing`, which imports it, is still being imported.
"""

from __future__ import annotations

import abc
from typing import Any

from tachyon_engine.engine.targets import stock

_stock_field_annotation_is_sequence = stock("fastapi.dependencies.utils:field_annotation_is_sequence")
# Answers by annotation object, while no ABC registration (`Sequence.register`) may change one.
_sequence_answers: dict[int, tuple[Any, bool]] = {}
_sequence_answers_token = [abc.get_cache_token()]
_SEQUENCE_ANSWERS_KEPT = 4096


def field_annotation_is_sequence(annotation: Any) -> bool:
    """FastAPI's `field_annotation_is_sequence`, which its parameter extraction asks twice per
    parameter per request: typing introspection and `issubclass` checks against `Sequence` and
    the builtin collections, a function of the annotation and the ABC registrations only (whose
    changes `abc.get_cache_token()` counts). Remembered per annotation object."""
    token = abc.get_cache_token()
    if token != _sequence_answers_token[0]:
        _sequence_answers.clear()
        _sequence_answers_token[0] = token
    remembered = _sequence_answers.get(id(annotation))
    if remembered is not None and remembered[0] is annotation:
        return remembered[1]
    answer: bool = _stock_field_annotation_is_sequence(annotation)
    if len(_sequence_answers) >= _SEQUENCE_ANSWERS_KEPT:
        _sequence_answers.clear()
    # The annotation is kept with its answer: its id cannot name another object meanwhile.
    _sequence_answers[id(annotation)] = (annotation, answer)
    return answer
