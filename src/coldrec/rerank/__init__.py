"""Re-rankers that work on any model's candidate lists (popularity, calibration, diversity,
exposure, business rules), and the ``NAME[:strength]`` spec language of the CLI."""

from __future__ import annotations

from coldrec.errors import ConfigError
from coldrec.rerank.base import Chain, RerankContext, Reranker, relevance
from coldrec.rerank.diversity import MMR, ExposureCap
from coldrec.rerank.filters import BusinessFilter
from coldrec.rerank.popularity import (
    CalibratedPopularity,
    PopularityPenalty,
    TailQuota,
    head_items,
    popularity_groups,
)

__all__ = [
    "DEPTH_FACTOR",
    "MMR",
    "PRESETS",
    "RERANKERS",
    "BusinessFilter",
    "CalibratedPopularity",
    "Chain",
    "ExposureCap",
    "PopularityPenalty",
    "RerankContext",
    "Reranker",
    "TailQuota",
    "get_reranker",
    "head_items",
    "popularity_groups",
    "relevance",
]

#: re-rankers by spec name; the number after ``:`` is the constructor's first argument
RERANKERS: dict[str, type[Reranker]] = {
    "popularity": PopularityPenalty,
    "calibrated": CalibratedPopularity,
    "mmr": MMR,
    "cap": ExposureCap,
    "tail": TailQuota,
}

#: named chains; ``tail-balanced`` is the ml-100k long-tail configuration (docs/benchmarks.md)
PRESETS: dict[str, str] = {
    "tail-balanced": "popularity:1.5,tail:3",
}

#: candidates a re-ranker looks at per user, as a multiple of k
DEPTH_FACTOR = 10


def get_reranker(spec: str) -> Reranker:
    """Parse ``NAME[:strength][,NAME[:strength]...]`` (or a preset) into a re-ranker."""
    text = PRESETS.get(spec.strip(), spec.strip())
    stages: list[Reranker] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, value = part.partition(":")
        if name not in RERANKERS:
            known = ", ".join(sorted([*RERANKERS, *PRESETS]))
            raise ConfigError(f"unknown re-ranker {name!r}; known: {known}")
        try:
            strength = float(value) if value else None
        except ValueError as exc:
            raise ConfigError(f"re-ranker {name!r}: strength {value!r} is not a number"
                              ) from exc
        cls = RERANKERS[name]
        stages.append(cls() if strength is None else cls(strength))
    if not stages:
        raise ConfigError("empty re-ranker spec")
    return stages[0] if len(stages) == 1 else Chain(stages)
