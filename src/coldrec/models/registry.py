"""Model names (as used by ``--model``), their classes and their default selection grids."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from coldrec.errors import ConfigError
from coldrec.models.base import Recommender
from coldrec.models.baselines import Popularity, RandomRecommender, SegmentPopularity
from coldrec.models.neighbors import EASE, ItemKNN

__all__ = ["MODELS", "ModelSpec", "expand_grid", "get_model_spec", "make_model"]


def expand_grid(axes: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Cartesian product of parameter axes, in the order given."""
    if not axes:
        return [{}]
    keys = list(axes)
    return [dict(zip(keys, combo, strict=True))
            for combo in itertools.product(*(axes[k] for k in keys))]


@dataclass(frozen=True)
class ModelSpec:
    """A registered model: its class, fixed defaults and the grid searched on validation."""

    name: str
    cls: type[Recommender]
    description: str
    grid: Mapping[str, Sequence[Any]] = field(default_factory=dict)
    defaults: Mapping[str, Any] = field(default_factory=dict)

    def build(self, **params: Any) -> Recommender:
        return self.cls(**{**self.defaults, **params})

    def configs(self) -> list[dict[str, Any]]:
        return expand_grid(self.grid)


MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec("random", RandomRecommender, "uniformly random ranking per user"),
        ModelSpec("popularity", Popularity, "most interacted items overall"),
        ModelSpec("segment-popularity", SegmentPopularity,
                  "most popular items among users with the same attributes, with back-off"),
        ModelSpec("itemknn", ItemKNN, "item-item nearest neighbours (implicit), cosine or BM25",
                  grid={"similarity": ["cosine", "bm25"], "neighbors": [20, 50, 100, 200]}),
        ModelSpec("ease", EASE, "closed-form linear item-item autoencoder (Steck 2019)",
                  grid={"lam": [1, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000]}),
    )
}


def get_model_spec(name: str) -> ModelSpec:
    """The registered model called ``name``."""
    if name not in MODELS:
        raise ConfigError(f"unknown model {name!r}; available: {', '.join(MODELS)}")
    return MODELS[name]


def make_model(name: str, **params: Any) -> Recommender:
    """An unfitted model by registry name."""
    return get_model_spec(name).build(**params)
