"""A/B experiments: designs with deterministic assignment, the per-variant report with
confidence intervals and significance tests, and an offline replay simulator."""

from coldrec.experiments.design import METRICS, Experiment, Variant, load_experiment
from coldrec.experiments.report import ExperimentReport, experiment_report

__all__ = ["METRICS", "Experiment", "ExperimentReport", "Variant", "experiment_report",
           "load_experiment"]
