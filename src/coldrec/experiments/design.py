"""What an A/B experiment is: named variants and a deterministic assignment of shoppers.

A shopper's variant is a pure function of the experiment's salt and the shopper id (the
first 60 bits of SHA-256 as a number in [0, 1), cut by the variants' cumulative weights),
so every process, restart or replica assigns the same shopper to the same variant without
storing anything, and two experiments with different salts assign independently.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from coldrec.errors import ConfigError

__all__ = ["METRICS", "Experiment", "Variant", "load_experiment"]

#: report metrics a design may name as primary
METRICS = ("ctr", "conversion", "revenue_per_user")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,48}$")


@dataclass(frozen=True)
class Variant:
    """One arm: a model (registry name) with parameters, and an optional re-ranker spec."""

    name: str
    model: str | None = None  # None: the service's own model
    params: Mapping[str, Any] = field(default_factory=dict)
    rerank: str | None = None
    weight: float = 1.0

    @property
    def arm(self) -> str:
        """Key of the fitted model this variant needs (variants may share one)."""
        return json.dumps([self.model, dict(sorted(self.params.items()))], default=str)


@dataclass(frozen=True)
class Experiment:
    """Two or more variants; the first is the control every other is tested against."""

    name: str
    variants: tuple[Variant, ...]
    primary_metric: str = "ctr"
    salt: str | None = None

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ConfigError(f"experiment name {self.name!r}: use 1-49 letters, digits, "
                              "'.', '_' or '-'")
        if len(self.variants) < 2:
            raise ConfigError(f"experiment {self.name!r} needs at least two variants")
        names = [v.name for v in self.variants]
        for v in self.variants:
            if not _NAME.match(v.name):
                raise ConfigError(f"experiment {self.name!r}: variant name {v.name!r}: use "
                                  "1-49 letters, digits, '.', '_' or '-'")
            if not v.weight > 0:
                raise ConfigError(f"experiment {self.name!r}: variant {v.name!r} needs a "
                                  f"positive weight, got {v.weight!r}")
        if len(set(names)) != len(names):
            raise ConfigError(f"experiment {self.name!r}: variant names repeat: {names}")
        if self.primary_metric not in METRICS:
            raise ConfigError(f"experiment {self.name!r}: primary_metric "
                              f"{self.primary_metric!r} is not one of {', '.join(METRICS)}")

    @property
    def control(self) -> Variant:
        return self.variants[0]

    def label(self, variant: Variant) -> str:
        """What events carry in their ``variant`` field: ``experiment/variant``."""
        return f"{self.name}/{variant.name}"

    def variant(self, name: str) -> Variant:
        for v in self.variants:
            if v.name == name:
                return v
        raise ConfigError(f"experiment {self.name!r} has no variant {name!r}")

    def bucket(self, user_id: str) -> float:
        """The shopper's position in [0, 1): uniform, stable, independent across salts."""
        digest = hashlib.sha256(f"{self.salt or self.name}\x1f{user_id}".encode()).digest()
        return (int.from_bytes(digest[:8], "big") >> 4) / float(1 << 60)

    def assign(self, user_id: str) -> Variant:
        """The variant of ``user_id`` (deterministic; shares follow the weights)."""
        point = self.bucket(str(user_id)) * sum(v.weight for v in self.variants)
        edge = 0.0
        for v in self.variants:
            edge += v.weight
            if point < edge:
                return v
        return self.variants[-1]

    def shares(self) -> dict[str, float]:
        total = sum(v.weight for v in self.variants)
        return {v.name: v.weight / total for v in self.variants}

    # -- files ----------------------------------------------------------------------------
    @classmethod
    def from_json(cls, obj: Mapping[str, Any], source: str = "experiment") -> Experiment:
        try:
            raw = obj["variants"]
            if not isinstance(raw, Sequence) or isinstance(raw, str):
                raise ConfigError(f"{source}: 'variants' must be a list")
            variants = tuple(_variant(v, f"{source}: variants[{i}]") for i, v in
                             enumerate(raw))
            return cls(name=str(obj["name"]), variants=variants,
                       primary_metric=str(obj.get("primary_metric", "ctr")),
                       salt=None if obj.get("salt") is None else str(obj["salt"]))
        except KeyError as exc:
            raise ConfigError(f"{source}: missing field {exc.args[0]!r}") from None

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "primary_metric": self.primary_metric, "salt": self.salt,
                "variants": [{"name": v.name, "model": v.model, "params": dict(v.params),
                              "rerank": v.rerank, "weight": v.weight}
                             for v in self.variants]}


def _variant(obj: Any, source: str) -> Variant:
    if not isinstance(obj, Mapping):
        raise ConfigError(f"{source}: expected an object with 'name', 'model', ...")
    unknown = set(obj) - {"name", "model", "params", "rerank", "weight"}
    if unknown:
        raise ConfigError(f"{source}: unknown field(s) {', '.join(sorted(unknown))}")
    if "name" not in obj:
        raise ConfigError(f"{source}: missing field 'name'")
    params = obj.get("params") or {}
    if not isinstance(params, Mapping):
        raise ConfigError(f"{source}: 'params' must be an object")
    try:
        weight = float(obj.get("weight", 1.0))
    except (TypeError, ValueError):
        raise ConfigError(f"{source}: 'weight' must be a number") from None
    return Variant(name=str(obj["name"]), model=obj.get("model"), params=dict(params),
                   rerank=obj.get("rerank"), weight=weight)


def load_experiment(path: str | Path) -> Experiment:
    """Read an experiment design from a JSON file (see :meth:`Experiment.to_json`)."""
    path = Path(path)
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"experiment file {path} does not exist") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"experiment file {path}: invalid JSON at line {exc.lineno}: "
                          f"{exc.msg}") from None
    if not isinstance(obj, Mapping):
        raise ConfigError(f"experiment file {path}: expected a JSON object")
    return Experiment.from_json(obj, source=str(path))
