"""The experiment report: CTR, conversion and revenue per user of every variant, with
confidence intervals, a significance test of each variant against the control, a
sample-ratio check, and the decision.

The unit of randomisation is the shopper, so every statistic treats shoppers as the
independent units: CTR (a ratio of sums over shoppers) gets a delta-method interval
clustered by shopper, conversion (share of shoppers who bought) a Wilson interval and a
two-proportion z-test, revenue per shopper a t interval and Welch's t-test. With more than
one treatment the p-values of each metric are Holm-adjusted.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from coldrec.errors import DataError
from coldrec.experiments.design import METRICS, Experiment

__all__ = ["Comparison", "ExperimentReport", "VariantStats", "experiment_report",
           "per_shopper"]

CLICKS = ("click",)
PURCHASES = ("purchase",)


@dataclass
class VariantStats:
    """Totals and per-shopper rates of one variant, with 1 − α intervals."""

    name: str
    users: int
    impressions: int
    clicks: int
    purchases: int
    revenue: float
    ctr: float
    ctr_ci: tuple[float, float]
    conversion: float
    conversion_ci: tuple[float, float]
    revenue_per_user: float
    revenue_per_user_ci: tuple[float, float]


@dataclass
class Comparison:
    """One treatment against the control on one metric."""

    variant: str
    metric: str
    control: float
    value: float
    difference: float
    lift: float  # relative difference (NaN when the control is 0)
    p_value: float
    p_adjusted: float
    significant: bool


@dataclass
class ExperimentReport:
    experiment: str
    primary_metric: str
    alpha: float
    variants: list[VariantStats]
    comparisons: list[Comparison]
    srm_p_value: float  # sample-ratio mismatch: users per variant vs the designed shares
    winner: str | None
    decision: str
    notes: list[str] = field(default_factory=list)

    @property
    def sample_ratio_ok(self) -> bool:
        return not self.srm_p_value < 0.001

    def stats(self, name: str) -> VariantStats:
        return next(v for v in self.variants if v.name == name)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["sample_ratio_ok"] = self.sample_ratio_ok
        return _finite(out)

    def to_markdown(self) -> str:
        """The report as a Markdown section (tables for a docs page or an issue)."""
        pct = 100 * (1 - self.alpha)
        lines = [f"### Experiment `{self.experiment}`", "",
                 f"| variant | shoppers | impressions | clicks | purchases | CTR ({pct:.0f}% CI)"
                 f" | conversion ({pct:.0f}% CI) | revenue / shopper ({pct:.0f}% CI) |",
                 "|---|---:|---:|---:|---:|---|---|---|"]
        for v in self.variants:
            lines.append(
                f"| {v.name} | {v.users} | {v.impressions} | {v.clicks} | {v.purchases} | "
                f"{_pct(v.ctr)} ({_pct(v.ctr_ci[0])}–{_pct(v.ctr_ci[1])}) | "
                f"{_pct(v.conversion)} ({_pct(v.conversion_ci[0])}–{_pct(v.conversion_ci[1])})"
                f" | {v.revenue_per_user:.2f} ({v.revenue_per_user_ci[0]:.2f}–"
                f"{v.revenue_per_user_ci[1]:.2f}) |")
        lines += ["", "| variant vs control | metric | difference | lift | p | p (Holm) |",
                  "|---|---|---:|---:|---:|---:|"]
        for c in self.comparisons:
            lift = "n/a" if math.isnan(c.lift) else f"{c.lift:+.1%}"
            lines.append(f"| {c.variant} | {c.metric} | {c.difference:+.4g} | {lift} | "
                         f"{_p(c.p_value)} | {_p(c.p_adjusted)}{' *' if c.significant else ''}"
                         " |")
        lines += ["", f"Sample-ratio check p = {_p(self.srm_p_value)}"
                  f"{'' if self.sample_ratio_ok else ' — MISMATCH: do not trust the result'}.",
                  f"**Decision ({self.primary_metric}, α = {self.alpha}):** {self.decision}"]
        lines += [f"- {n}" for n in self.notes]
        return "\n".join(lines) + "\n"


def _pct(x: float) -> str:
    return "n/a" if math.isnan(x) else f"{100 * x:.2f}%"


def _p(p: float) -> str:
    return "n/a" if math.isnan(p) else ("<1e-4" if p < 1e-4 else f"{p:.4f}")


def _finite(obj: Any) -> Any:
    """JSON-safe copy: NaN and infinities become None."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    return obj


