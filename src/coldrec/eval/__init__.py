"""Evaluation: protocols P1–P5, metrics, confidence intervals, the select-refit-test runner."""

from coldrec.eval.metrics import (
    gini,
    head_items,
    hit_matrix,
    per_user_metrics,
    ranking_metrics,
    round_half_up,
)
from coldrec.eval.protocols import PROTOCOLS, EvalTask, Phase, Split, make_split
from coldrec.eval.runner import (
    ProtocolResult,
    TaskResult,
    evaluate_task,
    rank_task,
    run_protocol,
    task_metrics,
)
from coldrec.eval.stats import Difference, bootstrap_ci, paired_difference

__all__ = [
    "PROTOCOLS",
    "Difference",
    "EvalTask",
    "Phase",
    "ProtocolResult",
    "Split",
    "TaskResult",
    "bootstrap_ci",
    "evaluate_task",
    "gini",
    "head_items",
    "hit_matrix",
    "make_split",
    "paired_difference",
    "per_user_metrics",
    "rank_task",
    "ranking_metrics",
    "round_half_up",
    "run_protocol",
    "task_metrics",
]
