"""Models under one contract (:class:`Recommender`) and their registry."""

from coldrec.models.base import MODEL_CLASSES, Recommender
from coldrec.models.baselines import Popularity, RandomRecommender, SegmentPopularity
from coldrec.models.content import ContentKNN
from coldrec.models.deep import BPR, LightGCN, MultVAE, RecVAE
from coldrec.models.ensemble import Ensemble
from coldrec.models.factor import ALS, FactorModel
from coldrec.models.hybrid import Hybrid
from coldrec.models.neighbors import DLAE, EASE, ItemKNN, UserKNN
from coldrec.models.ranking import tie_ranks, topk
from coldrec.models.registry import MODELS, ModelSpec, get_model_spec, make_model

__all__ = [
    "ALS",
    "BPR",
    "DLAE",
    "EASE",
    "MODELS",
    "MODEL_CLASSES",
    "ContentKNN",
    "Ensemble",
    "FactorModel",
    "Hybrid",
    "ItemKNN",
    "LightGCN",
    "ModelSpec",
    "MultVAE",
    "Popularity",
    "RandomRecommender",
    "RecVAE",
    "Recommender",
    "SegmentPopularity",
    "UserKNN",
    "get_model_spec",
    "make_model",
    "tie_ranks",
    "topk",
]
