"""The one way from a model's scores to the list a shopper sees.

LensKit's shape: *lookup* (the shoppers' known items) → *candidates* (the request's shelf
and the business rules) → *scorer* (the model ranks its candidates at depth, a text search
ranks for a query, or an ANN index retrieves for factor models) → *ranker* (re-ranking with
the full context: popularity, the shoppers' items, item vectors, the catalogue) → top ``k``
→ *reasons*. The evaluation runner, every CLI command and every service route call
:meth:`Pipeline.run` (or :meth:`Pipeline.similar`); nothing else assembles a final list.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from coldrec.data.dataset import Dataset
from coldrec.data.rules import NO_RULES, CatalogueRules
from coldrec.errors import ConfigError
from coldrec.models.ann import VectorIndex
from coldrec.models.base import Recommender
from coldrec.models.capabilities import RetrievalVectors, SearchesText, TextVectors
from coldrec.pipeline.shop import ShopView
from coldrec.rerank import BusinessFilter, RerankContext, Reranker
from coldrec.rerank.base import truncate
from coldrec.text.encoders import DEFAULT_ENCODER
from coldrec.text.templates import embed_items

__all__ = ["DEPTH_FACTOR", "ListRequest", "Pipeline", "RankedLists", "catalogue_vectors"]

#: candidates the ranker looks at per shopper, as a multiple of ``k``, when it re-ranks
DEPTH_FACTOR = 10

#: the reason of every search result
SEARCH_REASON = "matches your search"

VectorSource = np.ndarray | Callable[[], np.ndarray] | None


@dataclass
class ListRequest:
    """What to rank, for whom, under which rules.

    ``users`` are internal indices (``-1``: a shopper the model does not know, described by
    ``history`` and ``attributes``); ``history`` (CSR, one row per user) replaces their
    stored items; ``candidates`` is a shelf; ``exclude`` an extra CSR of items to leave
    out; ``filters`` the business rules; ``rerank`` the re-ranker; ``query`` asks for a
    text search instead of recommendations; ``explain`` asks for a reason per item, and
    ``label`` replaces the model's reasons (a shelf's own, e.g. "new arrival");
    ``shop_rules`` applies what the shop shows: the catalogue's rules
    (:mod:`coldrec.data.rules`) and one slot per displayed title (the best-scored of
    products a shopper cannot tell apart). The CLI and the service ask for them;
    evaluation protocols do not.
    """

    users: Any
    k: int = 10
    history: sp.csr_matrix | None = None
    attributes: pd.DataFrame | None = None
    query: str | None = None
    candidates: np.ndarray | None = None
    exclude_seen: bool = True
    exclude: sp.csr_matrix | None = None
    filters: BusinessFilter | None = None
    rerank: Reranker | None = None
    explain: bool = False
    label: str | None = None
    shop_rules: bool = False

    def shopper(self, row: int) -> tuple[sp.csr_matrix | None, pd.DataFrame | None]:
        """The history row and attribute row of the ``row``-th shopper (None: not given)."""
        history = None if self.history is None else self.history[row]
        return history, None if self.attributes is None else self.attributes.iloc[[row]]


@dataclass
class RankedLists:
    """Final lists: ``ids`` / ``scores`` of shape (users, k), ``-1`` / ``-inf`` in empty
    slots; ``reasons`` per user for the filled slots, when asked."""

    ids: np.ndarray
    scores: np.ndarray
    reasons: list[list[str]] = field(default_factory=list)

    def row(self, i: int = 0) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """The filled slots of row ``i``: ids, scores and reasons (empty when not asked)."""
        keep = self.ids[i] >= 0
        reasons = self.reasons[i] if self.reasons else []
        return self.ids[i][keep], self.scores[i][keep], reasons


def catalogue_vectors(model: Recommender, data: Dataset, encoder: str | None = None
                      ) -> VectorSource:
    """Item vectors for diversity: none for a model with text vectors of its own (the
    pipeline uses those), else ``data``'s catalogue encoded on first use."""
    if isinstance(model, TextVectors):
        return None

    def encode() -> np.ndarray:
        return embed_items(data, encoder or DEFAULT_ENCODER, progress=False)
    return encode


