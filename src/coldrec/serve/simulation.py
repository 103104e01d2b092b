"""An offline A/B: the service trained on a protocol's training part, its held-out shoppers
replayed through the HTTP API (in-process), the experiment's report beside each variant's
offline metrics (``coldrec experiment simulate``)."""

from __future__ import annotations

import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from coldrec.data.builtin import load
from coldrec.data.dataset import Dataset
from coldrec.errors import ConfigError
from coldrec.eval.protocols import make_split
from coldrec.experiments import Experiment, ExperimentReport, experiment_report
from coldrec.experiments.replay import HttpShop, ReplayResult, future_of, offline_metrics, replay
from coldrec.serve.app import create_app
from coldrec.serve.engine import RecommenderService
from coldrec.serve.settings import Settings
from coldrec.serve.store import EventStore

__all__ = ["Simulation", "simulate"]


@dataclass
class Simulation:
    """An A/B replay: the offline metrics of each variant, what was logged, the report."""

    data: str
    protocol: str
    experiment: Experiment
    offline: dict[str, dict[str, float]]
    replay: ReplayResult
    report: ExperimentReport
    seconds: float

    @property
    def offline_winner(self) -> str:
        key = next(iter(next(iter(self.offline.values()))))
        return max(self.offline, key=lambda v: self.offline[v][key])

    @property
    def agrees(self) -> bool:
        """The A/B picked the variant the offline metric ranks first."""
        return self.report.winner == self.offline_winner

    def to_json(self) -> dict[str, Any]:
        return {"data": self.data, "protocol": self.protocol,
                "experiment": self.experiment.to_json(), "offline": self.offline,
                "offline_winner": self.offline_winner, "replay": asdict(self.replay),
                "report": self.report.to_json(), "agrees": self.agrees,
                "seconds": round(self.seconds, 1)}


def simulate(data: str | Dataset, experiment: Experiment, *, model: str = "hybrid",
             params: dict[str, Any] | None = None, protocol: str = "P5", k: int = 10,
             rounds: int = 2, seed: int = 0, database: str | None = None,
             purchase_min_weight: float | None = None, progress: bool = True) -> Simulation:
    """Train the service on the protocol's training part, replay the held-out shoppers
    through its HTTP API (in-process), and report; also score each variant offline."""
    start = time.perf_counter()
    if isinstance(data, str):
        data = load(data)
    data_name = data.name
    split = make_split(data, protocol, seed=seed)
    if "test" not in split.test.tasks:
        raise ConfigError(f"protocol {protocol} has no single 'test' task to replay; use P1, "
                          "P2 or P5")
    train, task = split.test.train, split.test.tasks["test"]
    with tempfile.TemporaryDirectory() as tmp:
        url = database or f"sqlite:///{Path(tmp) / 'replay.sqlite'}"
        store = EventStore(url)
        service = RecommenderService.from_dataset(store, train, model, params,
                                                  experiment=experiment)
        # scored before any replayed event: exactly the models the variants are served by
        offline = offline_metrics(experiment, train, task, service.model_of, k=k, seed=seed)
        settings = Settings(database_url=url, open_writes=True, data=data_name,
                            max_batch=10_000, demo_page=False)
        with TestClient(create_app(settings, service)) as client:
            t0 = float(data.pairs["timestamp"].max()) + 1 if data.n_interactions else 0.0
            result = replay(HttpShop(client), future_of(train, task), k=k, rounds=rounds,
                            prices=store.prices(), purchase_min_weight=purchase_min_weight,
                            start_time=t0, progress=progress)
        report = experiment_report(store.experiment_events(experiment.name), experiment,
                                   prices=store.prices())
        store.engine.dispose()
    return Simulation(data=data_name, protocol=protocol, experiment=experiment,
                      offline=offline, replay=result, report=report,
                      seconds=time.perf_counter() - start)
