"""`coldrec demo` on the built-in Complete Journey data (the `make demo` job)."""

from __future__ import annotations

import io
import re

from rich.console import Console

from coldrec.cli.demo import run_demo


def test_demo_evaluates_and_shows_shoppers_and_new_products() -> None:
    buffer = io.StringIO()
    results = run_demo(Console(file=buffer, width=160), quick=True)
    text = buffer.getvalue()
    # quality floors on real data: personalised models beat popularity on held-out test
    pop = results["popularity"].tasks["test"].metrics
    knn = results["itemknn"].tasks["test"].metrics
    hybrid = results["hybrid"].tasks["test"].metrics
    assert knn["ndcg@10"] > pop["ndcg@10"] > 0.05
    assert hybrid["ndcg@10"] >= 0.98 * knn["ndcg@10"]
    assert knn["coverage@10"] > 3 * pop["coverage@10"]
    for heading in ("a loyal household", "a household with two purchases",
                    "a brand-new household", "searches 'organic baby food'",
                    "new arrivals for you"):
        assert heading in text
    # recommendations show product descriptions (category paths and prices) and reasons
    assert text.count("Grocery >") + text.count("Produce >") >= 6
    assert "$" in text and "←" in text
    assert "Baby Food" in text.split("searches 'organic baby food'")[1][:2000]
    # each devoted household sees the new product of its favourite category first
    shelf = text.split("new arrivals for you")[1]
    for first, category in (("Oat Milk", "Fluid Milk Products"), ("Dog Food", "Dog Foods"),
                            ("Baby Wipes", "Baby Hbc")):
        line = next(ln for ln in shelf.splitlines() if category in ln)
        best = line.split(category)[1].strip(" │").split("›")[0]
        assert first in best, line
        # how devoted the household is: its items in the category, of all its items
        bought, of_all = map(int, re.search(r"(\d+) of (\d+)", line).groups())
        assert 5 <= bought <= of_all, line
