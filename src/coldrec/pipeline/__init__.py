"""From scores to the shown list (:class:`Pipeline`), and models saved with what they need
to answer raw ids (:func:`save_model`, :func:`load_model`)."""

from coldrec.pipeline.bundle import load_model, save_model
from coldrec.pipeline.core import DEPTH_FACTOR, SEARCH_REASON, ListRequest, Pipeline, RankedLists

__all__ = ["DEPTH_FACTOR", "SEARCH_REASON", "ListRequest", "Pipeline", "RankedLists",
           "load_model", "save_model"]
