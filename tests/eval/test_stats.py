"""Bootstrap intervals and paired comparisons against known answers."""

from __future__ import annotations

import numpy as np
import pytest

from coldrec.errors import DataError
from coldrec.eval import bootstrap_ci, paired_difference


def test_interval_matches_the_normal_approximation_for_a_large_sample() -> None:
    values = np.random.default_rng(1).random(20_000) < 0.3  # hit / no hit, p = 0.3
    low, high = bootstrap_ci(values)
    half = 1.96 * np.sqrt(0.3 * 0.7 / len(values))
    assert low < values.mean() < high
    assert (high - low) / 2 == pytest.approx(half, rel=0.1)


def test_interval_narrows_with_more_users_and_is_seeded() -> None:
    rng = np.random.default_rng(2)
    small, big = rng.random(100), rng.random(10_000)
    width = [np.subtract(*bootstrap_ci(v)[::-1]) for v in (small, big)]
    assert width[1] < width[0] / 5  # 100× the users: about a tenth of the width
    assert bootstrap_ci(small, seed=3) == bootstrap_ci(small, seed=3)
    assert bootstrap_ci(small, seed=3) != bootstrap_ci(small, seed=4)
    lo90, hi90 = bootstrap_ci(small, level=0.9)
    lo95, hi95 = bootstrap_ci(small, level=0.95)
    assert lo95 < lo90 < hi90 < hi95


def test_equal_values_give_a_point() -> None:
    assert bootstrap_ci([0.25] * 7) == (0.25, 0.25)


def test_bad_values_are_refused() -> None:
    with pytest.raises(DataError, match="non-empty 1-d"):
        bootstrap_ci([])
    with pytest.raises(DataError, match="same users"):
        paired_difference([0.1, 0.2], [0.1])
    with pytest.raises(DataError, match="1-d"):
        bootstrap_ci([[0.1, 0.2]])


def test_pairing_finds_a_small_gain_that_separate_intervals_cannot() -> None:
    rng = np.random.default_rng(5)
    base = rng.random(500)  # users differ a lot from one another
    better = base + 0.01 + rng.normal(0, 0.01, 500)  # one model a little better for each
    low_better = bootstrap_ci(better)[0]
    high_base = bootstrap_ci(base)[1]
    assert low_better < high_base  # the separate intervals overlap
    diff = paired_difference(better, base)
    assert diff.mean == pytest.approx(np.mean(better - base))
    assert diff.low > 0 and diff.significant
    assert diff.p_value < 1e-6


def test_no_difference_is_not_significant() -> None:
    rng = np.random.default_rng(6)
    a = rng.random(300)
    same = paired_difference(a, a)
    assert (same.mean, same.low, same.high, same.p_value) == (0.0, 0.0, 0.0, 1.0)
    assert not same.significant
    noise = paired_difference(a, a + rng.normal(0, 0.05, 300))
    assert noise.low < 0 < noise.high
    assert noise.p_value > 0.05
    assert paired_difference(a + 0.1, a).p_value == 0.0  # the same gain for every user
