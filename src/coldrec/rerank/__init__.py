"""Re-rankers that work on any model's candidate lists (popularity, calibration, diversity,
exposure, discovery slots, business rules), and the ``NAME[:value[:value]]`` spec language
of the CLI."""

from __future__ import annotations

import inspect
import math
import re

from coldrec.errors import ConfigError
from coldrec.rerank.base import Chain, RerankContext, Reranker, relevance
from coldrec.rerank.diversity import MMR, ExposureCap
from coldrec.rerank.filters import BusinessFilter
from coldrec.rerank.popularity import (
    CalibratedPopularity,
    DiscoverySlots,
    PopularityPenalty,
    TailQuota,
)

__all__ = [
    "MMR",
    "PRESETS",
    "RERANKERS",
    "SPEC_PATTERN",
    "BusinessFilter",
    "CalibratedPopularity",
    "Chain",
    "DiscoverySlots",
    "ExposureCap",
    "PopularityPenalty",
    "RerankContext",
    "Reranker",
    "TailQuota",
    "get_reranker",
    "relevance",
]

#: re-rankers by spec name; the numbers after ``:`` are the constructor's arguments in order
#: (``discovery:3:2`` = 3 slots, strength 2)
RERANKERS: dict[str, type[Reranker]] = {
    "popularity": PopularityPenalty,
    "calibrated": CalibratedPopularity,
    "mmr": MMR,
    "cap": ExposureCap,
    "tail": TailQuota,
    "discovery": DiscoverySlots,
}

#: named chains; ``tail-balanced`` is the ml-100k long-tail configuration (docs/benchmarks/)
PRESETS: dict[str, str] = {
    "tail-balanced": "popularity:1.5,tail:3",
}


def _stage_pattern(name: str, values: tuple[str, ...]) -> str:
    tail = ""
    for value in reversed(values):  # each value optional, in order
        tail = f"(?::{value}{tail})?"
    return f"{re.escape(name)}{tail}"


_STAGE = "(?:" + "|".join(_stage_pattern(n, c.value_patterns) for n, c in RERANKERS.items()) \
    + ")"
#: every spec :func:`get_reranker` accepts, value ranges included (the OpenAPI document
#: states it, so a client can tell a valid spec before sending it)
SPEC_PATTERN = (r"^\s*(?:" + "|".join(map(re.escape, PRESETS)) + rf"|{_STAGE}(?:\s*,\s*{_STAGE})*)"
                r"\s*$")
_SPEC = re.compile(SPEC_PATTERN)


def _explain_bad_spec(text: str) -> None:
    """Raise the most helpful :class:`ConfigError` for a spec outside :data:`SPEC_PATTERN`."""
    if not text:
        raise ConfigError("empty re-ranker spec")
    for part in (p.strip() for p in text.split(",")):
        name, *values = part.split(":")
        if name not in RERANKERS:
            known = ", ".join(sorted([*RERANKERS, *PRESETS]))
            raise ConfigError(f"unknown re-ranker {name!r}; known: {known}")
        cls = RERANKERS[name]
        if len(values) > len(cls.value_patterns):
            raise ConfigError(f"re-ranker {name!r} takes at most {len(cls.value_patterns)} "
                              f"values ({part!r})")
        for value, pattern in zip(values, cls.value_patterns, strict=False):
            _number(name, value)
            if not re.fullmatch(pattern, value):
                raise ConfigError(f"re-ranker {name!r}: value {value!r} is out of range "
                                  f"({part!r}; see `coldrec models` or the API document)")
    raise ConfigError(f"re-ranker spec {text!r} is not NAME[:value[:value]][,NAME...]")


def _number(name: str, value: str) -> float:
    """A re-ranker's value: a finite number."""
    try:
        number = float(value)
    except ValueError as exc:
        raise ConfigError(f"re-ranker {name!r}: value {value!r} is not a number") from exc
    if not math.isfinite(number):
        raise ConfigError(f"re-ranker {name!r}: value {value!r} must be a finite number")
    return number


def get_reranker(spec: str) -> Reranker:
    """Parse ``NAME[:value[:value]][,NAME...]`` (or a preset) into a re-ranker; the stages of
    a chain run in order, so list-position re-rankers (``tail``, ``discovery``) go last."""
    text = PRESETS.get(spec.strip(), spec.strip())
    if not _SPEC.fullmatch(spec):
        _explain_bad_spec(text)
    stages: list[Reranker] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, *values = part.split(":")
        if name not in RERANKERS:
            known = ", ".join(sorted([*RERANKERS, *PRESETS]))
            raise ConfigError(f"unknown re-ranker {name!r}; known: {known}")
        args = [_number(name, value) for value in values]
        cls = RERANKERS[name]
        try:
            inspect.signature(cls).bind(*args)
        except TypeError as exc:
            raise ConfigError(f"re-ranker {name!r} takes fewer values than {len(args)} "
                              f"({part!r})") from exc
        try:
            stages.append(cls(*args))
        except (ValueError, OverflowError, TypeError) as exc:  # out of the stage's range
            if isinstance(exc, ConfigError):
                raise
            raise ConfigError(f"re-ranker {name!r}: {exc} ({part!r})") from exc
    if not stages:
        raise ConfigError("empty re-ranker spec")
    return stages[0] if len(stages) == 1 else Chain(stages)
