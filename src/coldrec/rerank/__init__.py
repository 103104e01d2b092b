"""Re-rankers that work on any model's candidate lists (popularity, calibration, diversity,
exposure, discovery slots, business rules), and the ``NAME[:value[:value]]`` spec language
of the CLI."""

from __future__ import annotations

import inspect
import math

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
