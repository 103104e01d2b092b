"""The HTTP API (FastAPI). Routes are thin: parse, authorise, call the engine, shape.

``create_app(settings)`` builds an app whose lifespan starts the engine once (seeding an
empty store from the configured dataset and training the configured model); tests pass a
ready engine instead. Nothing lives in module globals. With ``demo_page`` the app also
serves the demo shop page at ``/`` (plain HTML + JS from ``static/``) and what it reads:
``/shop``, ``/items``, ``/stats``, ``/evaluation``, ``/experiment/report``.
"""

from __future__ import annotations

import hmac
import logging
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path as FilePath
from typing import Annotated, Any

import numpy as np
from fastapi import Depends, FastAPI, HTTPException, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.staticfiles import StaticFiles
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)

from coldrec.errors import ColdrecError
from coldrec.eval.reports import latest_evaluation
from coldrec.experiments.design import Variant, load_experiment
from coldrec.experiments.report import experiment_report
from coldrec.serve.engine import Filters, RecommenderService
from coldrec.serve.schemas import (
    CatalogPage,
    Event,
    EventBatch,
    EventsAccepted,
    Health,
    ItemIn,
    ItemOut,
    Product,
    Recommendations,
    RecommendRequest,
    ShopInfo,
    UserIn,
)
from coldrec.serve.settings import Settings, hash_key
from coldrec.serve.store import EventStore

__all__ = ["create_app"]

log = logging.getLogger(__name__)
IdPath = Annotated[str, Path(min_length=1, max_length=200)]
bearer = HTTPBearer(auto_error=False)
STATIC = FilePath(__file__).parent / "static"
#: routes whose latency the live counters report
RECOMMEND_ROUTES = ("/recommend/{user_id}", "/recommend", "/recommend/{user_id}/new-arrivals",
                    "/items/{item_id}/similar", "/search")


