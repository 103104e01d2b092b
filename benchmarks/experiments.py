"""Replay A/B experiments: does the online report pick the model offline metrics rank higher?

    python benchmarks/experiments.py                      # all pairs
    python benchmarks/experiments.py --only ml-100k

Each pair runs ``coldrec experiment simulate``'s code path: the service is trained on the
protocol's training part (one fitted model per variant), every held-out shopper visits twice
through the HTTP API (in-process), clicks the shown items that are in their held-out future
and buys them; impressions, clicks and purchases go back through the event API with the
variant attached, and the report is computed from the event store. Offline NDCG@10 of each
variant is computed on the same split. The table goes to docs/benchmarks/.
"""

from __future__ import annotations

import argparse
from typing import Any

from _common import stamp, update_section
from coldrec.experiments import Experiment, Variant
from coldrec.serve.simulation import simulate

HYBRID_CJ = {"cf": "itemknn", "cf_neighbors": 100, "semantic_weight": 0.5,
             "transfer_weight": 1.0, "item_trust": 5.0, "user_trust": 0.0}
#: (dataset, protocol, control (model, params), treatment (model, params))
PAIRS: list[tuple[str, str, tuple[str, dict[str, Any]], tuple[str, dict[str, Any]]]] = [
    ("ml-100k", "P1", ("popularity", {}), ("ease", {"lam": 500.0})),
    ("ml-100k", "P1", ("itemknn", {"neighbors": 50}), ("ease", {"lam": 500.0})),
    ("ml-100k", "P1", ("ease", {"lam": 500.0}), ("als", {"factors": 64})),
    ("completejourney", "P5", ("popularity", {}), ("hybrid", HYBRID_CJ)),
    ("completejourney", "P5", ("itemknn", {"neighbors": 100}), ("hybrid", HYBRID_CJ)),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", help="one dataset")
    args = parser.parse_args()
    rows = []
    for data, protocol, (c_model, c_params), (t_model, t_params) in PAIRS:
        if args.only and data != args.only:
            continue
        exp = Experiment(f"{c_model}-vs-{t_model}", (
            Variant("control", model=c_model, params=c_params),
            Variant("treatment", model=t_model, params=t_params)))
        sim = simulate(data, exp, protocol=protocol, k=10, rounds=2)
        rep = sim.report
        ctr = next(c for c in rep.comparisons if c.metric == "ctr")
        c, t = rep.stats("control"), rep.stats("treatment")
        ab_order = "treatment" if t.ctr > c.ctr else "control"
        verdict = "yes" if sim.agrees else ("no significant winner" if rep.winner is None
                                            else "**no: picks the other**")
        rows.append(
            f"| {data} {protocol} | {c_model} vs {t_model} | "
            f"{sim.offline['control']['ndcg@10']:.4f} / {sim.offline['treatment']['ndcg@10']:.4f}"
            f" | {c.users} / {t.users} | {100 * c.ctr:.2f}% / {100 * t.ctr:.2f}% | "
            f"{100 * c.conversion:.1f}% / {100 * t.conversion:.1f}% | "
            f"{c.revenue_per_user:.2f} / {t.revenue_per_user:.2f} | {ctr.lift:+.1%} | "
            f"{ctr.p_adjusted:.2g} | {rep.winner or '—'} | {sim.offline_winner} | "
            f"{verdict} | {'yes' if ab_order == sim.offline_winner else 'no'} | "
            f"{sim.seconds:.0f} |")
        print(rows[-1], flush=True)
    body = [
        "## Replay A/B experiments (offline simulator)", "",
        "Held-out shoppers of the split visit the running service twice through its HTTP "
        "API (k = 10 shown per visit); they click shown items that are in their held-out "
        "future and buy them (amount: catalogue price, 1 where there is none); every "
        "impression, click and purchase goes back through the event API with its variant. "
        "Assignment is the service's hash assignment (50/50). CTR's p-value is the "
        "delta-method z-test clustered by shopper (Holm-adjusted). *Agree*: the report's "
        "winner is the variant with the higher offline NDCG@10 on the same split; *same "
        "order*: the CTR point estimates order the two variants as offline NDCG does "
        "(significant or not).", "",
        "| split | control vs treatment | offline NDCG@10 (c / t) | shoppers | CTR | "
        "conversion | revenue / shopper | CTR lift | p | A/B winner | offline winner | "
        "agree | same order | s |",
        "|---|---|---|---|---|---|---|---:|---:|---|---|---|---|---:|",
        *rows, ""]
    update_section("experiments-replay", "\n".join(body) + "\n" + stamp())


if __name__ == "__main__":
    main()
