"""The ``coldrec`` command line: inspect, evaluate, train, recommend, search, demo, serve,
experiment."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.table import Table

from coldrec.cli import experiment as experiment_cli
from coldrec.cli.common import (
    Shopper,
    console,
    err_console,
    grid_with,
    metrics_table,
    parse_ks,
    parse_params,
    recommend_for,
    recommendation_table,
    search_for,
)
from coldrec.data.builtin import BUILTIN_DATASETS, load
from coldrec.data.dataset import Dataset
from coldrec.errors import ColdrecError, ConfigError
from coldrec.eval.protocols import PROTOCOLS
from coldrec.eval.report import dataset_stats, plot_long_tail
from coldrec.eval.reports import save_evaluation
from coldrec.eval.runner import run_protocol
from coldrec.models.base import Recommender
from coldrec.models.capabilities import TextVectors
from coldrec.models.registry import MODELS, ModelSpec, get_model_spec
from coldrec.pipeline import load_model, save_model
from coldrec.rerank import PRESETS, RERANKERS, BusinessFilter, Reranker, get_reranker
from coldrec.text.encoders import DEFAULT_ENCODER, ENCODERS
from coldrec.text.templates import embed_items

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="coldrec — recommendations for new shoppers, new products and the long tail.",
)
app.add_typer(experiment_cli.app, name="experiment")

DataOpt = Annotated[str, typer.Option("--data", "-d",
                                      help=f"built-in name ({', '.join(BUILTIN_DATASETS)}) "
                                           "or a dataset .toml file")]
ModelOpt = Annotated[str, typer.Option("--model", "-m",
                                       help=f"model name: {', '.join(MODELS)}")]
ParamOpt = Annotated[list[str] | None, typer.Option(
    "--params", "-p", help="fixed hyperparameters NAME=VALUE (repeatable or comma-separated)")]
EncoderOpt = Annotated[str | None, typer.Option(
    "--encoder", help=f"text encoder of text-aware models: {', '.join(ENCODERS)}, or several "
    "joined by '+' (their vectors side by side)")]
RerankOpt = Annotated[str | None, typer.Option(
    "--rerank", help="re-ranker NAME[:value[:value]][,NAME...] "
                     f"({', '.join([*RERANKERS, *PRESETS])})")]
InStockOpt = Annotated[bool, typer.Option("--in-stock-only",
                                          help="only products in stock (catalogue in_stock)")]
ExcludeOpt = Annotated[list[str] | None, typer.Option(
    "--exclude-category", help="leave out a category at any level (repeatable)")]
PriceMinOpt = Annotated[float | None, typer.Option("--price-min", help="lowest price")]
PriceMaxOpt = Annotated[float | None, typer.Option("--price-max", help="highest price")]
LoadOpt = Annotated[Path | None, typer.Option("--load", help="a model saved by `train`")]
KOpt = Annotated[int, typer.Option("--k", help="how many items")]
JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON")]


def _filters(in_stock_only: bool, exclude: list[str] | None, price_min: float | None,
             price_max: float | None) -> BusinessFilter | None:
    """The business rules of a request (None when there are none)."""
    rule = BusinessFilter(in_stock_only, tuple(exclude or ()), price_min, price_max)
    return rule if rule.active else None


def _catalogue_vectors(ds: Any, spec: ModelSpec, rerank: Reranker | None, diversity: bool,
                       encoder: str | None) -> Any:
    """Text vectors of the catalogue when the diversity metric asks for them, or a
    re-ranker does and the model has none of its own."""
    borrowed = rerank is not None and rerank.needs_item_vectors and \
        not issubclass(spec.cls, TextVectors)
    return embed_items(ds, encoder or DEFAULT_ENCODER) if diversity or borrowed else None


def _fixed(spec_name: str, params: list[str] | None, encoder: str | None) -> dict[str, Any]:
    fixed = parse_params(params or [])
    if encoder is not None:
        if "encoder" not in get_model_spec(spec_name).cls._param_names():
            raise ConfigError(f"model {spec_name} does not read text; --encoder does not apply")
        fixed["encoder"] = encoder
    return fixed


def _fail(exc: Exception) -> None:
    err_console.print(f"[bold red]error:[/] {exc}")
    raise typer.Exit(code=2)


def _show_list(frame: pd.DataFrame, title: str, as_json: bool) -> None:
    """Print a recommendation list as JSON records or as a table."""
    if as_json:
        typer.echo(frame.to_json(orient="records"))
    else:
        console.print(recommendation_table(frame, title))


@app.command()
def models() -> None:
    """List the available models and their selection grids."""
    table = Table(title="models")
    table.add_column("name")
    table.add_column("description")
    table.add_column("grid searched on validation")
    for spec in MODELS.values():
        grids = [spec.grid] if isinstance(spec.grid, dict) else list(spec.grid)
        table.add_row(spec.name, spec.description, " | ".join(
            "; ".join(f"{k} ∈ {list(v)}" for k, v in g.items()) for g in grids) or "–")
    table.add_row("RETRIEVER+deepfm", "a retriever's candidates re-ranked by DeepFM "
                  "(e.g. als+deepfm)", "candidates ∈ [100]; epochs by inner CTR log loss")
    console.print(table)


@app.command()
def inspect(
    data: Annotated[str, typer.Argument(help="built-in name or dataset .toml file")],
    plot: Annotated[Path | None, typer.Option(help="save the long-tail plot to this PNG")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
) -> None:
    """Counts, sparsity, long-tail curve and cold-start shares of a dataset."""
    try:
        ds = load(data)
    except ColdrecError as exc:
        _fail(exc)
    stats = dataset_stats(ds)
    if plot is not None:
        stats["plot"] = str(plot_long_tail(ds, plot))
    if as_json:
        typer.echo(json.dumps(stats))
        return
    table = Table(title=f"dataset {ds.name}", show_header=False)
    for key, value in stats.items():
        text = f"{value:.4g}" if isinstance(value, float) else str(value)
        table.add_row(key.replace("_", " "), text)
    console.print(table)


@app.command()
def evaluate(
    data: DataOpt = "completejourney",
    protocol: Annotated[str, typer.Option(help=f"one of {', '.join(PROTOCOLS)}")] = "P1",
    model: ModelOpt = "hybrid",
    params: ParamOpt = None,
    encoder: EncoderOpt = None,
    k: Annotated[str, typer.Option("--k", help="cut-offs, e.g. 10,20")] = "10,20",
    seed: Annotated[int, typer.Option(help="split and tie-rule seed")] = 0,
    rerank: RerankOpt = None,
    diversity: Annotated[bool, typer.Option(
        "--diversity", help="also report intra-list diversity (encodes the catalog)")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    progress: Annotated[bool, typer.Option(help="show progress bars")] = True,
    report_dir: Annotated[Path | None, typer.Option(
        help="also save the result there (the service's metrics view shows the newest)")] =
        None,
) -> None:
    """Select on validation, refit once, and report accuracy and beyond-accuracy metrics
    (coverage, Gini, popularity, tail share, TailRecall) of one model, optionally re-ranked."""
    try:
        ks = parse_ks(k)
        spec = get_model_spec(model)
        grid = grid_with(spec, _fixed(model, params, encoder))
        reranker = get_reranker(rerank) if rerank else None
        ds = load(data)
        n_configs = len(grid)
        grid, refused = spec.for_catalogue(grid, ds.n_items)
        left_out = n_configs - len(grid)
        if left_out:  # dense item × item configs on a big catalogue: the rest still runs
            err_console.print(f"[yellow]note:[/] {left_out} of {n_configs} "
                              f"configurations left out: {'; '.join(refused)}")
        vectors = _catalogue_vectors(ds, spec, reranker, diversity, encoder)
        result = run_protocol(ds, protocol, spec.build, grid, ks, model_name=model, seed=seed,
                              progress=progress and not as_json, rerank=reranker,
                              item_vectors=vectors)
        if left_out:
            result.info["configs_left_out"] = left_out
        if rerank:
            result.info["rerank"] = rerank
            result.model = f"{model} → {rerank}"
    except ColdrecError as exc:
        _fail(exc)
    if report_dir is not None:
        save_evaluation([result], report_dir, "coldrec evaluate " + " ".join(sys.argv[2:]))
    if as_json:
        typer.echo(json.dumps(result.to_json()))
        return
    console.print(metrics_table(result, ks))


def _fit_or_load(ds_name: str, model: str, params: list[str] | None,
                 load_dir: Path | None, encoder: str | None = None
                 ) -> tuple[Dataset, Recommender]:
    """A model saved by ``train`` with the data it answers for, or one fitted now."""
    if load_dir is not None:
        fitted, ds = load_model(load_dir)
        return ds, fitted
    ds = load(ds_name)
    spec = get_model_spec(model)
    return ds, spec.build(**_fixed(model, params, encoder)).fit(ds)


@app.command()
def train(
    data: DataOpt = "completejourney",
    model: ModelOpt = "hybrid",
    params: ParamOpt = None,
    encoder: EncoderOpt = None,
    out: Annotated[Path, typer.Option(help="folder to save the model in")] = Path("model"),
) -> None:
    """Fit a model on all of a dataset and save it (``config.json`` + ``state.npz``)."""
    try:
        ds, fitted = _fit_or_load(data, model, params, None, encoder)
        save_model(fitted, ds, out)
    except ColdrecError as exc:
        _fail(exc)
    console.print(f"saved {fitted!r} to {out}")


@app.command()
def recommend(
    user: Annotated[str | None, typer.Option(help="raw user id (unknown ids get cold-start "
                                                  "answers)")] = None,
    data: DataOpt = "completejourney",
    model: ModelOpt = "hybrid",
    params: ParamOpt = None,
    encoder: EncoderOpt = None,
    load_dir: LoadOpt = None,
    attr: Annotated[list[str] | None, typer.Option(help="attribute NAME=VALUE of the shopper")]
    = None,
    item: Annotated[list[str] | None, typer.Option(help="raw id of an item the shopper just "
                                                        "touched (repeatable)")] = None,
    k: KOpt = 10,
    rerank: RerankOpt = None,
    in_stock_only: InStockOpt = False,
    exclude_category: ExcludeOpt = None,
    price_min: PriceMinOpt = None,
    price_max: PriceMaxOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Recommendations for one shopper, with product descriptions and reasons."""
    try:
        reranker = get_reranker(rerank) if rerank else None
        rules = _filters(in_stock_only, exclude_category, price_min, price_max)
        ds, fitted = _fit_or_load(data, model, params, load_dir, encoder)
        attributes = {key: str(v) for key, v in parse_params(attr or []).items()}
        shopper = Shopper(user, attributes or None, item or ())
        frame = recommend_for(fitted, ds, shopper, k=k, rerank=reranker, filters=rules,
                              encoder=encoder)
    except ColdrecError as exc:
        _fail(exc)
    _show_list(frame, f"{type(fitted).__name__} for shopper {user}", as_json)


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="what the shopper typed (any language the "
                                              "encoder knows)")],
    user: Annotated[str | None, typer.Option(help="personalise for this raw user id")] = None,
    data: DataOpt = "completejourney",
    model: ModelOpt = "hybrid",
    params: ParamOpt = None,
    encoder: EncoderOpt = None,
    load_dir: LoadOpt = None,
    k: KOpt = 10,
    in_stock_only: InStockOpt = False,
    exclude_category: ExcludeOpt = None,
    price_min: PriceMinOpt = None,
    price_max: PriceMaxOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Products for a text query, optionally personalised for a shopper."""
    try:
        ds, fitted = _fit_or_load(data, model, params, load_dir, encoder)
        frame = search_for(fitted, ds, query, user_id=user, k=k,
                           filters=_filters(in_stock_only, exclude_category, price_min,
                                            price_max))
    except ColdrecError as exc:
        _fail(exc)
    _show_list(frame, f"search {query!r}", as_json)


@app.command()
def demo(
    quick: Annotated[bool, typer.Option(help="smaller grid (for tests)")] = False,
    report_dir: Annotated[Path | None, typer.Option(
        help="where to save the evaluation (shown by the service's metrics view)")] =
        Path("reports"),
) -> None:
    """Train, evaluate and show recommendations on the built-in Complete Journey data."""
    from coldrec.cli.demo import run_demo

    try:
        run_demo(console, quick=quick, report_dir=report_dir)
    except ColdrecError as exc:
        _fail(exc)


@app.command()
def serve(
    data: DataOpt = "completejourney",
    model: ModelOpt = "hybrid",
    params: ParamOpt = None,
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    database: Annotated[str | None, typer.Option(
        help="SQLAlchemy URL of the event store (default: COLDREC_DATABASE_URL or "
             "sqlite:///coldrec-service.sqlite)")] = None,
    access_log: Annotated[bool, typer.Option(help="log every request")] = False,
    open_writes: Annotated[bool, typer.Option(
        help="accept writes without an API key (a local demo only)")] = False,
    experiment: Annotated[Path | None, typer.Option(
        help="run this A/B experiment design (JSON) on every shopper")] = None,
    load_dir: Annotated[Path | None, typer.Option(
        "--load", help="answer with a model saved by `train` instead of training one")] = None,
    workers: Annotated[int, typer.Option(
        min=1, help="worker processes answering requests (one per core is a good start); "
                    "a worker that dies is replaced")] = 1,
) -> None:  # pragma: no cover - runs a server until stopped
    """Run the recommendation service (HTTP API and the demo page at /; API key from
    COLDREC_API_KEY): this process trains and publishes, the workers answer."""
    from coldrec.serve import supervisor
    from coldrec.serve.settings import Settings

    overrides: dict[str, Any] = {"data": data, "model": model,
                                 "model_params": parse_params(params or [])}
    if database is not None:
        overrides["database_url"] = database
    if open_writes:
        overrides["open_writes"] = True
    if experiment is not None:
        overrides["experiment"] = experiment
    if load_dir is not None:
        overrides["model_path"] = load_dir
    supervisor.run(Settings(**overrides), host=host, port=port, workers=workers,
                   access_log=access_log)


def main() -> None:  # pragma: no cover - console entry point
    app(sys.argv[1:])
