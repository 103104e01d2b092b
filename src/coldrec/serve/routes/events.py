"""Shoppers' events (clicks, carts, purchases, impressions)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException

from coldrec.serve.errors import AUTH_RESPONSES
from coldrec.serve.routes.deps import AppSettings, AppTelemetry, Service, require_key
from coldrec.serve.schemas import Event, EventBatch, EventsAccepted

router = APIRouter(tags=["events"])


@router.post("/events", response_model=EventsAccepted, status_code=201,
             dependencies=[Depends(require_key)], responses=AUTH_RESPONSES)
def post_events(body: Event | EventBatch, service: Service, settings: AppSettings,
                telemetry: AppTelemetry) -> EventsAccepted:
    events = body.events if isinstance(body, EventBatch) else [body]
    if len(events) > settings.max_batch:
        raise HTTPException(413, f"batch of {len(events)} events is over the limit of "
                                 f"{settings.max_batch}; split it")
    n = service.record_events([e.model_dump() for e in events])
    telemetry.count_events(n)
    return EventsAccepted(accepted=n)
