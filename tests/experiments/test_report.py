"""The experiment report: known answers, calibrated tests, clear errors."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from coldrec.errors import DataError
from coldrec.experiments import Experiment, Variant, experiment_report
from coldrec.experiments.report import _holm, per_shopper

EXP = Experiment("ab", (Variant("control"), Variant("treatment")))


def events(rows: list[tuple[str, str, str, str, float | None]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["variant", "user_id", "item_id", "event_type", "value"])


def simulated(n_users: int, ctr: dict[str, float], rng: np.random.Generator,
              shown: int = 10) -> pd.DataFrame:
    rows = []
    for u in range(n_users):
        v = EXP.assign(f"u{u}")
        label = EXP.label(v)
        for j in range(shown):
            rows.append((label, f"u{u}", f"i{j}", "impression", None))
            if rng.random() < ctr[v.name]:
                rows.append((label, f"u{u}", f"i{j}", "click", None))
                if rng.random() < 0.5:
                    rows.append((label, f"u{u}", f"i{j}", "purchase", 4.0))
    return events(rows)


def test_known_answer_totals_rates_and_intervals() -> None:
    ev = events([
        ("ab/control", "a1", "x", "impression", None), ("ab/control", "a1", "y", "impression",
                                                        None),
        ("ab/control", "a1", "x", "click", None), ("ab/control", "a1", "x", "purchase", 5.0),
        ("ab/control", "a2", "x", "impression", None), ("ab/control", "a2", "z", "impression",
                                                        None),
        ("ab/treatment", "b1", "x", "impression", None), ("ab/treatment", "b1", "x", "click",
                                                          None),
        ("ab/treatment", "b1", "x", "purchase", None),  # no amount: the catalogue price
        ("ab/treatment", "b2", "y", "impression", None), ("ab/treatment", "b2", "y", "click",
                                                          None),
        ("other/control", "c1", "x", "click", None),  # another experiment: ignored
        (None, "d1", "x", "click", None),  # no experiment: ignored
    ])
    rep = experiment_report(ev, EXP, prices={"x": 3.0})
    c, t = rep.stats("control"), rep.stats("treatment")
    assert (c.users, c.impressions, c.clicks, c.purchases, c.revenue) == (2, 4, 1, 1, 5.0)
    assert (t.users, t.impressions, t.clicks, t.purchases, t.revenue) == (2, 2, 2, 1, 3.0)
    assert c.ctr == pytest.approx(0.25) and t.ctr == pytest.approx(1.0)
    assert c.conversion == 0.5 and c.revenue_per_user == 2.5 and t.revenue_per_user == 1.5
    # delta method: residuals c_i - R n_i = 1 - 0.5, 0 - 0.5; var = 0.5 * 2/1 / 4^2
    se = math.sqrt(0.5 * 2) / 4
    assert c.ctr_ci == pytest.approx((0.25 - 1.959964 * se, 0.25 + 1.959964 * se), abs=1e-5)
    # Wilson 1 of 2 at 95 %: (0.0945, 0.9055)
    assert c.conversion_ci == pytest.approx((0.0945, 0.9055), abs=1e-4)
    # revenue: mean 2.5, sd 3.5355, t(1) = 12.706 → half-width 31.76
    assert c.revenue_per_user_ci == pytest.approx((2.5 - 31.7655, 2.5 + 31.7655), abs=1e-3)
    assert rep.srm_p_value == pytest.approx(1.0)
    json.dumps(rep.to_json(), allow_nan=False)
    assert "| control | 2 | 4 | 1 | 1 |" in rep.to_markdown()


def test_a_clear_difference_is_significant_and_picks_the_winner() -> None:
    rep = experiment_report(simulated(2000, {"control": 0.05, "treatment": 0.08},
                                      np.random.default_rng(1)), EXP)
    assert rep.winner == "treatment" and rep.sample_ratio_ok
    ctr = next(c for c in rep.comparisons if c.metric == "ctr")
    assert ctr.significant and ctr.p_value < 1e-6
    assert ctr.lift == pytest.approx(0.6, abs=0.15)
    c, t = rep.stats("control"), rep.stats("treatment")
    assert c.ctr_ci[0] < 0.05 < c.ctr_ci[1] and t.ctr_ci[0] < 0.08 < t.ctr_ci[1]
    assert "treatment beats control on ctr" in rep.decision


def test_worse_treatment_makes_the_control_the_winner() -> None:
    rep = experiment_report(simulated(2000, {"control": 0.08, "treatment": 0.05},
                                      np.random.default_rng(2)), EXP)
    assert rep.winner == "control"


def test_a_a_tests_reject_at_about_alpha() -> None:
    """No difference: the CTR test (clustered by shopper) rejects ~5 % of the time."""
    rng = np.random.default_rng(3)
    rejections = []
    for _ in range(200):
        rep = experiment_report(simulated(300, {"control": 0.1, "treatment": 0.1}, rng), EXP)
        rejections.append(next(c for c in rep.comparisons if c.metric == "ctr").significant)
        assert rep.winner != "treatment" or rejections[-1]
    assert 0.01 <= np.mean(rejections) <= 0.10


def test_holm_adjustment_known_answer() -> None:
    assert _holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert math.isnan(_holm([math.nan, 0.02])[0]) and _holm([math.nan, 0.02])[1] == 0.02


def test_three_variants_are_tested_against_the_control_with_holm() -> None:
    exp = Experiment("abc", (Variant("control"), Variant("b"), Variant("c")))
    rows = []
    rng = np.random.default_rng(4)
    for u in range(3000):
        v = exp.assign(f"u{u}")
        p = {"control": 0.05, "b": 0.05, "c": 0.09}[v.name]
        for j in range(10):
            rows.append((exp.label(v), f"u{u}", f"i{j}", "impression", None))
            if rng.random() < p:
                rows.append((exp.label(v), f"u{u}", f"i{j}", "click", None))
    rep = experiment_report(events(rows), exp)
    ctr = {c.variant: c for c in rep.comparisons if c.metric == "ctr"}
    assert ctr["c"].significant and ctr["c"].p_adjusted >= ctr["c"].p_value
    assert rep.winner == "c"


def test_sample_ratio_mismatch_is_flagged() -> None:
    rows = [("ab/control", f"u{u}", "x", "impression", None) for u in range(900)]
    rows += [("ab/treatment", f"v{u}", "x", "impression", None) for u in range(100)]
    rep = experiment_report(events(rows), EXP)
    assert not rep.sample_ratio_ok and "MISMATCH" in rep.to_markdown()


def test_empty_log_and_missing_impressions_say_so() -> None:
    rep = experiment_report(events([]), EXP)
    assert rep.winner is None and any("no events" in n for n in rep.notes)
    json.dumps(rep.to_json(), allow_nan=False)
    rep = experiment_report(events([("ab/control", "u", "x", "click", None)]), EXP)
    assert any("no impressions" in n for n in rep.notes)


def test_bad_event_logs_are_clear_errors() -> None:
    with pytest.raises(DataError, match="'variant'"):
        experiment_report(pd.DataFrame({"user_id": ["u"], "item_id": ["i"],
                                        "event_type": ["click"]}), EXP)
    stray = events([("ab/shadow", "u", "x", "click", None),
                    ("ab/control", "v", "x", "impression", None)])
    assert list(per_shopper(stray, EXP)["user_id"]) == ["v"]
    rep = experiment_report(stray, EXP)
    assert rep.stats("control").users == 1 and any("ab/shadow" in n for n in rep.notes)
