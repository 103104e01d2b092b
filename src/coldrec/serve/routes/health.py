"""Liveness and Prometheus metrics."""

from __future__ import annotations

import os

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from coldrec.serve.routes.deps import AppTelemetry, Service
from coldrec.serve.schemas import Health

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health)
async def health(service: Service) -> Health:
    """On the event loop, never behind scoring in the thread pool."""
    live = service.live
    return Health(status="ok", model=service.model_name, model_version=live.version,
                  items=len(live.item_ids), users=len(live.user_index),
                  skipped_rows=service.skipped_rows, worker=os.getpid())


@router.get("/metrics", include_in_schema=False)
async def metrics(telemetry: AppTelemetry) -> Response:
    return Response(generate_latest(telemetry.registry), media_type=CONTENT_TYPE_LATEST)