def per_shopper(events: pd.DataFrame, experiment: Experiment,
                prices: Mapping[str, float] | None = None) -> pd.DataFrame:
    """One row per (variant, shopper): impressions, clicks, purchases, revenue.

    ``events`` needs ``user_id``, ``item_id``, ``event_type`` and ``variant`` (labels
    ``experiment/variant`` as the service hands them out); ``value`` of a purchase is its
    amount, else the product's price from ``prices``, else 0. Events of other experiments
    are ignored, and so are labels naming no variant of this experiment (a stale or
    mistyped client: :func:`experiment_report` notes how many).
    """
    for col in ("user_id", "item_id", "event_type", "variant"):
        if col not in events.columns:
            raise DataError(f"experiment events need a {col!r} column", column=col)
    prefix = f"{experiment.name}/"
    ev = events[events["variant"].astype("string").str.startswith(prefix).fillna(False)
                .to_numpy(dtype=bool)]
    names = ev["variant"].str.slice(len(prefix))
    known = names.isin([v.name for v in experiment.variants]).to_numpy(dtype=bool)
    ev, names = ev[known], names[known]
    kind = ev["event_type"].astype(str).to_numpy()
    value = pd.to_numeric(ev["value"], errors="coerce") if "value" in ev.columns else \
        pd.Series(np.nan, index=ev.index)
    if prices:
        fallback = ev["item_id"].astype(str).map(prices)
        value = value.fillna(fallback)
    is_buy = np.isin(kind, PURCHASES)
    frame = pd.DataFrame({
        "variant": names.to_numpy(), "user_id": ev["user_id"].astype(str).to_numpy(),
        "impressions": (kind == "impression").astype(np.int64),
        "clicks": np.isin(kind, CLICKS).astype(np.int64),
        "purchases": is_buy.astype(np.int64),
        "revenue": np.where(is_buy, value.fillna(0.0).to_numpy(dtype=np.float64), 0.0)})
    return frame.groupby(["variant", "user_id"], sort=True).sum().reset_index()


def _wilson(successes: int, n: int, z: float) -> tuple[float, float]:
    if n == 0:
        return (math.nan, math.nan)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def _ratio(num: np.ndarray, den: np.ndarray) -> tuple[float, float]:
    """Ratio of sums and its delta-method standard error, shoppers as clusters."""
    total = den.sum()
    if total == 0:
        return math.nan, math.nan
    r = num.sum() / total
    n = len(num)
    if n < 2:
        return float(r), math.nan
    resid = num - r * den
    return float(r), float(math.sqrt((resid ** 2).sum() * n / (n - 1)) / total)


def _variant_stats(name: str, rows: pd.DataFrame, z: float, alpha: float) -> VariantStats:
    n = len(rows)
    clicks, imps = rows["clicks"].to_numpy(float), rows["impressions"].to_numpy(float)
    ctr, se = _ratio(clicks, imps)
    buyers = int((rows["purchases"] > 0).sum())
    rev = rows["revenue"].to_numpy(float)
    mean = float(rev.mean()) if n else math.nan
    if n >= 2:
        half = stats.t.ppf(1 - alpha / 2, n - 1) * rev.std(ddof=1) / math.sqrt(n)
    else:
        half = math.nan
    return VariantStats(
        name=name, users=n, impressions=int(imps.sum()), clicks=int(clicks.sum()),
        purchases=int(rows["purchases"].sum()), revenue=float(rev.sum()),
        ctr=ctr, ctr_ci=(ctr - z * se, ctr + z * se),
        conversion=buyers / n if n else math.nan, conversion_ci=_wilson(buyers, n, z),
        revenue_per_user=mean, revenue_per_user_ci=(mean - half, mean + half))


def _two_sided(zscore: float) -> float:
    return float(2 * stats.norm.sf(abs(zscore))) if math.isfinite(zscore) else math.nan


