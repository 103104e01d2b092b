"""A weighted blend of several fitted models' scores (late fusion).

Each member scores all items for a batch of shoppers; its scores are z-scored per shopper
(so members with different scales weigh what their weights say) and summed with
``weights``. The weights are score-time parameters: a grid over them reuses one fit of the
members, and the protocol runner picks them on validation like any other hyperparameter.
Member hyperparameters are given explicitly (``member_params``; the registry defaults
otherwise), e.g. the values each member's own validation search chose. On the command
line: ``--model ensemble --params members=als+userknn`` (weights from the grid) or
``weights=1+1.5``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import scipy.sparse as sp

from coldrec.data.dataset import Dataset
from coldrec.errors import ConfigError
from coldrec.models.base import Recommender, make_component
from coldrec.models.ranking import zscore

__all__ = ["Ensemble", "member_names"]


def member_names(members: Sequence[str] | str) -> list[str]:
    """The member model names: a sequence, or the command line's ``"als+userknn"``."""
    names = members.split("+") if isinstance(members, str) else list(members)
    if not names or len(set(names)) != len(names):
        raise ConfigError(f"ensemble members must be distinct model names, not {names!r}")
    return names


class Ensemble(Recommender):
    """Sum of per-shopper z-scored member scores, weighted (see the module docstring)."""

    name: ClassVar[str] = "ensemble"
    #: each member applies its own rule to shoppers without history (attributes, popularity)
    handles_cold_users: ClassVar[bool] = True
    score_params: ClassVar[frozenset[str]] = frozenset({"weights"})

    def __init__(self, members: Sequence[str] | str = ("ease", "als"),
                 member_params: Mapping[str, Mapping[str, Any]] | None = None,
                 weights: Sequence[float] | str | None = None, progress: bool = True,
                 random_state: int = 0) -> None:
        # tuples, so a model loaded from JSON (lists) has equal parameters
        self.members = members if isinstance(members, str) else tuple(members)
        self.member_params = member_params
        self.weights = weights if weights is None or isinstance(weights, str) else \
            tuple(weights)
        self.progress = progress
        self.random_state = random_state

    def _names(self) -> list[str]:
        return member_names(self.members)

    def _weights(self) -> np.ndarray:
        n = len(self._names())
        given = self.weights
        if isinstance(given, str):  # the command line's "1+0.5"
            given = given.split("+")
        try:
            w = np.ones(n) if given is None else np.asarray(given, dtype=np.float64)
        except ValueError:
            w = np.full(n + 1, np.nan)  # reported below
        if w.shape != (n,) or not np.isfinite(w).all():
            raise ConfigError(f"ensemble weights must be {n} finite numbers (one per member), "
                              f"not {self.weights!r}")
        return w

    def check_catalogue(self, n_items: int) -> None:
        for model in self._members():
            model.check_catalogue(n_items)

    def _members(self) -> list[Recommender]:
        """Unfitted members with their parameters (and the ensemble's progress / seed)."""
        params = dict(self.member_params or {})
        unknown = set(params) - set(self._names())
        if unknown:
            raise ConfigError(f"member_params name models that are not members: "
                              f"{', '.join(sorted(unknown))}")
        models: list[Recommender] = []
        for name in self._names():
            given = dict(params.get(name, {}))
            model = make_component(name, **given)
            extra = {k: v for k, v in (("progress", self.progress),
                                       ("random_state", self.random_state))
                     if k in model._param_names() and k not in given}
            models.append(model.set_params(**extra))
        return models

    def _fit(self, data: Dataset) -> None:
        self._weights()
        self.models_ = [model.fit(data) for model in self._members()]

    def _score(self, users: np.ndarray, history: sp.csr_matrix,
               attributes: pd.DataFrame | None) -> np.ndarray:
        out = np.zeros((len(users), self.n_items_), dtype=np.float32)
        for weight, model in zip(self._weights(), self.models_, strict=True):
            if weight:
                scores = model.score(users, history=history, attributes=attributes)
                out += np.float32(weight) * zscore(scores)
        return out

    def forget_user(self, user: int) -> None:
        super().forget_user(user)
        for model in self.models_:
            model.forget_user(user)

    # -- persistence: members are nested models ----------------------------------------------
    def _get_state(self) -> dict[str, Any]:
        state = {k: v for k, v in super()._get_state().items() if k != "models_"}
        state.update({f"member{i}_": m for i, m in enumerate(self.models_)})
        return state

    def _set_state(self, state: dict[str, Any]) -> None:
        members = sorted((k for k in state if k.startswith("member") and k.endswith("_")),
                         key=lambda k: int(k[len("member"):-1]))
        self.models_ = [state.pop(k) for k in members]
        super()._set_state(state)
