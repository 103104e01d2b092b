"""How sure a test figure is: bootstrap confidence intervals and paired comparisons.

A protocol's test figure is a mean over the evaluated users (189 cold shoppers in P4, 6,037
shoppers in P3), so it carries sampling noise: another draw of shoppers would give another
figure. :func:`bootstrap_ci` resamples the users (percentile bootstrap, seeded) to give a
range for the mean. :func:`paired_difference` compares two models ranked on the *same*
users: the per-user differences take out the users' own spread, so a paired interval is
far narrower than the two separate ones; its p-value is the paired t-test's (as Cornac
reports).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from coldrec.errors import DataError

__all__ = ["Difference", "bootstrap_ci", "paired_difference"]

#: resamples per interval; the percentile interval's ends move by ~0.1 % of the spread
N_RESAMPLES = 2000


def _as_values(values: np.ndarray | list[float], what: str) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1 or len(arr) == 0:
        raise DataError(f"{what} must be a non-empty 1-d array of per-user values, "
                         f"not shape {arr.shape}")
    return arr


def bootstrap_ci(values: np.ndarray | list[float], *, level: float = 0.95,
                 n_resamples: int = N_RESAMPLES, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval for the mean of per-user ``values``.

    Users are resampled with replacement ``n_resamples`` times (``default_rng(seed)``);
    the interval holds the central ``level`` share of the resampled means. Equal values give
    a zero-width interval.
    """
    arr = _as_values(values, "values")
    if np.ptp(arr) == 0.0:
        return float(arr[0]), float(arr[0])
    res = stats.bootstrap((arr,), np.mean, n_resamples=n_resamples, confidence_level=level,
                          method="percentile", rng=np.random.default_rng(seed), batch=100)
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


@dataclass(frozen=True)
class Difference:
    """Mean of ``a − b`` over paired users, its bootstrap interval and paired t-test p."""

    mean: float
    low: float
    high: float
    p_value: float

    @property
    def significant(self) -> bool:
        """True when the interval leaves out zero."""
        return self.low > 0.0 or self.high < 0.0


def paired_difference(a: np.ndarray | list[float], b: np.ndarray | list[float], *,
                      level: float = 0.95, n_resamples: int = N_RESAMPLES,
                      seed: int = 0) -> Difference:
    """Compare two models on the same users: ``a[i]`` and ``b[i]`` belong to user ``i``."""
    x = _as_values(a, "a")
    y = _as_values(b, "b")
    if x.shape != y.shape:
        raise DataError(f"paired values need the same users: {len(x)} values against "
                         f"{len(y)}")
    diff = x - y
    low, high = bootstrap_ci(diff, level=level, n_resamples=n_resamples, seed=seed)
    if np.ptp(diff) <= 1e-12 * max(1.0, float(np.abs(diff).max())):
        # the same difference for every user (up to rounding): no spread to test
        p_value = 1.0 if abs(diff[0]) <= 1e-12 else 0.0
    else:
        p_value = float(stats.ttest_rel(x, y).pvalue)
    return Difference(mean=float(diff.mean()), low=low, high=high, p_value=p_value)