def _test(metric: str, a: pd.DataFrame, b: pd.DataFrame) -> float:
    """p-value of variant ``b`` against control ``a`` on ``metric``."""
    if len(a) < 2 or len(b) < 2:
        return math.nan
    if metric == "ctr":
        ra, sa = _ratio(a["clicks"].to_numpy(float), a["impressions"].to_numpy(float))
        rb, sb = _ratio(b["clicks"].to_numpy(float), b["impressions"].to_numpy(float))
        se = math.hypot(sa, sb)
        return _two_sided((rb - ra) / se) if se > 0 else (math.nan if ra == rb else 0.0)
    if metric == "conversion":
        xa, xb = int((a["purchases"] > 0).sum()), int((b["purchases"] > 0).sum())
        pooled = (xa + xb) / (len(a) + len(b))
        se = math.sqrt(pooled * (1 - pooled) * (1 / len(a) + 1 / len(b)))
        diff = xb / len(b) - xa / len(a)
        return _two_sided(diff / se) if se > 0 else (math.nan if diff == 0 else 0.0)
    ra, rb = a["revenue"].to_numpy(float), b["revenue"].to_numpy(float)
    if ra.std() == 0 and rb.std() == 0:
        return math.nan if ra.mean() == rb.mean() else 0.0
    return float(stats.ttest_ind(rb, ra, equal_var=False).pvalue)


def _holm(pvalues: list[float]) -> list[float]:
    """Holm step-down adjustment (NaN p-values stay NaN and are not counted)."""
    valid = [(p, i) for i, p in enumerate(pvalues) if not math.isnan(p)]
    out = [math.nan] * len(pvalues)
    running = 0.0
    for rank, (p, i) in enumerate(sorted(valid)):
        running = max(running, min(1.0, (len(valid) - rank) * p))
        out[i] = running
    return out


def experiment_report(events: pd.DataFrame, experiment: Experiment, *,
                      prices: Mapping[str, float] | None = None,
                      alpha: float = 0.05) -> ExperimentReport:
    """Analyse the logged events of ``experiment`` (see :func:`per_shopper`)."""
    rows = per_shopper(events, experiment, prices)
    labels = events["variant"].dropna().astype(str)
    stray = sorted({x for x in labels if x.startswith(f"{experiment.name}/")} -
                   {experiment.label(v) for v in experiment.variants})
    z = float(stats.norm.ppf(1 - alpha / 2))
    groups = {v.name: rows[rows["variant"] == v.name] for v in experiment.variants}
    variants = [_variant_stats(name, g, z, alpha) for name, g in groups.items()]
    control = experiment.control.name
    comparisons: list[Comparison] = []
    for metric in METRICS:
        treated = [v for v in variants if v.name != control]
        ps = [_test(metric, groups[control], groups[v.name]) for v in treated]
        base = getattr(variants[0], metric)
        for v, p, p_adj in zip(treated, ps, _holm(ps), strict=True):
            value = getattr(v, metric)
            comparisons.append(Comparison(
                variant=v.name, metric=metric, control=base, value=value,
                difference=value - base, lift=(value - base) / base if base else math.nan,
                p_value=p, p_adjusted=p_adj,
                significant=bool(not math.isnan(p_adj) and p_adj < alpha)))
    counts = np.asarray([v.users for v in variants], dtype=float)
    shares = np.asarray(list(experiment.shares().values()))
    srm = float(stats.chisquare(counts, counts.sum() * shares).pvalue) if counts.sum() \
        else math.nan
    winner, decision = _decide(experiment, variants, comparisons)
    notes = []
    if stray:
        notes.append(f"ignored events labelled {', '.join(stray[:5])}: variants this "
                     "experiment does not define")
    if counts.sum() == 0:
        notes.append("no events of this experiment were logged yet")
    if not any(v.impressions for v in variants):
        notes.append("no impressions logged: CTR is undefined (log event_type 'impression' "
                     "for every item shown)")
    return ExperimentReport(experiment=experiment.name, primary_metric=experiment.primary_metric,
                            alpha=alpha, variants=variants, comparisons=comparisons,
                            srm_p_value=srm, winner=winner, decision=decision, notes=notes)


def _decide(experiment: Experiment, variants: list[VariantStats],
            comparisons: list[Comparison]) -> tuple[str | None, str]:
    metric = experiment.primary_metric
    control = experiment.control.name
    primary = [c for c in comparisons if c.metric == metric]
    better = [c for c in primary if c.significant and c.difference > 0]
    if better:
        best = max(better, key=lambda c: c.value)
        return best.variant, (f"{best.variant} beats {control} on {metric} "
                              f"({best.lift:+.1%}, Holm-adjusted p = {_p(best.p_adjusted)})")
    if primary and all(c.significant and c.difference < 0 for c in primary):
        return control, f"{control} beats every other variant on {metric}"
    return None, f"no significant difference on {metric} yet; keep collecting or stop at " \
                 "the planned sample size"
