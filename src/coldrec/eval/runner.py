"""Evaluate a model on a task, and run a whole protocol: select on valid, refit, test once."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from coldrec.data.dataset import Dataset
from coldrec.eval.metrics import head_items, per_user_metrics, ranking_metrics
from coldrec.eval.protocols import EvalTask, Split, make_split
from coldrec.eval.stats import bootstrap_ci
from coldrec.models.base import Recommender
from coldrec.models.capabilities import EpochTrained, Validation
from coldrec.models.ranking import tie_ranks
from coldrec.pipeline import ListRequest, Pipeline
from coldrec.progress import progress_bar
from coldrec.rerank import Reranker

__all__ = ["ProtocolResult", "TaskResult", "evaluate_task", "rank_task", "run_protocol",
           "task_metrics"]


def rank_task(
    model: Recommender,
    task: EvalTask,
    k: int,
    train: Dataset,
    *,
    seed: int = 0,
    rerank: Reranker | None = None,
    item_vectors: np.ndarray | None = None,
) -> np.ndarray:
    """Top-``k`` item indices per user of ``task`` from ``model`` (fitted on ``train``),
    through the recommendation :class:`~coldrec.pipeline.Pipeline`.

    With ``rerank`` the pipeline re-ranks candidates at depth (its context: ``train``'s
    popularity and catalogue, the users' known items, ``item_vectors`` or the model's own
    text vectors). Ties are broken by the protocol's tie order (``default_rng(seed)``
    permutation).
    """
    pipeline = Pipeline.for_dataset(model, train, item_vectors=item_vectors,
                                    tie_rank=tie_ranks(train.n_items, seed))
    request = ListRequest(task.users, k=k, history=task.history,
                          candidates=task.candidates, exclude_seen=task.exclude_seen,
                          exclude=task.exclude, rerank=rerank)
    return pipeline.run(request).ids


def task_metrics(
    ids: np.ndarray,
    task: EvalTask,
    ks: Sequence[int],
    train: Dataset,
    *,
    metrics: Sequence[str] | None = None,
    head_counts: np.ndarray | None = None,
    item_vectors: np.ndarray | None = None,
) -> dict[str, float]:
    """Metrics at ``ks`` of the top lists ``ids`` (from :func:`rank_task`) on ``task``.

    The head (for the tail metrics) is the top 20 % of items by ``head_counts`` (default: the
    training counts of ``train``); protocols pass the counts of their own train part so the
    head is the same before and after the refit. ``item_vectors`` enables the intra-list
    diversity metric.
    """
    counts = train.item_counts
    return ranking_metrics(
        ids,
        task.truth,
        ks,
        candidates=task.candidates,
        item_counts=counts,
        n_train_users=int((train.user_counts > 0).sum()),
        head=head_items(counts if head_counts is None else head_counts),
        focus=task.focus,
        focus_name=task.focus_name,
        metrics=metrics,
        item_vectors=item_vectors,
    )


def evaluate_task(
    model: Recommender,
    task: EvalTask,
    ks: Sequence[int],
    train: Dataset,
    *,
    seed: int = 0,
    metrics: Sequence[str] | None = None,
    head_counts: np.ndarray | None = None,
    rerank: Reranker | None = None,
    item_vectors: np.ndarray | None = None,
) -> dict[str, float]:
    """Rank ``task`` with ``model`` (fitted on ``train``) and compute metrics at ``ks``.

    :func:`rank_task` then :func:`task_metrics`; the keywords are theirs.
    """
    ids = rank_task(model, task, max(ks), train, seed=seed, rerank=rerank,
                    item_vectors=item_vectors)
    return task_metrics(ids, task, ks, train, metrics=metrics, head_counts=head_counts,
                        item_vectors=item_vectors)


@dataclass
class TaskResult:
    """Outcome of one test task: chosen configuration, its validation score, test metrics."""

    params: dict[str, Any]
    valid: float
    metrics: dict[str, float]
    fit_seconds: float
    eval_seconds: float
    trainonly: dict[str, float] | None = None
    #: recall and NDCG per test user (``"ndcg@20"`` → array), for paired comparisons
    per_user: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    #: 95 % bootstrap interval of each ``per_user`` mean (:func:`coldrec.eval.stats.bootstrap_ci`)
    ci95: dict[str, tuple[float, float]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "params": self.params,
            "valid": self.valid,
            "metrics": self.metrics,
            "ci95": {name: [round(lo, 6), round(hi, 6)] for name, (lo, hi) in self.ci95.items()},
            "fit_seconds": round(self.fit_seconds, 3),
            "eval_seconds": round(self.eval_seconds, 3),
        }
        if self.trainonly is not None:
            out["test_trainonly"] = self.trainonly
        return out


@dataclass
class ProtocolResult:
    """All test tasks of one protocol run for one model."""

    protocol: str
    dataset: str
    model: str
    selection_metric: str
    configs: int
    tasks: dict[str, TaskResult] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        base = {"protocol": self.protocol, "dataset": self.dataset, "model": self.model,
                "selection_metric": self.selection_metric, "configs": self.configs,
                "info": self.info}
        if list(self.tasks) == ["test"]:
            return {**base, **self.tasks["test"].to_json()}
        return {**base, "tasks": {name: t.to_json() for name, t in self.tasks.items()}}


def _fit_key(model: Recommender) -> str:
    """Identifies the fit: every parameter except the score-time ones."""
    return repr(sorted((k, repr(v)) for k, v in model.get_params().items()
                       if k not in type(model).score_params))


def _fitted_for(factory: Callable[..., Recommender], params: dict[str, Any], train: Dataset,
                cache: dict[str, Recommender], validation: Validation) -> Recommender:
    """A model fitted with ``params``, reusing a fit that differs only in score-time params.

    Epoch-trained models stop early on ``validation``; the others ignore it.
    """
    model = factory(**params)
    key = _fit_key(model)
    if key in cache:
        return cache[key].set_params(**params)
    cache.clear()  # one fit in memory at a time: configs are visited grouped by fit
    cache[key] = model.fit(train, validation=validation)
    return model


def run_protocol(
    data: Dataset | Split,
    protocol: str,
    factory: Callable[..., Recommender],
    grid: Sequence[Mapping[str, Any]] = ({},),
    ks: Sequence[int] = (10, 20),
    *,
    model_name: str | None = None,
    seed: int = 0,
    progress: bool = True,
    rerank: Reranker | None = None,
    item_vectors: np.ndarray | None = None,
) -> ProtocolResult:
    """Select a configuration from ``grid`` on validation, refit it, and test it once.

    ``factory(**params)`` builds an unfitted model. Each test task uses the configuration
    that scored best on its selection task (first best in grid order on ties). P1/P2 also
    report the train-only selected model on test (``test_trainonly``, reference only).
    Epoch-trained models stop early on the selection task and are refit for the chosen
    number of epochs (``refit_params``), as the protocols prescribe. ``rerank`` (applied in
    selection and test alike) and ``item_vectors`` are passed to :func:`evaluate_task`.
    """
    split = data if isinstance(data, Split) else make_split(data, protocol, seed=seed)
    configs = [dict(g) for g in grid] or [{}]
    scoring = _Scoring(seed, rerank, item_vectors)
    best = _select(split, factory, configs, scoring, progress_bar(
        total=len(configs), desc=f"{split.protocol} select {model_name or ''}",
        enabled=progress))
    metric, k_sel = split.selection_metric
    result = ProtocolResult(protocol=split.protocol, dataset=split.test.train.name.split(":")[0],
                            model=model_name or type(factory).__name__,
                            selection_metric=f"{metric}@{k_sel}", configs=len(configs),
                            info=dict(split.info))
    _test(split, factory, configs, best, ks, scoring, result)
    return result


@dataclass(frozen=True)
class _Scoring:
    """How a protocol run ranks: the tie seed, the re-ranker, diversity vectors."""

    seed: int
    rerank: Reranker | None
    item_vectors: np.ndarray | None

    def evaluate(self, model: Recommender, task: EvalTask, ks: Sequence[int], train: Dataset,
                 **options: Any) -> dict[str, float]:
        return evaluate_task(model, task, ks, train, seed=self.seed, rerank=self.rerank,
                             item_vectors=self.item_vectors, **options)


#: per selection task: (validation score, config index, train-only model, refit params)
_Best = dict[str, tuple[float, int, Recommender | None, dict[str, Any]]]


def _select(split: Split, factory: Callable[..., Recommender], configs: list[dict[str, Any]],
            scoring: _Scoring, bar: Any) -> _Best:
    """Every configuration on the selection tasks; the best per task (first on ties)."""
    metric, k_sel = split.selection_metric
    key = f"{metric}@{k_sel}"
    sel_train = split.selection.train
    best: _Best = {}
    cache: dict[str, Recommender] = {}
    keep_models = {split.selected_by[t] for t in split.trainonly_tasks}
    used = set(split.selected_by.values())  # selection tasks some test task listens to
    keys = [_fit_key(factory(**params)) for params in configs]
    order = sorted(range(len(configs)), key=lambda i: keys.index(keys[i]))  # grouped by fit
    first_task = next(n for n in split.selection.tasks if n in used)

    def validate(m: Recommender) -> float:
        return scoring.evaluate(m, split.selection.tasks[first_task], [k_sel], sel_train,
                                metrics=[metric]).get(key, 0.0)

    for idx in order:
        params = configs[idx]
        model = _fitted_for(factory, params, sel_train, cache, validate)
        for name, task in split.selection.tasks.items():
            if name not in used:
                continue
            score = scoring.evaluate(model, task, [k_sel], sel_train,
                                     metrics=[metric]).get(key, 0.0)
            if name not in best or score > best[name][0] or (
                    score == best[name][0] and idx < best[name][1]):
                kept = model.clone(**params) if name in keep_models else None
                if kept is not None:  # a snapshot: the cached fit is re-parameterised later
                    kept.__dict__.update({k: v for k, v in vars(model).items()
                                          if k.endswith("_")})
                refit = model.refit_params() if isinstance(model, EpochTrained) else {}
                best[name] = (score, idx, kept, refit)
        bar.update(1)
    bar.close()
    return best


def _test(split: Split, factory: Callable[..., Recommender], configs: list[dict[str, Any]],
          best: _Best, ks: Sequence[int], scoring: _Scoring, result: ProtocolResult) -> None:
    """Refit each test task's chosen configuration and test it once, into ``result``."""
    test_train = split.test.train
    head = split.selection.train.item_counts  # the protocol's train part: head and tail
    fitted: dict[str, tuple[Recommender, float]] = {}
    for name, task in split.test.tasks.items():
        valid_score, idx, sel_model, refit = best[split.selected_by[name]]
        chosen = {**configs[idx], **refit}
        fit_id = repr(sorted(chosen.items()))
        if fit_id not in fitted:
            start = time.perf_counter()
            model = factory(**chosen).fit(test_train)
            fitted[fit_id] = (model, time.perf_counter() - start)
        model, fit_s = fitted[fit_id]
        start = time.perf_counter()
        ids = rank_task(model, task, max(ks), test_train, seed=scoring.seed,
                        rerank=scoring.rerank, item_vectors=scoring.item_vectors)
        metrics = task_metrics(ids, task, ks, test_train, head_counts=head,
                               item_vectors=scoring.item_vectors)
        eval_s = time.perf_counter() - start
        per_user = per_user_metrics(ids, task.truth, ks)
        trainonly = None
        if name in split.trainonly_tasks and sel_model is not None:
            trainonly = scoring.evaluate(sel_model, split.trainonly_tasks[name], ks,
                                         split.selection.train, head_counts=head)
        result.tasks[name] = TaskResult(params=chosen, valid=float(valid_score),
                                        metrics=metrics, fit_seconds=fit_s,
                                        eval_seconds=eval_s, trainonly=trainonly,
                                        per_user=per_user,
                                        ci95={m: bootstrap_ci(v, seed=scoring.seed)
                                              for m, v in per_user.items()})