class Pipeline(ShopView):
    """A fitted model with what lists are made from (see the module docstring).

    ``item_counts``: training interactions per item (popularity for re-rankers);
    ``catalog``: the item table, row ``i`` describing item ``i`` (rules, reasons);
    ``known``: the stored 0/1 user × item rows (a shopper's items for re-rankers when the
    request gives no history); ``item_vectors``: text vectors for diversity (an array, a
    zero-argument function computing one on first use, or ``None``: the model's own text
    vectors when it has them); ``index``: an ANN index over a factor model's item vectors;
    ``tie_rank``: the tie order (default the model's; an evaluation protocol fixes its own).
    """

    def __init__(self, model: Recommender, *, item_counts: np.ndarray,
                 catalog: pd.DataFrame | None = None, known: sp.csr_matrix | None = None,
                 item_vectors: VectorSource = None, index: VectorIndex | None = None,
                 tie_rank: np.ndarray | None = None, rules: CatalogueRules = NO_RULES) -> None:
        self.model = model
        self.rules = rules
        self._allowed: np.ndarray | None = None
        self._titles: np.ndarray | None = None
        self._names: list[Any] | None = None
        self.item_counts = np.asarray(item_counts, dtype=np.float64)
        self.catalog = catalog
        self.known = known
        self.index = index
        self.tie_rank = tie_rank
        self._vectors: VectorSource = item_vectors
        self._unit: np.ndarray | None = None

    @classmethod
    def for_dataset(cls, model: Recommender, data: Dataset, *,
                    item_vectors: VectorSource = None, encoder: str | None = None,
                    tie_rank: np.ndarray | None = None) -> Pipeline:
        """The pipeline of ``model`` fitted on ``data``: its popularity, catalogue and
        stored rows; without ``item_vectors`` those of :func:`catalogue_vectors`."""
        vectors = item_vectors if item_vectors is not None else \
            catalogue_vectors(model, data, encoder)
        return cls(model, item_counts=data.item_counts, catalog=data.catalog,
                   known=data.binary_matrix, item_vectors=vectors, tie_rank=tie_rank,
                   rules=data.rules)

    # -- context -----------------------------------------------------------------------------
    def unit_vectors(self) -> np.ndarray | None:
        """L2-normalised item text vectors (computed once), or None when there are none."""
        if self._unit is None:
            source = self._vectors
            if source is None and isinstance(self.model, TextVectors):
                source = self.model.text_vectors
            vectors = source() if callable(source) else source
            if vectors is None:
                return None
            vectors = np.asarray(vectors, dtype=np.float32)
            norms = np.linalg.norm(vectors, axis=1, keepdims=True)
            self._unit = vectors / np.maximum(norms, 1e-12)
        return self._unit

    def context(self, history: sp.csr_matrix | None, *, vectors: bool = False
                ) -> RerankContext:
        """What re-rankers and rules see; item vectors only when ``vectors``."""
        return RerankContext(item_counts=self.item_counts, history=history,
                             item_vectors=self.unit_vectors() if vectors else None,
                             catalog=self.catalog)

    def known_rows(self, users: np.ndarray, history: sp.csr_matrix | None) -> sp.csr_matrix:
        """The shoppers' known items: the request's history, else the stored rows (empty
        for unknown shoppers)."""
        if history is not None:
            return sp.csr_matrix(history)
        n = len(self.item_counts)
        if self.known is None:
            return self.model.user_history(users)
        stored = (users >= 0) & (users < self.known.shape[0])
        rows = sp.csr_matrix(self.known[np.where(stored, users, 0)])
        if not stored.all():
            rows = sp.csr_matrix(sp.diags(stored.astype(np.float32)) @ rows)
            rows.eliminate_zeros()
        if rows.shape[1] != n:
            rows = sp.csr_matrix((rows.data, rows.indices, rows.indptr),
                                 shape=(rows.shape[0], n))
        return rows

    # -- the lists ---------------------------------------------------------------------------
    def run(self, request: ListRequest) -> RankedLists:
        """The final lists of ``request`` (see the module docstring)."""
        if request.k < 1:
            raise ConfigError(f"k must be at least 1, not {request.k}")
        users = np.atleast_1d(np.asarray(request.users, dtype=np.int64))
        known = self.known_rows(users, request.history)
        rerank = request.rerank
        needs_vectors = rerank is not None and rerank.needs_item_vectors
        if needs_vectors and self.unit_vectors() is None:
            raise ConfigError("the mmr re-ranker needs item text vectors: use a text-aware "
                              "model (hybrid, content-knn) or give the catalogue's vectors")
        context = self.context(known, vectors=needs_vectors)
        candidates = self._candidates(request, context)
        # re-ranking looks deep; one slot per title needs a few spare candidates, and goes
        # deep only when repeated titles leave a list short
        depths = [request.k * DEPTH_FACTOR] if rerank is not None else \
            [request.k * 3, request.k * DEPTH_FACTOR] if request.shop_rules else [request.k]
        for depth in depths:
            if request.query is not None:
                ids, scores = self._search(request, users, depth, candidates)
            else:
                ids, scores = self._retrieve(request, users, depth, candidates)
            if request.shop_rules:
                complete = (ids >= 0).sum(axis=1)
                ids, scores = self.one_per_title(ids, scores)
                short = ((ids >= 0).sum(axis=1) < request.k) & (complete == depth)
                if short.any():
                    continue
            break
        if rerank is not None:
            ids, scores = rerank.rerank(ids, scores, request.k, context)
        else:
            ids, scores = truncate(ids, scores, request.k)
        lists = RankedLists(ids, scores)
        if request.explain:
            lists.reasons = self._reasons(request, users, ids)
        return lists

    def _candidates(self, request: ListRequest, context: RerankContext) -> np.ndarray | None:
        """The request's shelf narrowed by the catalogue's rules (when the request applies
        the shop's) and the business rules (None: every item)."""
        candidates = None if request.candidates is None else \
            np.asarray(request.candidates, dtype=np.int64)
        allowed = self.allowed_items() if request.shop_rules else None
        if allowed is not None and (candidates is not None or request.query is not None):
            candidates = allowed if candidates is None else \
                np.intersect1d(candidates, allowed)
        rule = request.filters
        if rule is not None and rule.active:
            allowed = np.flatnonzero(rule.allowed(context))
            candidates = allowed if candidates is None else \
                np.intersect1d(candidates, allowed)
        return candidates

    def _retrieve(self, request: ListRequest, users: np.ndarray, depth: int,
                  candidates: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """The model's best ``depth`` candidates per shopper (through the ANN index for a
        factor model on a whole catalogue)."""
        banned = self.banned_items() if request.shop_rules and candidates is None else None
        if self.index is not None and candidates is None and request.exclude is None \
                and isinstance(self.model, RetrievalVectors):
            history = self.model.user_history(users, request.history)
            ids, scores = self._ann(users, history, depth + len(banned if banned is not None
                                                                 else ()),
                                    request.exclude_seen)
            if banned is not None and len(banned):
                off = np.isin(ids, banned)
                ids, scores = np.where(off, -1, ids), np.where(off, -np.inf, scores)
                order = np.argsort(ids < 0, axis=1, kind="stable")  # filled slots first
                ids = np.take_along_axis(ids, order, axis=1)
                scores = np.take_along_axis(scores, order, axis=1)
            return ids[:, :depth], scores[:, :depth]
        exclude = request.exclude
        if banned is not None and len(banned):  # few: left out, not a shelf of the rest
            rows = sp.csr_matrix((np.ones(len(users) * len(banned), dtype=np.float32),
                                  np.tile(banned, len(users)),
                                  np.arange(len(users) + 1) * len(banned)),
                                 shape=(len(users), len(self.item_counts)))
            exclude = rows if exclude is None else sp.csr_matrix(exclude + rows)
        return self.model.recommend(users, k=depth, exclude_seen=request.exclude_seen,
                                    candidates=candidates, history=request.history,
                                    attributes=request.attributes, exclude=exclude,
                                    tie_rank=self.tie_rank)

    def _ann(self, users: np.ndarray, history: sp.csr_matrix, k: int, exclude_seen: bool
             ) -> tuple[np.ndarray, np.ndarray]:
        """Approximate top-``k`` of a factor model through the item-vector index."""
        assert self.index is not None and isinstance(self.model, RetrievalVectors)
        vectors = self.model.user_vectors(users, history)
        ids = np.full((len(users), k), -1, dtype=np.int64)
        scores = np.full((len(users), k), -np.inf)
        for r in range(len(users)):
            seen = set(history[r].indices.tolist()) if exclude_seen else set()
            found, vals = self.index.search(vectors[r:r + 1], k + len(seen))
            keep = np.asarray([i >= 0 and int(i) not in seen for i in found[0]], dtype=bool)
            row_ids, row_vals = found[0][keep][:k], vals[0][keep][:k]
            ids[r, :len(row_ids)], scores[r, :len(row_vals)] = row_ids, row_vals
        return ids, scores

    def _search(self, request: ListRequest, users: np.ndarray, depth: int,
                candidates: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """Text search per shopper, personalised for known shoppers and for new ones who
        bring history or attributes."""
        model = self.model
        if not isinstance(model, SearchesText):
            raise ConfigError(f"{type(model).__name__} does not read text; use a text-aware "
                              "model (hybrid, content-knn) for search")
        ids = np.full((len(users), depth), -1, dtype=np.int64)
        scores = np.full((len(users), depth), -np.inf)
        for r, user in enumerate(users):
            history, attrs = request.shopper(r)
            described = (history is not None and history.nnz > 0) or attrs is not None
            who = int(user) if user >= 0 or described else None
            found, vals = model.search(str(request.query), k=depth, user=who,
                                       history=history, attributes=attrs)
            if candidates is not None:
                allowed = np.isin(found, candidates)
                found, vals = np.where(allowed, found, -1), np.where(allowed, vals, -np.inf)
            order = np.argsort(found < 0, kind="stable")  # filled slots first
            ids[r, :len(found)], scores[r, :len(found)] = found[order], vals[order]
        return ids, scores

    def _reasons(self, request: ListRequest, users: np.ndarray, ids: np.ndarray
                 ) -> list[list[str]]:
        label = SEARCH_REASON if request.query is not None else request.label
        out = []
        for r, user in enumerate(users):
            row = ids[r][ids[r] >= 0]
            if label is not None:
                out.append([label] * len(row))
                continue
            history, attrs = request.shopper(r)
            out.append(self._explained(int(user), row, history, attrs) if len(row) else [])
        return out

    def _explained(self, user: int, row: np.ndarray, history: sp.csr_matrix | None,
                   attributes: pd.DataFrame | None) -> list[str]:
        """The model's reasons, a collaborative one naming the shopper's own product most
        responsible for the item where the model can say ("because you bought …")."""
        reasons = self.model.explain(user, row, history=history, attributes=attributes)
        collaborative = self.model.reason_with_history
        if collaborative not in reasons:
            return reasons
        anchors = self.model.anchors(user, row, history=history)
        return [f"because you bought {self.title(int(a))}" if why == collaborative and a >= 0
                else why for why, a in zip(reasons, anchors, strict=True)]

    # -- products like a product -------------------------------------------------------------
    def similar(self, item: int, k: int = 10, *, filters: BusinessFilter | None = None,
                name: str | None = None) -> RankedLists:
        """Products bought together with or described like ``item`` (internal index), under
        the business rules, with reasons that name the product (``name``, default its
        catalogue title)."""
        if k < 1:
            raise ConfigError(f"k must be at least 1, not {k}")
        active = filters is not None and filters.active
        found = self.model.similar_items(item, k * DEPTH_FACTOR)
        ids, scores = found.ids[None, :], found.scores[None, :].astype(np.float64)
        together = dict(zip(found.ids.tolist(), found.bought_together.tolist(), strict=True))
        # what the shop shows: its rules, and neither the product again under another id
        # nor two products a shopper cannot tell apart
        allowed = self.allowed_items()
        if allowed is not None:
            ids, scores = np.where(np.isin(ids, allowed), ids, -1), \
                np.where(np.isin(ids, allowed), scores, -np.inf)
        ids, scores = self.one_per_title(np.concatenate([[[item]], ids], axis=1),
                                         np.concatenate([[[np.inf]], scores], axis=1))
        ids, scores = ids[:, 1:], scores[:, 1:]
        if active:
            assert filters is not None
            ids, scores = filters.rerank(ids, scores, k, self.context(None))
        ids, scores = truncate(ids, scores, k)
        name = name or self.title(item)
        reasons = [f"bought together with {name}" if together[int(i)] else
                   f"described like {name}" for i in ids[0] if i >= 0]
        return RankedLists(ids, scores, [reasons])
