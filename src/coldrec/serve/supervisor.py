"""`coldrec serve`: a trainer process and ``N`` worker processes over one store.

The parent seeds the store, fits (or loads) the model and publishes it into the model
folder, then keeps training: on its schedule and after every erasure any worker logs. The
workers (uvicorn's process manager, one shared socket) each load the newest published
model, answer requests, read every shopper's events from the store at each answer, apply
the change log within ``sync_every_s`` and swap to each newly published model. A worker
that dies — SIGKILL included — is replaced by the manager, which starts it from the store
and the published model like the others.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from sqlalchemy.engine import make_url
from uvicorn.supervisors import Multiprocess

from coldrec.serve.app import create_app, start_service
from coldrec.serve.engine import RecommenderService
from coldrec.serve.settings import Settings

__all__ = ["default_model_dir", "run", "worker_app"]

log = logging.getLogger(__name__)
SETTINGS_ENV = "COLDREC_WORKER_SETTINGS"


def default_model_dir(database_url: str) -> Path:
    """Published models beside a SQLite store's file (``<file>-models``), else
    ``coldrec-models`` in the working directory."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        db = Path(str(url.database))
        return db.with_name(db.name + "-models")
    return Path("coldrec-models")


def worker_app() -> FastAPI:
    """The app of one worker: the parent's settings, following its published models."""
    raw = json.loads(os.environ[SETTINGS_ENV])
    # the event loop (/health, parsing, sending) gets the interpreter back within 1 ms of
    # a scoring thread's Python work, not 5 ms: short answers stay short under load
    sys.setswitchinterval(0.001)
    return create_app(Settings(**raw))


def _train_loop(trainer: RecommenderService, settings: Settings, stop: threading.Event) -> None:
    """Retrain after every erasure a worker logs and on the schedule, publishing each fit."""
    waited = 0.0
    while not stop.wait(settings.sync_every_s):
        waited += settings.sync_every_s
        try:
            due = settings.retrain_every_s is not None and waited >= settings.retrain_every_s
            if trainer.sync() or due:
                waited = 0.0
                trainer.retrain()
        except Exception:  # the workers keep the published model
            log.exception("retrain failed; the published model stays live")


def run(settings: Settings, *, host: str, port: int, workers: int = 1,
        access_log: bool = False) -> None:  # pragma: no cover - runs until stopped
    """Train and publish, then serve with ``workers`` processes until a signal."""
    model_dir = settings.model_dir or default_model_dir(settings.database_url)
    trainer = start_service(settings.model_copy(update={"model_dir": model_dir}))
    # the cores are shared among the workers: each computes as many answers at once as
    # it has cores of its own (queued answers then go in batches)
    slots = settings.scoring_slots or max(1, (os.cpu_count() or 1) // workers)
    follower = settings.model_copy(update={"model_dir": model_dir, "follows": True,
                                           "model_path": None, "scoring_slots": slots})
    os.environ[SETTINGS_ENV] = follower.model_dump_json(exclude={"api_key"})
    stop = threading.Event()
    threading.Thread(target=_train_loop, args=(trainer, settings, stop), daemon=True,
                     name="coldrec-trainer").start()
    config = uvicorn.Config("coldrec.serve.supervisor:worker_app", factory=True, host=host,
                            port=port, workers=workers, log_level="info",
                            access_log=access_log)
    try:
        Multiprocess(config, sockets=[config.bind_socket()]).run()
    finally:
        stop.set()
