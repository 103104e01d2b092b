"""A small shop as files (TOML + CSV, with a stock column), models saved by `coldrec train`,
and the three doors to them: Python (the pipeline), the CLI and HTTP."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from coldrec.cli.main import app as cli
from coldrec.models.capabilities import TextVectors
from coldrec.pipeline import ListRequest, Pipeline, load_model
from coldrec.rerank import BusinessFilter, get_reranker
from coldrec.serve.app import create_app
from coldrec.serve.settings import Settings
from coldrec.text.templates import embed_items
from tests.serve.shop import shop_frames

runner = CliRunner()


def write_shop(folder: Path) -> Path:
    """The synthetic grocery shop as CSV files and a TOML config; every third product is
    out of stock."""
    events, catalog, users = shop_frames(n_users=60)
    catalog["in_stock"] = [i % 3 != 0 for i in range(len(catalog))]
    events.to_csv(folder / "events.csv", index=False)
    catalog.to_csv(folder / "catalog.csv", index=False)
    users.to_csv(folder / "users.csv", index=False)
    cfg = folder / "shop.toml"
    cfg.write_text('name = "shop"\n[events]\npath = "events.csv"\n'
                   '[catalog]\npath = "catalog.csv"\n[users]\npath = "users.csv"\n')
    return cfg


@pytest.fixture(scope="session")
def shop_toml(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_shop(tmp_path_factory.mktemp("shop"))


def train_cli(shop: Path, model: str, params: str, out: Path) -> Path:
    args = ["train", "--data", str(shop), "--model", model, "--out", str(out)]
    if params:
        args += ["--params", params]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    return out


class Doors:
    """One saved model answered through Python, the CLI and HTTP."""

    def __init__(self, shop: Path, folder: Path, database: Path,
                 experiment: Path | None = None) -> None:
        self.folder = folder
        self.model, self.data = load_model(folder)
        settings = Settings(data=str(shop), model_path=folder, demo_page=False,
                            database_url=f"sqlite:///{database}", experiment=experiment)
        self.client = TestClient(create_app(settings))
        self.client.__enter__()

    def close(self) -> None:
        self.client.__exit__(None, None, None)

    def python(self, user: str, k: int = 5, *, rerank: str | None = None,
               query: str | None = None, **rules: Any) -> list[str]:
        vectors = None if isinstance(self.model, TextVectors) else \
            embed_items(self.data, progress=False)
        pipeline = Pipeline.for_dataset(self.model, self.data, item_vectors=vectors)
        request = ListRequest(self.data.users.lookup([user], unknown="unknown"), k=k,
                              rerank=get_reranker(rerank) if rerank else None, query=query,
                              filters=BusinessFilter(**rules), shop_rules=True)
        ids, _, _ = pipeline.run(request).row(0)
        return [str(x) for x in self.data.items.raw(ids)]

    def cli(self, user: str, k: int = 5, *, rerank: str | None = None,
            query: str | None = None, **rules: Any) -> list[str]:
        args = ["search", query] if query is not None else ["recommend"]
        args += ["--load", str(self.folder), "--user", user, "--k", str(k), "--json"]
        args += ["--rerank", rerank] if rerank else []
        args += _rule_args(rules)
        result = runner.invoke(cli, args)
        assert result.exit_code == 0, result.output
        return [str(r["item_id"]) for r in json.loads(result.stdout)]

    def http(self, user: str, k: int = 5, *, rerank: str | None = None,
             query: str | None = None, **rules: Any) -> list[str]:
        params: dict[str, Any] = {"k": k, **({"rerank": rerank} if rerank else {})}
        if rules.get("in_stock_only"):
            params["in_stock_only"] = True
        if rules.get("exclude_categories"):
            params["exclude_category"] = list(rules["exclude_categories"])
        for bound in ("price_min", "price_max"):
            if rules.get(bound) is not None:
                params[bound] = rules[bound]
        if query is not None:
            response = self.client.get("/search", params={**params, "q": query,
                                                          "user_id": user})
        else:
            response = self.client.get(f"/recommend/{user}", params=params)
        assert response.status_code == 200, response.text
        return [r["item_id"] for r in response.json()["items"]]


def _rule_args(rules: dict[str, Any]) -> list[str]:
    args = ["--in-stock-only"] if rules.get("in_stock_only") else []
    for category in rules.get("exclude_categories", ()):
        args += ["--exclude-category", category]
    for bound in ("price_min", "price_max"):
        if rules.get(bound) is not None:
            args += [f"--{bound.replace('_', '-')}", str(rules[bound])]
    return args


def same_everywhere(doors: Doors, user: str, **request: Any) -> list[str]:
    """The ids of one request through the three doors; asserts they agree."""
    by_python = doors.python(user, **request)
    assert doors.cli(user, **request) == by_python
    assert doors.http(user, **request) == by_python
    return by_python


def as_array(ids: list[str]) -> np.ndarray:
    return np.asarray(ids, dtype=object)
