"""Second-stage ranking: DeepFM over user, item, text and retrieval features.

:class:`TwoStage` retrieves ``candidates`` items per shopper with any coldrec model (ALS by
default) and re-scores them with :class:`DeepFMNet` (Guo et al., IJCAI 2017): a
factorisation machine and a deep network sharing one embedding per feature. Features:
user id and every user attribute, item id, category (top level and leaf), brand, price
band, the item's text embedding (projected), and the retriever's score as context.

Training is stacked so the ranker never sees scores of pairs the retriever was trained on:
the training pairs are cut into ``folds``; a retriever fitted on the other folds scores each
fold's pairs (positives) and sampled negatives — half uniform, half hard negatives from the
retriever's own top candidates the shopper never touched — and the ranker learns them with
log loss. 10 % of those rows are held out: their AUC and log loss are reported
(``ctr_auc_``, ``ctr_logloss_``) and choose the number of epochs.
At serving time the retriever fitted on all data produces candidates and scores.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
from torch import nn

from coldrec.data.dataset import Dataset
from coldrec.models.attributes import AttributeEncoder
from coldrec.models.base import Recommender, make_component
from coldrec.models.capabilities import Validation
from coldrec.models.ranking import zscore
from coldrec.models.training import TorchRecommender
from coldrec.text.cache import EmbeddingCache, embed_texts
from coldrec.text.encoders import get_encoder
from coldrec.text.templates import item_texts, price_bands

__all__ = ["DeepFMNet", "TwoStage", "binary_auc"]


def binary_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve (ties count one half), by ranks."""
    labels = np.asarray(labels, dtype=bool)
    order = pd.Series(scores).rank(method="average").to_numpy()
    n_pos, n_neg = labels.sum(), (~labels).sum()
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    return float((order[labels].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


class DeepFMNet(nn.Module):
    """DeepFM: first-order weights + FM pairwise term + MLP over shared field embeddings."""

    def __init__(self, n_features: int, n_fields: int, dense_dims: list[int], dim: int = 16,
                 hidden: tuple[int, ...] = (128, 64), dropout: float = 0.2) -> None:
        super().__init__()
        self.emb = nn.Embedding(n_features, dim)
        self.first = nn.Embedding(n_features, 1)
        self.dense = nn.ModuleList([nn.Linear(d, dim) for d in dense_dims])
        self.dense_first = nn.ModuleList([nn.Linear(d, 1) for d in dense_dims])
        layers: list[nn.Module] = []
        width = (n_fields + len(dense_dims)) * dim
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU(), nn.Dropout(dropout)]
            width = h
        layers.append(nn.Linear(width, 1))
        self.mlp = nn.Sequential(*layers)
        self.bias = nn.Parameter(torch.zeros(1))
        nn.init.normal_(self.emb.weight, std=0.01)
        nn.init.zeros_(self.first.weight)

    def forward(self, fields: torch.Tensor, dense: list[torch.Tensor]) -> torch.Tensor:
        vecs = [self.emb(fields)] + [proj(x).unsqueeze(1) for proj, x in
                                     zip(self.dense, dense, strict=True)]
        e = torch.cat(vecs, dim=1)  # batch × fields × dim
        first = self.first(fields).sum(dim=(1, 2)) + sum(
            lin(x).squeeze(1) for lin, x in zip(self.dense_first, dense, strict=True))
        fm = 0.5 * (e.sum(1).pow(2) - e.pow(2).sum(1)).sum(1)
        deep = self.mlp(e.flatten(1)).squeeze(1)
        return self.bias + first + fm + deep


class TwoStage(TorchRecommender):
    """Retrieve with a coldrec model, re-rank the top ``candidates`` with DeepFM."""

    name: ClassVar[str] = "two-stage"
    #: known shoppers have a learned id embedding; a new one with the same history does not
    fold_in_exact: ClassVar[bool] = False

    def __init__(self, retriever: str = "als", retriever_params: dict[str, Any] | None = None,
                 candidates: int = 100, negatives: int = 4, folds: int = 5, dim: int = 16,
                 hidden: list[int] | None = None, dropout: float = 0.2,
                 encoder: str | None = "use-multilingual", epochs: int = 20,
                 learning_rate: float = 1e-3, batch_size: int = 4096, patience: int = 2,
                 cache: str | None = None, progress: bool = True,
                 random_state: int = 0) -> None:
        self.retriever = retriever
        self.retriever_params = retriever_params
        self.candidates = candidates
        self.negatives = negatives
        self.folds = folds
        self.dim = dim
        self.hidden = hidden
        self.dropout = dropout
        self.encoder = encoder
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.patience = patience
        self.cache = cache
        self.progress = progress
        self.random_state = random_state

    # -- features ------------------------------------------------------------------------------
    def _make_retriever(self) -> Recommender:
        return make_component(self.retriever, **(self.retriever_params or {}))

    def _item_fields(self, data: Dataset) -> tuple[np.ndarray, list[int]]:
        cat = data.catalog if data.catalog is not None else pd.DataFrame(index=range(data.n_items))
        columns: list[np.ndarray] = [np.arange(data.n_items)]
        sizes = [data.n_items]
        path = cat["category"].fillna("").astype(str) if "category" in cat else \
            pd.Series([""] * data.n_items)
        values = [path.str.split(" > ").str[0], path.str.split(" > ").str[-1],
                  cat["brand"].fillna("").astype(str) if "brand" in cat else
                  pd.Series([""] * data.n_items),
                  price_bands(cat["price"]) if "price" in cat else pd.Series([""] * data.n_items)]
        for series in values:
            codes, uniques = pd.factorize(series.to_numpy(), use_na_sentinel=True)
            columns.append(np.where(codes >= 0, codes, len(uniques)))
            sizes.append(len(uniques) + 1)
        return np.stack(columns, axis=1), sizes

    def _user_fields(self, table: pd.DataFrame | None, n: int, ids: np.ndarray,
                     n_known: int) -> np.ndarray:
        """User id (``n_known`` = unknown) and one code per attribute (last code = missing)."""
        enc = AttributeEncoder.from_json(self.attribute_encoder_)
        cols = [np.where((ids >= 0) & (ids < n_known), ids, n_known)]
        for name, levels in enc.levels.items():
            pos = {v: i for i, v in enumerate(levels)}
            raw = table[name] if table is not None and name in table else pd.Series([None] * n)
            cols.append(np.asarray([pos.get(str(v), len(levels)) if pd.notna(v) else len(levels)
                                    for v in raw], dtype=np.int64))
        return np.stack(cols, axis=1)

    def _rows(self, users: np.ndarray, items: np.ndarray, user_codes: np.ndarray,
              retr: np.ndarray) -> tuple[torch.Tensor, list[torch.Tensor]]:
        fields = np.concatenate([user_codes + self.user_offsets_[None, :],
                                 self.item_codes_[items] + self.item_offsets_[None, :]], axis=1)
        dense = [torch.from_numpy(retr[:, None].astype(np.float32))]
        if self.item_text_.shape[1]:
            dense.append(torch.from_numpy(self.item_text_[items]))
        return torch.from_numpy(fields.astype(np.int64)), dense

    # -- training ------------------------------------------------------------------------------
    def _build(self, data: Dataset) -> None:
        rng = np.random.default_rng(int(self.random_state))
        self.attribute_encoder_ = AttributeEncoder.fit(data.user_attributes).to_json()
        self.item_codes_, item_sizes = self._item_fields(data)
        enc = AttributeEncoder.from_json(self.attribute_encoder_)
        user_sizes = [data.n_users + 1] + [len(v) + 1 for v in enc.levels.values()]
        sizes = user_sizes + item_sizes
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        self.user_offsets_ = offsets[: len(user_sizes)]
        self.item_offsets_ = offsets[len(user_sizes):]
        self.user_codes_ = self._user_fields(data.user_attributes, data.n_users,
                                             np.arange(data.n_users), data.n_users)
        if self.encoder:
            cache = EmbeddingCache(self.cache) if self.cache != "none" else None
            self.item_text_ = embed_texts(get_encoder(self.encoder), item_texts(data), cache,
                                          progress=bool(self.progress))
        else:
            self.item_text_ = np.zeros((data.n_items, 0), dtype=np.float32)
        dense_dims = [1] + ([self.item_text_.shape[1]] if self.item_text_.shape[1] else [])
        self.net_ = DeepFMNet(int(sum(sizes)), len(sizes), dense_dims, int(self.dim),
                              tuple(self.hidden or (128, 64)), float(self.dropout))
        # stacked training rows: each fold's pairs are scored by a retriever fitted on the
        # other folds, with sampled negatives (half uniform, half the retriever's own misses)
        pairs = data.pairs
        fold = rng.integers(0, int(self.folds), size=len(pairs))
        parts = []
        for f in range(int(self.folds)):
            inner = self._make_retriever().fit(data.with_pairs(pairs[fold != f]))
            pos = pairs[fold == f]
            users = pos["user"].to_numpy()
            items = pos["item"].to_numpy()
            rep_users = np.repeat(users, int(self.negatives))
            neg = rng.integers(0, data.n_items, size=len(rep_users))
            collide = np.asarray(data.binary_matrix[rep_users, neg]).ravel() > 0
            neg[collide] = rng.integers(0, data.n_items, size=int(collide.sum()))
            hard = self._hard_negatives(inner, np.unique(users), data.binary_matrix)
            use_hard = rng.random(len(rep_users)) < 0.5
            for u in np.unique(rep_users[use_hard]):
                rows = np.flatnonzero(use_hard & (rep_users == u))
                cand = hard.get(int(u))
                if cand is not None and len(cand):
                    neg[rows] = rng.choice(cand, size=len(rows))
            all_users = np.concatenate([users, rep_users])
            all_items = np.concatenate([items, neg])
            labels = np.concatenate([np.ones(len(users)), np.zeros(len(rep_users))])
            parts.append((all_users, all_items, labels,
                          self._pair_scores(inner, all_users, all_items)))
        all_users, all_items, labels, retr = (np.concatenate(x) for x in zip(*parts,
                                                                             strict=True))
        test = rng.random(len(labels)) < 0.1
        self._train_rows = (all_users[~test], all_items[~test], labels[~test], retr[~test])
        self._test_rows = (all_users[test], all_items[test], labels[test], retr[test])
        self.retriever_model_ = self._make_retriever().fit(data)

    def _hard_negatives(self, model: Recommender, users: np.ndarray,
                        known: sp.csr_matrix) -> dict[int, np.ndarray]:
        """The retriever's top candidates that the user never interacted with (the held-out
        positives must not come back as negatives)."""
        ids, _ = model.recommend(users, k=int(self.candidates), exclude=known[users])
        return {int(u): row[row >= 0] for u, row in zip(users, ids, strict=True)}

    def _pair_scores(self, model: Recommender, users: np.ndarray, items: np.ndarray
                     ) -> np.ndarray:
        """Per-user z-scored retriever score of each (user, item) row."""
        out = np.zeros(len(users), dtype=np.float32)
        uniq = np.unique(users)
        step = max(1, (1 << 23) // max(1, model.n_items_))
        for start in range(0, len(uniq), step):
            batch = uniq[start:start + step]
            z = zscore(model.score(batch))
            pos = {int(u): i for i, u in enumerate(batch)}
            rows = np.flatnonzero(np.isin(users, batch))
            out[rows] = z[[pos[int(u)] for u in users[rows]], items[rows]]
        return out

    def _logits(self, users: np.ndarray, items: np.ndarray, user_codes: np.ndarray,
                retr: np.ndarray) -> np.ndarray:
        self.net_.eval()
        out = np.empty(len(users), dtype=np.float32)
        with torch.no_grad():
            for start in range(0, len(users), 65536):
                sl = slice(start, start + 65536)
                fields, dense = self._rows(users[sl], items[sl], user_codes[sl], retr[sl])
                out[sl] = self.net_(fields, dense).numpy()
        return out

    def _train_epoch(self, data: Dataset, optimizer: torch.optim.Optimizer,
                     rng: np.random.Generator) -> float:
        users, items, labels, retr = self._train_rows
        order = rng.permutation(len(labels))
        total, batches = 0.0, 0
        loss_fn = nn.BCEWithLogitsLoss()
        for start in range(0, len(order), int(self.batch_size)):
            sel = order[start:start + int(self.batch_size)]
            fields, dense = self._rows(users[sel], items[sel], self.user_codes_[users[sel]],
                                       retr[sel])
            loss = loss_fn(self.net_(fields, dense), torch.from_numpy(labels[sel]).float())
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += float(loss.detach())
            batches += 1
        return total / max(1, batches)

    def _export(self) -> None:
        """Evaluate on the held-out CTR rows; keep the network's weights as arrays."""
        users, items, labels, retr = self._test_rows
        logits = self._logits(users, items, self.user_codes_[users], retr)
        prob = 1.0 / (1.0 + np.exp(-logits.astype(np.float64)))
        eps = 1e-7
        self.ctr_auc_ = binary_auc(labels, logits)
        self.ctr_logloss_ = float(-np.mean(labels * np.log(prob + eps)
                                           + (1 - labels) * np.log(1 - prob + eps)))
        self.net_state_ = {k: v.detach().numpy().copy()
                           for k, v in self.net_.state_dict().items()}

    def fit(self, data: Dataset, *, validation: Validation | None = None) -> TwoStage:
        """Fit the retriever and the ranker; the ranker's epochs stop early on its own
        held-out CTR log loss (``validation`` of the caller is not needed)."""
        del validation
        return super().fit(data, validation=lambda m: -m.ctr_logloss_)

    def forget_user(self, user: int) -> None:
        super().forget_user(user)
        self.retriever_model_.forget_user(user)

    # -- persistence of the network as arrays ------------------------------------------------
    def _get_state(self) -> dict[str, Any]:
        state = super()._get_state()
        weights = state.pop("net_state_")
        for key, value in weights.items():
            state[f"netw__{key.replace('.', '__')}_"] = value
        return state

    def _set_state(self, state: dict[str, Any]) -> None:
        weights = {k[len("netw__"):-1].replace("__", "."): v for k, v in state.items()
                   if k.startswith("netw__")}
        super()._set_state({k: v for k, v in state.items() if not k.startswith("netw__")})
        self.net_state_ = weights
        n_features = weights["emb.weight"].shape[0]
        n_fields = len(self.user_offsets_) + len(self.item_offsets_)
        dense_dims = [1] + ([self.item_text_.shape[1]] if self.item_text_.shape[1] else [])
        self.net_ = DeepFMNet(n_features, n_fields, dense_dims, int(self.dim),
                              tuple(self.hidden or (128, 64)), float(self.dropout))
        self.net_.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in
                                   weights.items()})
        self.net_.eval()

    # -- scoring -------------------------------------------------------------------------------
    def _score(self, users: np.ndarray, history: sp.csr_matrix,
               attributes: pd.DataFrame | None) -> np.ndarray:
        base = zscore(self.retriever_model_.score(users, history=history,
                                                  attributes=attributes))
        masked = base.copy()
        rows = np.repeat(np.arange(len(users)), np.diff(history.indptr))
        masked[rows, history.indices] = -np.inf  # candidates among unseen items
        n_cand = min(int(self.candidates), base.shape[1])
        cand = np.argpartition(-masked, n_cand - 1, axis=1)[:, :n_cand]
        flat_users = np.repeat(users, n_cand)
        flat_items = cand.ravel()
        codes = self._user_fields(attributes, len(users), users, self.n_users_) \
            if attributes is not None else np.where(
                ((users >= 0) & (users < self.n_users_))[:, None],
                self.user_codes_[np.clip(users, 0, self.n_users_ - 1)],
                self._user_fields(None, len(users), users, self.n_users_))
        logits = self._logits(flat_users, flat_items, np.repeat(codes, n_cand, axis=0),
                              np.take_along_axis(base, cand, axis=1).ravel())
        logits = logits.reshape(len(users), n_cand)
        # lift the re-ranked candidates just above every other item (no huge constants,
        # so float32 keeps the ranker's resolution)
        lift = base.max(axis=1, keepdims=True) - logits.min(axis=1, keepdims=True) + 1.0
        out = base.copy()
        np.put_along_axis(out, cand, logits + lift, axis=1)
        return out
