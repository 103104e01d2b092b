"""Service settings: environment variables ``COLDREC_*`` (or a ``.env`` file)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "hash_key"]


def hash_key(key: str) -> str:
    """SHA-256 hex digest of an API key (keys are only ever stored hashed)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class Settings(BaseSettings):
    """Everything the service reads at start-up.

    ``api_key`` (plain, from the environment) is hashed on load and forgotten;
    ``api_key_hashes`` lists further accepted keys by their SHA-256. Without any key,
    writes are refused (401) rather than open, unless ``open_writes`` (local demos).
    ``open_reads`` lets recommendation reads through without a key.
    """

    model_config = SettingsConfigDict(env_prefix="COLDREC_", env_file=".env", extra="ignore")

    data: str = Field("completejourney", description="built-in dataset name or .toml file")
    model: str = Field("hybrid", description="model name (see `coldrec models`)")
    model_params: dict[str, object] = Field(default_factory=dict)
    model_path: Path | None = Field(None, description="answer with the model saved there by "
                                    "`coldrec train --out` instead of training at start-up")
    database_url: str = Field("sqlite:///coldrec-service.sqlite",
                              description="SQLAlchemy URL: SQLite file or postgresql://...")
    api_key: SecretStr | None = None
    api_key_hashes: list[str] = Field(default_factory=list)
    open_reads: bool = True
    max_batch: int = Field(1000, ge=1, description="most events in one POST /events")
    max_k: int = Field(200, ge=1)
    cache_users: int = Field(100_000, ge=0, description="shoppers whose plain answers are "
                             "cached (0: no cache)")
    scoring_slots: int | None = Field(None, ge=1, description="answers computed at once "
                                      "(default: one per core; the rest queue)")
    cache_ttl_s: float = Field(300.0, gt=0, description="the longest an answer is cached "
                               "(a new product reaches cached lists within it)")
    max_body_bytes: int = Field(1 << 20, ge=1024, description="largest request body (413 "
                                "above it, before anything is read or stored)")
    seed_events: bool = Field(True, description="copy the dataset's events into an empty store")
    retrain_every_s: float | None = Field(None, gt=0, description="retrain on a schedule "
                                          "(seconds between fits; None: only on command)")
    open_writes: bool = Field(False, description="accept writes without a key (a local "
                              "demo only: anyone who reaches the port may write)")
    experiment: Path | None = Field(None, description="A/B experiment design (JSON) that "
                                    "answers every shopper with their variant")
    reports_dir: Path = Field(Path("reports"), description="where `coldrec evaluate` and "
                              "`coldrec demo` leave evaluation reports for the metrics view")
    new_arrivals: int = Field(500, ge=1, description="how many of the newest products the "
                              "'new arrivals' shelf ranks")
    demo_page: bool = Field(True, description="serve the demo shop page at /")
    model_dir: Path | None = Field(None, description="where a trainer publishes its fitted "
                                   "models for other processes (`coldrec serve` uses the "
                                   "store's folder when unset)")
    follows: bool = Field(False, description="answer with the models a trainer publishes "
                          "instead of fitting any (the workers of `coldrec serve`)")
    sync_every_s: float = Field(0.25, gt=0, description="how often the product and erasure "
                                "log and new model versions are read from the store")

    def key_hashes(self) -> frozenset[str]:
        """Hashes of every accepted API key."""
        keys = set(self.api_key_hashes)
        if self.api_key is not None and self.api_key.get_secret_value():
            keys.add(hash_key(self.api_key.get_secret_value()))
        return frozenset(keys)
