"""Text-aware models: shared item-text machinery and ContentKNN.

Items are represented by a pretrained sentence encoder's embedding of their catalog text
(:mod:`coldrec.text`) and by TF-IDF over the same fields. Every item has text, so brand-new
products are scored from the moment they exist; ``add_items`` appends products to a fitted
model from their text alone, and ``search`` ranks products for a free-text query in any of
the encoder's languages.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp

from coldrec.data.dataset import Dataset
from coldrec.errors import ConfigError
from coldrec.models.base import Recommender
from coldrec.models.capabilities import AddsItemsFromText, SearchesText, TextVectors
from coldrec.models.ranking import topk, zscore
from coldrec.text.cache import EmbeddingCache, embed_texts
from coldrec.text.encoders import TextEncoder, get_encoder
from coldrec.text.lexical import fit_tfidf, transform_tfidf
from coldrec.text.templates import ItemTemplate, item_texts, user_texts

__all__ = ["ContentKNN", "TextItemsMixin", "row_normalise"]

LEXICAL_TEMPLATE = ItemTemplate(("title", "brand", "category", "description"), 100_000)


def row_normalise(matrix: sp.csr_matrix) -> sp.csr_matrix:
    """Rows scaled to sum 1 (empty rows stay empty)."""
    matrix = sp.csr_matrix(matrix)
    lengths = np.diff(matrix.indptr)
    rows = np.repeat(np.arange(matrix.shape[0]), lengths)
    sums = np.bincount(rows, weights=matrix.data, minlength=matrix.shape[0])
    scale = np.where(sums > 0, 1.0 / np.maximum(sums, 1e-12), 0.0)
    data = (matrix.data * scale[rows]).astype(np.float32)
    return sp.csr_matrix((data, matrix.indices.copy(), matrix.indptr.copy()),
                         shape=matrix.shape)


class TextItemsMixin(SearchesText, AddsItemsFromText, TextVectors):
    """Item embeddings, TF-IDF, new items from text and text search for a Recommender.

    The model declares hyperparameters ``encoder``, ``template``, ``cache`` (path of the
    embedding cache, ``None`` for the default) and ``progress``.
    """

    encoder: str
    template: str | None
    cache: str | None
    progress: bool
    item_embeddings_: np.ndarray
    lexical_: sp.csr_matrix
    lexical_vocab_: np.ndarray
    lexical_idf_: np.ndarray

    def text_vectors(self) -> np.ndarray:
        return self.item_embeddings_

    def _text_encoder(self) -> TextEncoder:
        enc = getattr(self, "_encoder_obj", None)
        if enc is None or enc.name != self.encoder:
            enc = get_encoder(self.encoder)
            self._encoder_obj = enc
        return enc

    def _embed(self, texts: Sequence[str], *, query: bool = False) -> np.ndarray:
        cache = EmbeddingCache(self.cache) if self.cache != "none" else None
        return embed_texts(self._text_encoder(), texts, cache, query=query,
                           progress=bool(getattr(self, "progress", True)))

    def _fit_text(self, data: Dataset) -> None:
        template = ItemTemplate.parse(self.template)
        self.item_embeddings_ = self._embed(item_texts(data, template))
        lexical, vocab, idf = fit_tfidf(item_texts(data, LEXICAL_TEMPLATE))
        self.lexical_, self.lexical_vocab_, self.lexical_idf_ = lexical, vocab, idf

    def _lexical_for(self, texts: Sequence[str]) -> sp.csr_matrix:
        return transform_tfidf(texts, self.lexical_vocab_, self.lexical_idf_)

    def add_items(self, texts: Sequence[str],
                  lexical_texts: Sequence[str] | None = None) -> np.ndarray:
        """Append brand-new products known only by their text; returns their indices.

        ``texts`` are rendered like the catalog (see :func:`coldrec.text.item_texts`);
        ``lexical_texts`` (default: the same) feed the TF-IDF part. The products can be
        recommended and searched at once, without refitting.
        """
        assert isinstance(self, Recommender)
        new = self._grow_items(len(texts))
        self.item_embeddings_ = np.vstack([self.item_embeddings_, self._embed(list(texts))])
        lex = self._lexical_for(list(lexical_texts if lexical_texts is not None else texts))
        self.lexical_ = sp.csr_matrix(sp.vstack([self.lexical_, lex]), dtype=np.float32)
        self._after_add_items(len(texts))
        return new

    def _after_add_items(self, n_new: int) -> None:
        """Hook for models with more per-item state."""

    def text_scores(self, queries: Sequence[str]) -> np.ndarray:
        """Per-query z-scored relevance of every item: sentence-embedding cosine plus TF-IDF
        cosine (the TF-IDF part is 0 for words outside the catalog, e.g. other languages)."""
        sem = self._embed(list(queries), query=True) @ self.item_embeddings_.T
        lex = np.asarray((self._lexical_for(list(queries)) @ self.lexical_.T).todense())
        return zscore(sem) + (zscore(lex) if lex.any() else 0.0)

    def search(self, query: str, k: int = 10, *, user: int | None = None,
               personalisation: float = 0.5, history: Any = None,
               attributes: pd.DataFrame | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Products for a text ``query`` (any language the encoder knows).

        With a ``user`` (internal index, ``-1`` for a new shopper described by ``history``
        or ``attributes``) the best ``max(10·k, 100)`` text matches are re-ordered by
        blending in that shopper's recommendation scores (both z-scored over those matches)
        with weight ``personalisation``: the query decides what is relevant, the shopper
        only which of the relevant products come first. Returns ``(item indices, scores)``.
        """
        assert isinstance(self, Recommender)
        self._check_fitted()
        scores = self.text_scores([query])
        if user is not None:
            depth = min(scores.shape[1], max(10 * k, 100))
            pool, _ = self._topk_rows(scores, depth)
            pool = pool[0][pool[0] >= 0]
            personal = self.score([user], history=history, attributes=attributes)[0, pool]
            finite = np.isfinite(personal)
            personal = np.where(finite, personal, personal[finite].min() if finite.any()
                                else 0.0)
            blended = zscore(scores[0, pool][None, :])[0] + \
                personalisation * zscore(personal[None, :])[0]
            scores = np.full_like(scores, -np.inf)
            scores[0, pool] = blended
        ids, vals = self._topk_rows(scores, k)
        return ids[0], vals[0]

    def _topk_rows(self, scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        assert isinstance(self, Recommender)
        return topk(scores, k, self.tie_rank_)


class ContentKNN(TextItemsMixin, Recommender):
    """Shoppers and products in one text-embedding space.

    A shopper is the (optionally recency-weighted: ``decay`` per step back from the last
    item) mean embedding of the items they touched; a shopper without history is the
    embedding of their attributes rendered as text. Score = cosine similarity.
    """

    name: ClassVar[str] = "content-knn"
    handles_cold_users: ClassVar[bool] = True
    user_state: ClassVar[tuple[str, ...]] = ("user_text_embeddings_",)
    score_params: ClassVar[frozenset[str]] = frozenset({"lexical_weight"})

    def __init__(self, encoder: str = "use-multilingual", template: str | None = None,
                 profile: Literal["mean", "recency"] = "mean", decay: float = 0.8,
                 lexical_weight: float = 0.0, cache: str | None = None,
                 progress: bool = True, random_state: int = 0) -> None:
        self.encoder = encoder
        self.template = template
        self.profile = profile
        self.decay = decay
        self.lexical_weight = lexical_weight
        self.cache = cache
        self.progress = progress
        self.random_state = random_state

    def _history_matrix(self, data: Dataset) -> sp.csr_matrix:
        if self.profile == "mean":
            return data.binary_matrix.astype(np.float32)
        if self.profile != "recency":
            raise ConfigError(f"profile must be mean or recency, not {self.profile!r}")
        pairs = data.pairs.sort_values(["user", "last_timestamp", "item"], kind="stable")
        steps_back = pairs.groupby("user").cumcount(ascending=False).to_numpy()
        weights = np.power(float(self.decay), steps_back).astype(np.float32)
        mat = sp.csr_matrix((weights, (pairs["user"].to_numpy(), pairs["item"].to_numpy())),
                            shape=(data.n_users, data.n_items), dtype=np.float32)
        mat.sort_indices()
        return mat

    def _fit(self, data: Dataset) -> None:
        self._fit_text(data)
        dim = self.item_embeddings_.shape[1]
        self.user_text_embeddings_ = np.zeros((data.n_users, dim), dtype=np.float32)
        if data.user_attributes is not None:
            texts = user_texts(data.user_attributes)
            rows = [i for i, t in enumerate(texts) if t]
            if rows:
                self.user_text_embeddings_[rows] = self._embed([texts[i] for i in rows],
                                                               query=True)

    def _score(self, users: np.ndarray, history: sp.csr_matrix,
               attributes: pd.DataFrame | None) -> np.ndarray:
        profiles = np.asarray(row_normalise(history) @ self.item_embeddings_)
        empty = np.diff(history.indptr) == 0
        if empty.any():
            profiles[empty] = self._cold_profiles(users[empty], attributes, empty)
        scores = profiles @ self.item_embeddings_.T
        if self.lexical_weight:
            lex_profile = row_normalise(history) @ self.lexical_
            lex = np.asarray((lex_profile @ self.lexical_.T).todense())
            scores = zscore(scores) + float(self.lexical_weight) * zscore(lex)
        return scores

    def _cold_profiles(self, users: np.ndarray, attributes: pd.DataFrame | None,
                       rows: np.ndarray) -> np.ndarray:
        known = (users >= 0) & (users < self.n_users_)
        out = np.zeros((len(users), self.item_embeddings_.shape[1]), dtype=np.float32)
        out[known] = self.user_text_embeddings_[users[known]]
        if attributes is not None:
            texts = user_texts(attributes.iloc[np.flatnonzero(rows)])
            given = [i for i, t in enumerate(texts) if t]
            if given:
                out[given] = self._embed([texts[i] for i in given], query=True)
        # nobody knows anything: the catalogue's mean direction (a popularity-free prior)
        blank = ~np.any(out, axis=1)
        if blank.any():
            out[blank] = self.item_embeddings_.mean(axis=0)
        return out
