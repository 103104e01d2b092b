"""Model names (as used by ``--model``), their classes and their default selection grids.

A leaf of the models package: it imports every model class and nothing imports it back
(composite models name their components through :func:`coldrec.models.base.make_component`).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from coldrec.errors import ConfigError
from coldrec.models.base import Recommender
from coldrec.models.baselines import Popularity, RandomRecommender, SegmentPopularity
from coldrec.models.content import ContentKNN
from coldrec.models.deep import BPR, LightGCN, MultVAE, RecVAE
from coldrec.models.ensemble import Ensemble
from coldrec.models.factor import ALS
from coldrec.models.hybrid import Hybrid
from coldrec.models.neighbors import DLAE, EASE, ItemKNN, UserKNN
from coldrec.models.ranker import TwoStage

__all__ = ["KERNEL_RIDGES", "MODELS", "ModelSpec", "ensemble_configs", "ensemble_weights",
           "expand_grid", "get_model_spec", "hybrid_grid", "make_model"]


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
    #: axes of a product grid, or a list of such (their union)
    grid: Mapping[str, Sequence[Any]] | Sequence[Mapping[str, Sequence[Any]]] = field(
        default_factory=dict)
    defaults: Mapping[str, Any] = field(default_factory=dict)

    def build(self, **params: Any) -> Recommender:
        return self.cls(**{**self.defaults, **params})

    def configs(self) -> list[dict[str, Any]]:
        if isinstance(self.grid, Mapping):
            return expand_grid(self.grid)
        return [cfg for part in self.grid for cfg in expand_grid(part)]

    def for_catalogue(self, configs: Sequence[Mapping[str, Any]],
                      n_items: int) -> tuple[list[dict[str, Any]], list[str]]:
        """The ``configs`` whose model can serve ``n_items`` items, and why the others
        cannot (one line per distinct reason; see :meth:`Recommender.check_catalogue`).

        Raises the first reason as :class:`ConfigError` when no config is left."""
        kept: list[dict[str, Any]] = []
        reasons: dict[str, None] = {}
        for cfg in configs:
            try:
                self.build(**cfg).check_catalogue(n_items)
            except ConfigError as exc:
                reasons.setdefault(str(exc))
                continue
            kept.append(dict(cfg))
        if not kept and reasons:
            raise ConfigError(next(iter(reasons)))
        return kept, list(reasons)


#: score-time blend axes of the hybrid (no refit needed to try them); the new-item boost is
#: in z-score units, whose tail grows with the catalogue: on Complete Journey (68k products)
#: new arrivals surface on a mixed shelf only with a boost near 30 (docs/benchmarks/)
HYBRID_BLEND: dict[str, list[float]] = {
    "semantic_weight": [0.0, 0.5], "transfer_weight": [0.0, 0.5, 1.0],
    "item_trust": [0.0, 5.0], "user_trust": [0.0, 1.0, 2.0, 5.0, 10.0],
    # > 0 surfaces products nobody has bought yet on a mixed shelf; < 0 keeps them off a
    # warm shopper's list (their text z-scores would otherwise sit among collaborative ones)
    "new_item_boost": [0.0, 3.0, -30.0]}


#: ridges (λ, dropout, λ_out) of the text → collaborative transfer in kernel form
#: (``transfer_kernel="text"``: item × item kernel of sentence-encoder + TF-IDF cosine), as
#: products nobody has bought want them ("cold": a smoothed map, picked on amazon-scientific's
#: nested valid-cold split) and as rarely bought warm ones do ("warm": a stronger map, picked
#: on its P2 validation); docs/benchmarks/ has both searches
KERNEL_RIDGES: dict[str, tuple[float, float, float]] = {"cold": (0.3, 0.9, 10.0),
                                                         "warm": (0.3, 0.5, 3.0)}


def hybrid_grid() -> list[dict[str, Sequence[Any]]]:
    """The hybrid's default grid: each collaborative part with the blend axes, plus the
    transfer in kernel form over the DLAE parts at both ridge settings (with a transfer
    weight of 2 too: the warm map wants more weight than the embedding one). The kernel is a
    dense item × item matrix, like EASE's and DLAE's: on catalogues over the model's
    ``ease_max_items`` :meth:`ModelSpec.for_catalogue` keeps the item-KNN part."""
    grid: list[dict[str, Sequence[Any]]] = [
        {"cf": ["ease"], "cf_lam": [50, 100, 500, 5000], "cf_ips": [0.0, 0.25], **HYBRID_BLEND},
        {"cf": ["dlae"], "cf_lam": [100, 300], "cf_dropout": [0.5], **HYBRID_BLEND},
        {"cf": ["itemknn"], "cf_neighbors": [50, 200], **HYBRID_BLEND}]
    grid += [{"cf": ["dlae"], "cf_lam": [100, 300], "cf_dropout": [0.5],
              "transfer_kernel": ["text"], "transfer_lam": [lam], "transfer_dropout": [drop],
              "transfer_lam_out": [out], "lexical_weight": [1.0],
              **HYBRID_BLEND, "transfer_weight": [0.5, 1.0, 2.0]}
             for lam, drop, out in KERNEL_RIDGES.values()]
    return grid


def ensemble_weights(n_members: int) -> list[tuple[float, ...]]:
    """The ensemble's blend-weight grid for ``n_members`` members.

    Members are z-scored, so only the ratios to the first member's weight (1) matter: every
    combination of ratios for the later members, plus each later member alone. Two members
    try 0, 0.25, 0.5, 1, 1.5, 2 (7 configurations); three or more a coarser 0, 0.5, 1, 1.5,
    2, so the product stays small (four members: 128 configurations, all one fit)."""
    if n_members < 1:
        raise ConfigError("an ensemble needs at least one member")
    ratios = (0.0, 0.25, 0.5, 1.0, 1.5, 2.0) if n_members == 2 else (0.0, 0.5, 1.0, 1.5, 2.0)
    grid = [(1.0, *r) for r in itertools.product(ratios, repeat=n_members - 1)]
    grid += [tuple(float(i == j) for i in range(n_members)) for j in range(1, n_members)]
    return grid


MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec("random", RandomRecommender, "uniformly random ranking per user"),
        ModelSpec("popularity", Popularity, "most interacted items overall"),
        ModelSpec("segment-popularity", SegmentPopularity,
                  "most popular items among users with the same attributes, with back-off"),
        ModelSpec("itemknn", ItemKNN, "item-item nearest neighbours (implicit), cosine or BM25",
                  grid={"similarity": ["cosine", "bm25"], "neighbors": [20, 50, 100, 200]}),
        ModelSpec("userknn", UserKNN, "user-user nearest neighbours, cosine (sparse top-k)",
                  grid={"neighbors": [20, 50, 100, 200]}),
        ModelSpec("ease", EASE, "closed-form linear item-item autoencoder (Steck 2019)",
                  grid={"lam": [1, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000],
                        "ips": [0.0, 0.25]}),
        ModelSpec("dlae", DLAE, "dropout linear autoencoder, closed form (Steck 2020); "
                  "zero_diagonal=True is EDLAE",
                  grid={"lam": [100, 200, 300, 500, 800], "dropout": [0.1, 0.2, 0.33, 0.5, 0.67],
                        "zero_diagonal": [False, True]}),
        ModelSpec("als", ALS, "implicit-feedback matrix factorisation (implicit), fold-in",
                  grid={"factors": [64, 128], "regularization": [0.1, 1.0, 10.0, 100.0],
                        "alpha": [1.0, 10.0, 40.0]}),
        ModelSpec("bpr", BPR, "matrix factorisation with the BPR pairwise loss (PyTorch)",
                  grid={"dim": [64, 128], "learning_rate": [1e-3, 1e-2],
                        "reg": [0.0, 1e-2]}),
        ModelSpec("multvae", MultVAE, "variational autoencoder, multinomial likelihood (PyTorch)",
                  # batches of 1024 hold every ml-100k shopper: RecBole's recipe (one update
                  # per epoch, noise 0.01) is one point of the grid
                  grid={"latent": [64, 128], "batch_size": [64, 256, 1024],
                        "anneal_steps": [2_000, 200_000], "noise": [1.0, 0.01]}),
        ModelSpec("recvae", RecVAE, "Mult-VAE with a dense encoder, composite prior and "
                  "alternating updates (Shenbin et al. 2020; PyTorch)",
                  # gamma (KL weight per history item) is the axis that matters on ml-100k;
                  # batches of 500 and learning rate 1e-3 came out ahead of 128 and 5e-4
                  grid={"gamma": [0.01, 0.02, 0.035], "learning_rate": [1e-3],
                        "patience": [20]}),
        ModelSpec("lightgcn", LightGCN, "graph convolution over the user-item graph (PyTorch)",
                  grid={"layers": [2, 3], "reg": [1e-5, 1e-4]}),
        ModelSpec("ensemble", Ensemble,
                  "weighted sum of member models' per-shopper z-scored scores (late fusion)",
                  grid={"weights": ensemble_weights(2)}),
        ModelSpec("content-knn", ContentKNN,
                  "shoppers and products in one sentence-embedding space (+ TF-IDF)",
                  grid={"profile": ["mean", "recency"], "lexical_weight": [0.0, 0.5, 1.0]}),
        ModelSpec("hybrid", Hybrid,
                  "collaborative + language-model transfer + attribute tower (default)",
                  grid=hybrid_grid()),
    )
}


def ensemble_configs(member_params: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The ensemble's grid (its blend weights) over fixed members, each with the parameters
    given (e.g. what its own validation search chose), in the order given."""
    members = tuple(member_params)
    return [{"weights": w, "members": members, "member_params": dict(member_params)}
            for w in ensemble_weights(len(members))]


def get_model_spec(name: str) -> ModelSpec:
    """The registered model called ``name``; ``RETRIEVER+deepfm`` is a two-stage pipeline
    (the retriever's candidates re-ranked by DeepFM)."""
    if name.endswith("+deepfm"):
        retriever = name[: -len("+deepfm")]
        get_model_spec(retriever)  # must exist
        return ModelSpec(name, TwoStage, f"{retriever} candidates re-ranked by DeepFM",
                         grid={"candidates": [100]}, defaults={"retriever": retriever})
    if name not in MODELS:
        raise ConfigError(f"unknown model {name!r}; available: {', '.join(MODELS)}")
    return MODELS[name]


def make_model(name: str, **params: Any) -> Recommender:
    """An unfitted model by registry name."""
    return get_model_spec(name).build(**params)
