"""The HTTP API (FastAPI): one router per resource (:mod:`coldrec.serve.routes`), thin
routes that parse, authorise, call the engine and shape the answer.

``create_app(settings)`` builds an app whose lifespan starts the engine once (seeding an
empty store from the configured dataset, then training the configured model or loading
``model_path``); tests pass a ready engine instead. Nothing lives in module globals. With
``demo_page`` the app also serves the demo shop page at ``/`` (plain HTML + JS from
``static/``).
"""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path as FilePath

from fastapi import Depends, FastAPI
from fastapi.responses import FileResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from threadpoolctl import threadpool_limits

from coldrec.experiments.design import load_experiment
from coldrec.serve.engine import RecommenderService
from coldrec.serve.errors import AUTH_RESPONSES, ERROR_RESPONSES, install_error_handlers
from coldrec.serve.limits import BodyLimitMiddleware
from coldrec.serve.routes import admin, events, health, items, recommend, shop, users
from coldrec.serve.routes.deps import known_query, read_access
from coldrec.serve.settings import Settings
from coldrec.serve.store import EventStore
from coldrec.serve.telemetry import MeasureMiddleware, Telemetry

__all__ = ["create_app", "start_service"]

log = logging.getLogger(__name__)
STATIC = FilePath(__file__).parent / "static"
#: routers that only write (their routes ask for a key) and those that read
WRITERS = (health, events, users, admin)
READERS = (items, recommend, shop)


def _retrain_loop(service: RecommenderService, every_s: float, stop: threading.Event) -> None:
    """Retrain every ``every_s`` seconds until ``stop``; a failed fit keeps the live model."""
    while not stop.wait(every_s):
        try:
            service.retrain()
        except Exception:  # keep serving the current model, and say why
            log.exception("scheduled retrain failed; the current model stays live")


def _sync_loop(service: RecommenderService, every_s: float, stop: threading.Event) -> None:
    """Apply what other processes wrote to the store (products, erasures, published models)
    every ``every_s`` seconds; a trainer retrains after an erasure it learns of this way."""
    while not stop.wait(every_s):
        try:
            if service.sync() and not service.follows:
                service.schedule_retrain()
        except Exception:  # the store may be briefly unreachable: try again next time
            log.exception("could not read the store's change log")


def start_service(settings: Settings) -> RecommenderService:
    """The engine as the settings describe it (seeding, training or following)."""
    experiment = load_experiment(settings.experiment) if settings.experiment else None
    return RecommenderService.start(
        EventStore(settings.database_url), settings.data, settings.model,
        settings.model_params, seed_events=settings.seed_events,
        model_path=settings.model_path, experiment=experiment,
        new_arrivals=settings.new_arrivals, cache_users=settings.cache_users,
        cache_ttl_s=settings.cache_ttl_s, scoring_slots=settings.scoring_slots,
        model_dir=settings.model_dir, follows=settings.follows)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    if app.state.service is None:
        app.state.service = start_service(settings)
        # the models, vocabularies and catalogue live as long as the process: keep the
        # collector from walking them (a full collection over them stalls every answer)
        gc.collect()
        gc.freeze()
    # answers run side by side, one per core: each with one BLAS thread (several callers
    # of a multi-threaded BLAS at once thrash the cores)
    blas = threadpool_limits(limits=1, user_api="blas")
    stop = threading.Event()
    threading.Thread(target=_sync_loop, name="coldrec-sync", daemon=True,
                     args=(app.state.service, settings.sync_every_s, stop)).start()
    if settings.retrain_every_s and not settings.follows:
        threading.Thread(target=_retrain_loop, name="coldrec-scheduled-retrain",
                         args=(app.state.service, settings.retrain_every_s, stop),
                         daemon=True).start()
    yield
    stop.set()
    blas.restore_original_limits()


def create_app(settings: Settings | None = None,
               service: RecommenderService | None = None) -> FastAPI:
    """The API; ``service`` (already started) skips the start-up training."""
    app = FastAPI(title="coldrec", version="0.1.0", lifespan=_lifespan,
                  dependencies=[Depends(known_query)],
                  description="Recommendations for new shoppers, new products and the "
                              "long tail.")
    app.state.settings = settings = settings or Settings()
    app.state.service = service
    app.state.telemetry = Telemetry()
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(MeasureMiddleware, telemetry=app.state.telemetry)
    install_error_handlers(app)
    for module in WRITERS:
        app.include_router(module.router, responses=ERROR_RESPONSES)
    # reads ask for a key only when they are not open, and the OpenAPI document says so
    closed = [] if settings.open_reads else [Depends(read_access)]
    for module in READERS:
        app.include_router(module.router, dependencies=closed,
                           responses={**ERROR_RESPONSES, **({} if settings.open_reads
                                                            else AUTH_RESPONSES)})
    # each API route's path pattern and methods, for the Allow header of a 405
    app.state.route_methods = [(route.path_regex, set(route.methods or ()))
                               for module in (*WRITERS, *READERS)
                               for route in module.router.routes
                               if isinstance(route, APIRoute)]
    if settings.demo_page:
        app.mount("/static", StaticFiles(directory=STATIC), name="static")
        app.add_api_route("/", lambda: FileResponse(STATIC / "index.html"),
                          include_in_schema=False)
    return app
