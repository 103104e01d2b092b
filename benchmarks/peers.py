"""Peer methods run side by side with coldrec, under coldrec's model contract.

* ``TfidfContent`` — scikit-learn TF-IDF content model exactly as PEERS.md describes it.
* ``LightFMPeer`` — LightFM (WARP) with item features (P3) or user features (P4), from the
  maintained fork ``lightfm-next`` (the original ``lightfm`` 1.17 sdist fails to build under
  PEP 517; PEERS.md patched its setup.py, which this project cannot ship).

Implicit ALS with ``recalculate_user``, implicit item-KNN and EASE are coldrec's own ``als``,
``itemknn`` and ``ease`` models (they wrap the same libraries and reproduce PEERS.md).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.preprocessing import normalize

from coldrec.data import Dataset
from coldrec.models import Recommender
from coldrec.models.content import row_normalise
from coldrec.text import ItemTemplate, item_texts

FULL_TEXT = ItemTemplate(("title", "brand", "category", "description"), 1_000_000)


class TfidfContent(Recommender):
    """TF-IDF (English stop words, sublinear tf) over title + brand + categories +
    description; user profile = mean of the l2-normalised rows of their items; cosine."""

    name: ClassVar[str] = "tfidf-content"
    handles_cold_users: ClassVar[bool] = False

    def __init__(self, ngram_max: int = 2, min_df: int = 1, random_state: int = 0) -> None:
        self.ngram_max = ngram_max
        self.min_df = min_df
        self.random_state = random_state

    def _history_matrix(self, data: Dataset) -> sp.csr_matrix:
        return data.binary_matrix.astype(np.float32)

    def _fit(self, data: Dataset) -> None:
        vec = TfidfVectorizer(stop_words="english", sublinear_tf=True,
                              ngram_range=(1, int(self.ngram_max)), min_df=int(self.min_df))
        self.tfidf_ = sp.csr_matrix(normalize(vec.fit_transform(item_texts(data, FULL_TEXT))),
                                    dtype=np.float32)

    def _score(self, users: np.ndarray, history: sp.csr_matrix,
               attributes: pd.DataFrame | None) -> np.ndarray:
        profile = row_normalise(history) @ self.tfidf_
        return np.asarray((profile @ self.tfidf_.T).todense(), dtype=np.float32)


def _tokens(values: pd.Series, prefix: str, split: str | None = None) -> list[list[str]]:
    out = []
    for val in values.fillna("").astype(str):
        parts = [p.strip() for p in val.split(split)] if split else [val.strip()]
        out.append([f"{prefix}:{p.lower()}" for p in parts if p])
    return out


class LightFMPeer(Recommender):
    """LightFM WARP (64 components, lr 0.05) with side features.

    ``side="items"``: category-path tokens + brand (+ the top-10 TF-IDF terms of title and
    description); items without interactions are scored from these features only.
    ``side="users"``: one token per categorical attribute; users without interactions are
    scored from their attributes only. ``identity`` adds per-id features for the others.
    """

    name: ClassVar[str] = "lightfm"
    handles_cold_users: ClassVar[bool] = True

    def __init__(self, side: str = "items", identity: bool = True, epochs: int = 10,
                 components: int = 64, learning_rate: float = 0.05,
                 random_state: int = 0) -> None:
        self.side = side
        self.identity = identity
        self.epochs = epochs
        self.components = components
        self.learning_rate = learning_rate
        self.random_state = random_state

    def _item_tokens(self, data: Dataset) -> list[list[str]]:
        cat = data.catalog
        if cat is None:
            return [[] for _ in range(data.n_items)]
        tokens = _tokens(cat.get("category", pd.Series("", index=cat.index)), "cat", ">")
        for row, brand in enumerate(_tokens(cat.get("brand", pd.Series("", index=cat.index)),
                                            "brand")):
            tokens[row].extend(brand)
        text = cat.get("title", pd.Series("", index=cat.index)).fillna("").astype(str) + " " + \
            cat.get("description", pd.Series("", index=cat.index)).fillna("").astype(str)
        tfidf = TfidfVectorizer(stop_words="english", sublinear_tf=True)
        weights = tfidf.fit_transform(text)
        vocab = np.asarray(tfidf.get_feature_names_out())
        for row in range(weights.shape[0]):
            r = weights.getrow(row)
            top = r.indices[np.argsort(-r.data)[:10]]
            tokens[row].extend(f"term:{t}" for t in vocab[top])
        return tokens

    def _user_tokens(self, data: Dataset) -> list[list[str]]:
        table = data.user_attributes
        if table is None:
            return [[] for _ in range(data.n_users)]
        fields = [c for c in table.columns
                  if not pd.api.types.is_numeric_dtype(table[c])
                  and 2 <= table[c].nunique() <= 64]
        return [[f"{f}:{v}" for f, v in zip(fields, row, strict=True) if pd.notna(v)]
                for row in table[fields].itertuples(index=False)]

    @staticmethod
    def _features(tokens: list[list[str]], warm: np.ndarray, identity: bool,
                  vocab: dict[str, int] | None = None) -> tuple[sp.csr_matrix, dict[str, int]]:
        n = len(tokens)
        if vocab is None:
            vectorizer = CountVectorizer(analyzer=lambda x: x, binary=True)
            vectorizer.fit(tokens)
            vocab = dict(vectorizer.vocabulary_)
        counts = CountVectorizer(analyzer=lambda x: x, binary=True,
                                 vocabulary=vocab).transform(tokens)
        blocks = [sp.csr_matrix(counts, dtype=np.float32)]
        if identity:  # only entities with interactions get an identity feature
            ident = sp.csr_matrix((np.ones(len(warm), np.float32), (warm, np.arange(len(warm)))),
                                  shape=(n, len(warm)))
            blocks.append(ident)
        feats = sp.csr_matrix(normalize(sp.hstack(blocks).tocsr(), norm="l1"), dtype=np.float32)
        return feats, vocab

    def _fit(self, data: Dataset) -> None:
        from lightfm import LightFM

        warm_items = np.flatnonzero(data.item_counts > 0)
        warm_users = np.flatnonzero(data.user_counts > 0)
        if self.side == "items":
            item_feats, _ = self._features(self._item_tokens(data), warm_items, self.identity)
            user_feats = None
        else:
            user_feats, _ = self._features(self._user_tokens(data), warm_users, self.identity)
            item_feats = None
        model = LightFM(no_components=int(self.components), loss="warp",
                        learning_rate=float(self.learning_rate),
                        random_state=int(self.random_state))
        model.fit(sp.coo_matrix(data.binary_matrix), user_features=user_feats,
                  item_features=item_feats, epochs=int(self.epochs), num_threads=2)
        ib, ie = model.get_item_representations(item_feats)
        ub, ue = model.get_user_representations(user_feats)
        self.item_emb_ = np.asarray(ie, np.float32)
        self.item_bias_ = np.asarray(ib, np.float32)
        self.user_emb_ = np.asarray(ue, np.float32)
        self.user_bias_ = np.asarray(ub, np.float32)

    def _score(self, users: np.ndarray, history: sp.csr_matrix,
               attributes: pd.DataFrame | None) -> np.ndarray:
        known = (users >= 0) & (users < self.n_users_)
        u = np.zeros((len(users), self.user_emb_.shape[1]), np.float32)
        b = np.zeros(len(users), np.float32)
        u[known] = self.user_emb_[users[known]]
        b[known] = self.user_bias_[users[known]]
        return u @ self.item_emb_.T + self.item_bias_[None, :] + b[:, None]
