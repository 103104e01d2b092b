"""Evaluation: protocols P1–P5, metrics, and the select-refit-test runner."""

from coldrec.eval.metrics import gini, head_items, hit_matrix, ranking_metrics, round_half_up
from coldrec.eval.protocols import PROTOCOLS, EvalTask, Phase, Split, make_split
from coldrec.eval.runner import ProtocolResult, TaskResult, evaluate_task, run_protocol

__all__ = [
    "PROTOCOLS",
    "EvalTask",
    "Phase",
    "ProtocolResult",
    "Split",
    "TaskResult",
    "evaluate_task",
    "gini",
    "head_items",
    "hit_matrix",
    "make_split",
    "ranking_metrics",
    "round_half_up",
    "run_protocol",
]
