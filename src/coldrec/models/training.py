"""The one training loop of coldrec's PyTorch models.

A :class:`TorchRecommender` subclass supplies three pieces: ``_build(data)`` (create the
network and whatever per-fit tensors it needs), ``_train_epoch(data, optimizer, rng)``
(one pass, returns the mean loss) and ``_export()`` (copy what scoring needs into numpy
arrays ending in ``_``, so scoring and save/load need no torch state). The base runs
epochs with a progress bar, checks every loss for NaN/inf, seeds everything from
``random_state``, and — when the caller passes a ``validation`` callback (the protocol runner
passes one that scores the validation task) — keeps the best epoch and stops after
``patience`` epochs without improvement. ``best_epoch_`` then tells a refit how many epochs
to train.
"""

from __future__ import annotations

import copy
import math
import time
from abc import abstractmethod
from typing import Any

import numpy as np
import torch

from coldrec.data.dataset import Dataset
from coldrec.errors import ColdrecError
from coldrec.models.base import Recommender
from coldrec.models.capabilities import EpochTrained
from coldrec.progress import progress_bar

__all__ = ["DivergenceError", "TorchRecommender"]


class DivergenceError(ColdrecError, FloatingPointError):
    """The loss became NaN or infinite."""


class TorchRecommender(EpochTrained, Recommender):
    """Base of the models trained by gradient descent (see the module docstring).

    Subclasses declare hyperparameters ``epochs``, ``learning_rate``, ``batch_size``,
    ``patience``, ``progress`` and ``random_state`` (plus their own).
    """

    epochs: int
    learning_rate: float
    batch_size: int
    patience: int
    progress: bool
    random_state: int

    def _fit(self, data: Dataset) -> None:
        seed = int(self.random_state)
        torch.manual_seed(seed)
        rng = np.random.default_rng(seed)
        threads = torch.get_num_threads()
        self._build(data)
        optimizer = self._optimizer()
        validate = self._validation  # set by Recommender.fit for the length of the fit
        best_score, best_epoch, best_state, waited = -math.inf, 0, None, 0
        self.loss_history_: list[float] = []
        self.valid_history_: list[float] = []
        bar = progress_bar(total=int(self.epochs), desc=f"training {self.name}",
                           enabled=bool(self.progress), unit="epoch")
        start = time.perf_counter()
        try:
            for epoch in range(1, int(self.epochs) + 1):
                self._module().train()
                loss = float(self._train_epoch(data, optimizer, rng))
                if not math.isfinite(loss):
                    raise DivergenceError(
                        f"{type(self).__name__}: loss is {loss} at epoch {epoch}; lower "
                        "learning_rate or raise regularisation")
                self.loss_history_.append(loss)
                bar.update(1)
                bar.set_postfix(loss=f"{loss:.4f}")
                if validate is None:
                    continue
                self._module().eval()
                self._export()
                score = float(validate(self))
                self.valid_history_.append(score)
                if score > best_score:
                    best_score, best_epoch, waited = score, epoch, 0
                    best_state = copy.deepcopy(self._module().state_dict())
                else:
                    waited += 1
                    if waited >= int(self.patience):
                        break
        finally:
            bar.close()
            torch.set_num_threads(threads)
        if best_state is not None:
            self._module().load_state_dict(best_state)
        self.best_epoch_ = best_epoch if validate is not None else len(self.loss_history_)
        self.seconds_per_epoch_ = (time.perf_counter() - start) / max(1, len(self.loss_history_))
        self._module().eval()
        self._export()

    def refit_params(self) -> dict[str, Any]:
        """Parameters for refitting on more data: the epoch count chosen on validation."""
        fitted = self.__dict__.get("best_epoch_", self.epochs)
        return {"epochs": max(1, int(fitted))}

    def _optimizer(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self._module().parameters(), lr=float(self.learning_rate))

    def _get_state(self) -> dict[str, Any]:
        # the network itself is not saved: _export() put everything scoring needs in arrays
        return {k: v for k, v in super()._get_state().items() if k != "net_"}

    def _module(self) -> torch.nn.Module:
        return self.net_

    net_: torch.nn.Module

    @abstractmethod
    def _build(self, data: Dataset) -> None:
        """Create ``self.net_`` (a torch module) and per-fit tensors."""

    @abstractmethod
    def _train_epoch(self, data: Dataset, optimizer: torch.optim.Optimizer,
                     rng: np.random.Generator) -> float:
        """One pass over the training data; returns the mean loss."""

    @abstractmethod
    def _export(self) -> None:
        """Copy what scoring needs from the network into numpy attributes ending in ``_``."""
