"""What the demo page reads: the shop's shape, live statistics, the latest evaluation and
the running experiment's report."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query

from coldrec.eval.reports import latest_evaluation
from coldrec.experiments.report import experiment_report
from coldrec.serve import catalogue
from coldrec.serve.errors import NOT_FOUND
from coldrec.serve.routes.deps import AppSettings, AppTelemetry, Service
from coldrec.serve.schemas import ShopInfo

router = APIRouter(tags=["shop"])


@router.get("/shop", response_model=ShopInfo)
def shop(service: Service, settings: AppSettings) -> ShopInfo:
    """Categories, profile fields and the running experiment, for the demo page."""
    exp = service.experiment
    with service.reading() as live:
        departments = catalogue.categories(live)
        attributes = catalogue.attribute_choices(live)
    return ShopInfo(data=settings.data, model=service.model_name,
                    categories=departments, attributes=attributes,
                    experiment=None if exp is None else exp.to_json(),
                    open_writes=settings.open_writes)


@router.get("/stats")
def stats(service: Service, telemetry: AppTelemetry) -> dict[str, Any]:
    """Live counters (last minute), the long-tail curve of what was served, coverage."""
    live = service.live
    return {"model": service.model_name, "model_version": live.version,
            "items": len(live.item_ids), "users": len(live.user_index),
            "cache_hits": service.cache_hits, "live": telemetry.live(),
            "longtail": service.longtail()}


@router.get("/evaluation", responses=NOT_FOUND)
def evaluation(settings: AppSettings) -> dict[str, Any]:
    """The newest evaluation report in ``reports_dir`` (``coldrec evaluate
    --report-dir`` or ``coldrec demo`` writes them)."""
    report = latest_evaluation(settings.reports_dir)
    if report is None:
        raise HTTPException(404, "no evaluation report yet; run `coldrec demo` or "
                                 "`coldrec evaluate --report-dir` into the service's "
                                 "reports folder")
    return report


@router.get("/experiment/report", responses=NOT_FOUND)
def experiment(service: Service, alpha: Annotated[float, Query(gt=0, lt=0.5)] = 0.05
               ) -> dict[str, Any]:
    """Per-variant CTR, conversion and revenue per shopper of the running experiment,
    with confidence intervals and tests against the control."""
    if service.experiment is None:
        raise HTTPException(404, "no experiment is running (set COLDREC_EXPERIMENT)")
    report = experiment_report(service.store.experiment_events(service.experiment.name),
                               service.experiment, prices=service.store.prices(), alpha=alpha)
    return report.to_json()
