"""``coldrec experiment``: the report of a running experiment, and the offline replay that
runs an A/B between two models against a real (in-process) service end to end."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Group
from rich.table import Table

from coldrec.cli.common import console, err_console, parse_params
from coldrec.errors import ColdrecError
from coldrec.experiments import Experiment, ExperimentReport, Variant, experiment_report
from coldrec.experiments.design import load_experiment
from coldrec.serve.simulation import Simulation, simulate

__all__ = ["app", "report_table"]

app = typer.Typer(no_args_is_help=True, help="A/B experiments: report and offline replay.")

DesignOpt = Annotated[Path, typer.Option("--design", help="experiment design (JSON)")]
DatabaseOpt = Annotated[str, typer.Option(
    "--database", help="SQLAlchemy URL of the service's event store")]


def _fail(exc: Exception) -> None:
    err_console.print(f"[bold red]error:[/] {exc}")
    raise typer.Exit(code=2)


def report_table(report: ExperimentReport) -> Group:
    """The variants table, the tests against the control, and the decision."""
    pct = 100 * (1 - report.alpha)
    table = Table(title=f"experiment {report.experiment}", title_justify="left")
    for col in ("variant", "shoppers", "impressions", "clicks", "purchases",
                f"CTR ({pct:.0f}% CI)", f"conversion ({pct:.0f}% CI)",
                f"revenue/shopper ({pct:.0f}% CI)"):
        table.add_column(col, justify="left" if col == "variant" else "right")

    def ci(v: float, c: tuple[float, float], scale: float = 100, unit: str = "%") -> str:
        return f"{scale * v:.2f}{unit} ({scale * c[0]:.2f}–{scale * c[1]:.2f})"

    for v in report.variants:
        table.add_row(v.name, str(v.users), str(v.impressions), str(v.clicks),
                      str(v.purchases), ci(v.ctr, v.ctr_ci), ci(v.conversion, v.conversion_ci),
                      ci(v.revenue_per_user, v.revenue_per_user_ci, 1, ""))
    tests = Table(title=f"against the control ({report.variants[0].name})",
                  title_justify="left")
    for col in ("variant", "metric", "difference", "lift", "p", "p (Holm)", "significant"):
        tests.add_column(col, justify="left" if col in ("variant", "metric") else "right")
    for c in report.comparisons:
        tests.add_row(c.variant, c.metric, f"{c.difference:+.4g}", f"{c.lift:+.1%}",
                      f"{c.p_value:.2g}", f"{c.p_adjusted:.2g}", "yes" if c.significant else "no")
    srm = "ok" if report.sample_ratio_ok else "[bold red]MISMATCH — do not trust the result[/]"
    return Group(table, tests, f"sample ratio check p = {report.srm_p_value:.3g} ({srm})",
                 f"[bold]decision ({report.primary_metric}):[/] {report.decision}")


@app.command("report")
def report_cmd(
    design: DesignOpt,
    database: DatabaseOpt = "sqlite:///coldrec-service.sqlite",
    alpha: Annotated[float, typer.Option(help="significance level")] = 0.05,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    markdown: Annotated[Path | None, typer.Option(help="also write the report here")] = None,
) -> None:
    """Per-variant CTR, conversion and revenue per shopper from the service's event store,
    with confidence intervals, tests against the control and the decision."""
    from coldrec.serve.store import EventStore

    try:
        experiment = load_experiment(design)
        store = EventStore(database)
        report = experiment_report(store.experiment_events(experiment.name), experiment,
                                   prices=store.prices(), alpha=alpha)
    except ColdrecError as exc:
        _fail(exc)
    if markdown is not None:
        markdown.write_text(report.to_markdown(), encoding="utf-8")
    if as_json:
        typer.echo(json.dumps(report.to_json()))
        return
    console.print(report_table(report))


@app.command("simulate")
def simulate_cmd(
    data: Annotated[str, typer.Option("--data", "-d", help="built-in dataset or .toml")] =
        "completejourney",
    design: Annotated[Path | None, typer.Option(
        "--design", help="experiment design (JSON); or give --control and --treatment")] = None,
    control: Annotated[str, typer.Option(help="model of the control variant")] = "popularity",
    treatment: Annotated[str, typer.Option(help="model of the treatment variant")] = "hybrid",
    params: Annotated[list[str] | None, typer.Option(
        "--params", "-p", help="hyperparameters of the treatment model NAME=VALUE")] = None,
    protocol: Annotated[str, typer.Option(help="held-out split: P1, P2 or P5")] = "P5",
    k: Annotated[int, typer.Option("--k", help="items shown per visit")] = 10,
    rounds: Annotated[int, typer.Option(help="visits per shopper")] = 2,
    seed: Annotated[int, typer.Option(help="split seed")] = 0,
    purchase_min_weight: Annotated[float | None, typer.Option(
        help="a click converts when the held-out interaction weighs at least this "
             "(default: every click converts)")] = None,
    out: Annotated[Path | None, typer.Option(help="write report.md and report.json here")] =
        None,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
) -> None:
    """Offline replay: an A/B between two models on held-out shoppers, end to end through
    the service's API, and whether the report picks what the offline metrics rank higher."""
    try:
        if design is not None:
            experiment = load_experiment(design)
        else:
            experiment = Experiment(f"{control}-vs-{treatment}".replace("+", "_"), (
                Variant("control", model=control),
                Variant("treatment", model=treatment, params=parse_params(params or []))))
        sim = simulate(data, experiment, protocol=protocol, k=k, rounds=rounds, seed=seed,
                       purchase_min_weight=purchase_min_weight, progress=not as_json)
    except ColdrecError as exc:
        _fail(exc)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "report.json").write_text(json.dumps(sim.to_json(), indent=1), encoding="utf-8")
        (out / "report.md").write_text(simulation_markdown(sim), encoding="utf-8")
    if as_json:
        typer.echo(json.dumps(sim.to_json()))
        return
    offline = Table(title=f"offline, {sim.protocol} test split of {sim.data}",
                    title_justify="left")
    offline.add_column("variant")
    metrics = list(next(iter(sim.offline.values())))
    for m in metrics:
        offline.add_column(m, justify="right")
    for name, values in sim.offline.items():
        offline.add_row(name, *[f"{values[m]:.4f}" for m in metrics])
    console.print(offline)
    console.print(report_table(sim.report))
    verdict = "agree" if sim.agrees else "DISAGREE"
    console.print(f"offline ranks [bold]{sim.offline_winner}[/] first; the A/B picks "
                  f"[bold]{sim.report.winner or 'no winner'}[/] — they {verdict} "
                  f"({sim.replay.shoppers} shoppers × {sim.replay.rounds} visits, "
                  f"{sim.seconds:.0f} s)")


def simulation_markdown(sim: Simulation) -> str:
    metrics = list(next(iter(sim.offline.values())))
    lines = [f"## Replay A/B on {sim.data} ({sim.protocol} held-out shoppers)", "",
             f"{sim.replay.shoppers} shoppers × {sim.replay.rounds} visits, "
             f"{sim.replay.impressions} impressions, {sim.replay.clicks} clicks, "
             f"{sim.replay.purchases} purchases; {sim.seconds:.0f} s.", "",
             "| variant | " + " | ".join(metrics) + " |",
             "|---|" + "---:|" * len(metrics)]
    for name, values in sim.offline.items():
        lines.append(f"| {name} | " + " | ".join(f"{values[m]:.4f}" for m in metrics) + " |")
    lines += ["", sim.report.to_markdown(),
              f"Offline ranks **{sim.offline_winner}** first; the A/B picks "
              f"**{sim.report.winner or 'no winner'}**: "
              f"{'they agree' if sim.agrees else 'they disagree'}.", ""]
    return "\n".join(lines)