class Telemetry:
    """Prometheus counters of one app (its own registry, no process globals)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("coldrec_requests_total", "HTTP requests",
                                ["route", "status"], registry=self.registry)
        self.latency = Histogram("coldrec_request_seconds", "request latency", ["route"],
                                 registry=self.registry,
                                 buckets=(.001, .0025, .005, .01, .025, .05, .1, .25, 1, 5))
        self.events = Counter("coldrec_events_total", "events stored", registry=self.registry)
        # the last minutes, for the live counters of the metrics view
        self.recent: deque[tuple[float, str, float]] = deque(maxlen=20_000)
        self.event_times: deque[tuple[float, int]] = deque(maxlen=20_000)

    def live(self, window_s: float = 60.0) -> dict[str, Any]:
        """Events and requests in the last ``window_s`` seconds, recommendation latency."""
        now = time.time()
        events = sum(n for t, n in list(self.event_times) if now - t <= window_s)
        recent = [(route, s) for t, route, s in list(self.recent) if now - t <= window_s]
        lat = np.asarray([s for route, s in recent if route in RECOMMEND_ROUTES]) * 1000
        return {"window_s": window_s, "events": events, "requests": len(recent),
                "recommendations": len(lat),
                "latency_ms": {"p50": float(np.percentile(lat, 50)) if len(lat) else None,
                               "p95": float(np.percentile(lat, 95)) if len(lat) else None}}


class MeasureMiddleware:
    """Pure ASGI middleware: count requests by route template and status, time them."""

    def __init__(self, app: Any, telemetry: Telemetry) -> None:
        self.app = app
        self.telemetry = telemetry

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any],
                       send: Callable[..., Any]) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_status(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            name = getattr(scope.get("route"), "path", "unmatched")
            seconds = time.perf_counter() - start
            self.telemetry.requests.labels(name, str(status)).inc()
            self.telemetry.latency.labels(name).observe(seconds)
            self.telemetry.recent.append((time.time(), name, seconds))


def _retrain_loop(service: RecommenderService, every_s: float, stop: threading.Event) -> None:
    """Retrain every ``every_s`` seconds until ``stop``; a failed fit keeps the live model."""
    while not stop.wait(every_s):
        try:
            service.retrain()
        except Exception:  # keep serving the current model, and say why
            log.exception("scheduled retrain failed; the current model stays live")


def get_service(request: Request) -> RecommenderService:
    return request.app.state.service


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def _authorised(settings: Settings, credentials: HTTPAuthorizationCredentials | None) -> bool:
    if credentials is None or credentials.scheme.lower() != "bearer":
        return False
    given = hash_key(credentials.credentials)
    return any(hmac.compare_digest(given, h) for h in settings.key_hashes())


def _unauthorised() -> HTTPException:
    return HTTPException(401, "a valid API key is required (Authorization: Bearer KEY)",
                         headers={"WWW-Authenticate": "Bearer"})


def require_key(settings: Annotated[Settings, Depends(get_settings)],
                credentials: Annotated[HTTPAuthorizationCredentials | None,
                                       Depends(bearer)]) -> None:
    """Writes and admin calls: a valid bearer API key or 401 (nothing is written); a local
    demo started with ``open_writes`` lets them through."""
    if not settings.open_writes and not _authorised(settings, credentials):
        raise _unauthorised()


def read_access(settings: Annotated[Settings, Depends(get_settings)],
                credentials: Annotated[HTTPAuthorizationCredentials | None,
                                       Depends(bearer)]) -> None:
    if not settings.open_reads and not _authorised(settings, credentials):
        raise _unauthorised()


Service = Annotated[RecommenderService, Depends(get_service)]


def create_app(settings: Settings | None = None,
               service: RecommenderService | None = None) -> FastAPI:
    """The API; ``service`` (already started) skips the start-up training."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if getattr(app.state, "service", None) is None:
            store = EventStore(settings.database_url)
            experiment = load_experiment(settings.experiment) if settings.experiment else None
            app.state.service = RecommenderService.start(
                store, settings.data, settings.model, settings.model_params,
                seed_events=settings.seed_events, experiment=experiment,
                new_arrivals=settings.new_arrivals)
        stop = threading.Event()
        if settings.retrain_every_s:
            threading.Thread(target=_retrain_loop, name="coldrec-scheduled-retrain",
                             args=(app.state.service, settings.retrain_every_s, stop),
                             daemon=True).start()
        yield
        stop.set()

    app = FastAPI(title="coldrec", version="0.1.0", lifespan=lifespan,
                  description="Recommendations for new shoppers, new products and the "
                              "long tail.")
    app.state.settings = settings
    app.state.service = service
    app.state.telemetry = telemetry = Telemetry()

    app.add_middleware(MeasureMiddleware, telemetry=telemetry)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        # field, message and type only: echoing the input could be unserialisable (NaN)
        detail = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", ""),
                   "type": e.get("type", "")} for e in exc.errors()]
        return JSONResponse(status_code=422, content={"detail": detail})

    @app.exception_handler(ColdrecError)
    async def coldrec_error(_request: Request, exc: ColdrecError) -> JSONResponse:
        return JSONResponse(status_code=422, content={"detail": str(exc)})

    @app.get("/health", response_model=Health)
    def health(service: Service) -> Health:
        live = service.live
        return Health(status="ok", model=service.model_name, model_version=live.version,
                      items=len(live.item_ids), users=len(live.user_index))

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(telemetry.registry), media_type=CONTENT_TYPE_LATEST)

    @app.post("/events", response_model=EventsAccepted, status_code=201,
              dependencies=[Depends(require_key)])
    def post_events(body: Event | EventBatch, service: Service) -> EventsAccepted:
        events = body.events if isinstance(body, EventBatch) else [body]
        if len(events) > settings.max_batch:
            raise HTTPException(413, f"batch of {len(events)} events is over the limit of "
                                     f"{settings.max_batch}; split it")
        n = service.record_events([e.model_dump() for e in events])
        telemetry.events.inc(n)
        telemetry.event_times.append((time.time(), n))
        return EventsAccepted(accepted=n)

    @app.put("/items/{item_id}", response_model=ItemOut, dependencies=[Depends(require_key)])
    def put_item(item_id: IdPath, body: ItemIn, service: Service) -> ItemOut:
        return ItemOut(**service.upsert_item(item_id, body.model_dump(exclude_none=True)))

    @app.put("/users/{user_id}", dependencies=[Depends(require_key)])
    def put_user(user_id: IdPath, body: UserIn, service: Service) -> dict[str, Any]:
        created = service.upsert_user(user_id, body.attributes)
        return {"user_id": user_id, "created": created}

    @app.delete("/users/{user_id}", dependencies=[Depends(require_key)])
    def delete_user(user_id: IdPath, service: Service) -> dict[str, Any]:
        return {"user_id": user_id, "events_removed": service.delete_user(user_id)}

    @app.get("/recommend/{user_id}", response_model=Recommendations,
             dependencies=[Depends(read_access)])
    def recommend_user(
        user_id: IdPath, service: Service,
        k: Annotated[int, Query(ge=1, le=200)] = 10,
        in_stock_only: bool = False,
        exclude_category: Annotated[list[str] | None, Query(max_length=100)] = None,
        price_min: Annotated[float | None, Query(ge=0, allow_inf_nan=False)] = None,
        price_max: Annotated[float | None, Query(ge=0, allow_inf_nan=False)] = None,
        rerank: Annotated[str | None, Query(max_length=200)] = None,
    ) -> Recommendations:
        filters = Filters(in_stock_only, exclude_category or (), price_min, price_max)
        variant = service.assign(user_id)
        items = service.recommend(user_id, min(k, settings.max_k), filters=filters,
                                  rerank=rerank, variant=variant)
        return _answer(service, user_id, items, variant)

    @app.post("/recommend", response_model=Recommendations,
              dependencies=[Depends(read_access)])
    def recommend_new(body: RecommendRequest, service: Service) -> Recommendations:
        filters = Filters(body.in_stock_only, body.exclude_categories, body.price_min,
                          body.price_max)
        variant = service.assign(body.user_id)
        items = service.recommend(body.user_id, min(body.k, settings.max_k),
                                  attributes=body.attributes, items=body.items,
                                  query=body.query, filters=filters, rerank=body.rerank,
                                  variant=variant)
        return _answer(service, body.user_id, items, variant)

    @app.get("/recommend/{user_id}/new-arrivals", response_model=Recommendations,
             dependencies=[Depends(read_access)])
    def new_arrivals(user_id: IdPath, service: Service,
                     k: Annotated[int, Query(ge=1, le=200)] = 10) -> Recommendations:
        """The newest products (first seen most recently), ranked for this shopper."""
        items = service.recommend(user_id, min(k, settings.max_k), new_arrivals=True)
        return _answer(service, user_id, items, None)

    @app.get("/items", response_model=CatalogPage, dependencies=[Depends(read_access)])
    def catalog(service: Service, offset: Annotated[int, Query(ge=0)] = 0,
                limit: Annotated[int, Query(ge=1, le=200)] = 24,
                category: Annotated[str | None, Query(max_length=500)] = None,
                contains: Annotated[str | None, Query(max_length=200)] = None) -> CatalogPage:
        """Browse the catalogue, newest products first."""
        total, page = service.catalog_page(offset, limit, category, contains)
        return CatalogPage(total=total, offset=offset, items=[Product(**p) for p in page])

    @app.get("/items/{item_id}", response_model=Product, dependencies=[Depends(read_access)])
    def get_item(item_id: IdPath, service: Service) -> Product:
        item = service.item(item_id)
        if item is None:
            raise HTTPException(404, f"unknown item_id {item_id!r}")
        return Product(**item)

    @app.get("/items/{item_id}/similar", response_model=Recommendations,
             dependencies=[Depends(read_access)])
    def similar(item_id: IdPath, service: Service,
                k: Annotated[int, Query(ge=1, le=200)] = 10) -> Recommendations:
        items = service.similar(item_id, k)
        if items is None:
            raise HTTPException(404, f"unknown item_id {item_id!r}")
        return Recommendations(user_id=None, model_version=service.live.version, items=items)

    @app.get("/search", response_model=Recommendations, dependencies=[Depends(read_access)])
    def search(service: Service, q: Annotated[str, Query(min_length=1, max_length=1000)],
               user_id: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
               k: Annotated[int, Query(ge=1, le=200)] = 10) -> Recommendations:
        return Recommendations(user_id=user_id, model_version=service.live.version,
                               items=service.search(q, k, user_id))

    @app.get("/shop", response_model=ShopInfo, dependencies=[Depends(read_access)])
    def shop(service: Service) -> ShopInfo:
        """Categories, profile fields and the running experiment, for the demo page."""
        exp = service.experiment
        return ShopInfo(data=settings.data, model=service.model_name,
                        categories=service.categories(),
                        attributes=service.attribute_choices(),
                        experiment=None if exp is None else exp.to_json(),
                        open_writes=settings.open_writes)

    @app.get("/stats", dependencies=[Depends(read_access)])
    def stats(service: Service) -> dict[str, Any]:
        """Live counters (last minute), the long-tail curve of what was served, coverage."""
        live = service.live
        return {"model": service.model_name, "model_version": live.version,
                "items": len(live.item_ids), "users": len(live.user_index),
                "cache_hits": service.cache_hits, "live": telemetry.live(),
                "longtail": service.longtail()}

    @app.get("/evaluation", dependencies=[Depends(read_access)])
    def evaluation() -> dict[str, Any]:
        """The newest evaluation report in ``reports_dir`` (``coldrec evaluate
        --report-dir`` or ``coldrec demo`` writes them)."""
        report = latest_evaluation(settings.reports_dir)
        if report is None:
            raise HTTPException(404, f"no evaluation report in {settings.reports_dir}; run "
                                     "`coldrec demo` or `coldrec evaluate --report-dir "
                                     f"{settings.reports_dir}`")
        return report

    @app.get("/experiment/report", dependencies=[Depends(read_access)])
    def experiment(service: Service, alpha: Annotated[float, Query(gt=0, lt=0.5)] = 0.05
                   ) -> dict[str, Any]:
        """Per-variant CTR, conversion and revenue per shopper of the running experiment,
        with confidence intervals and tests against the control."""
        if service.experiment is None:
            raise HTTPException(404, "no experiment is running (set COLDREC_EXPERIMENT)")
        report = experiment_report(service.store.experiment_events(service.experiment.name),
                                   service.experiment, prices=service.store.prices(),
                                   alpha=alpha)
        return report.to_json()

    if settings.demo_page:
        app.mount("/static", StaticFiles(directory=STATIC), name="static")

        @app.get("/", include_in_schema=False)
        def page() -> FileResponse:
            return FileResponse(STATIC / "index.html")

    @app.post("/admin/retrain", status_code=202, dependencies=[Depends(require_key)])
    def retrain(service: Service, wait: bool = False) -> dict[str, Any]:
        """Retrain on the store and swap atomically (in the background unless ``wait``)."""
        if wait:
            return {"model_version": service.retrain()}
        threading.Thread(target=service.retrain, name="coldrec-retrain", daemon=True).start()
        return {"status": "retraining", "model_version": service.live.version}

    return app


def _answer(service: RecommenderService, user_id: str | None, items: list[dict[str, Any]],
            variant: Variant | None) -> Recommendations:
    """The response body; an experiment's answers name the experiment and the variant."""
    exp = service.experiment if variant is not None else None
    return Recommendations(user_id=user_id, model_version=service.live.version, items=items,
                           experiment=None if exp is None else exp.name,
                           variant=None if exp is None else exp.label(variant))
