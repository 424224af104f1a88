"""Statistics of replications: confidence intervals, the paired comparison of two
alternatives under common random numbers, and Holm's correction for many comparisons
(DOMAIN §6)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np
from scipy import stats

from ..kpis import PROBABILITY_KEYS


def confidence_interval(values: Iterable[float], level: float = 0.95) -> dict[str, float]:
    """Mean and Student-t confidence interval of independent replication values.

    NaN values (a figure undefined in a replication, e.g. no orders closed) are left out;
    ``n`` says how many remained.  With one value the interval is NaN.
    """
    x = np.asarray([v for v in values if not math.isnan(v)], dtype=float)
    n = int(x.size)
    if n == 0:
        return {"mean": math.nan, "ci_low": math.nan, "ci_high": math.nan,
                "std": math.nan, "n": 0}
    mean = float(x.mean())
    if n == 1:
        return {"mean": mean, "ci_low": math.nan, "ci_high": math.nan, "std": math.nan, "n": 1}
    sd = float(x.std(ddof=1))
    half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * sd / math.sqrt(n)
    return {"mean": mean, "ci_low": mean - half, "ci_high": mean + half, "std": sd, "n": n}


def figure_interval(key: str, values: Iterable[float], level: float = 0.95) -> dict[str, float]:
    """:func:`confidence_interval` of one figure; clipped to [0, 1] when it is a probability
    (fill rates, service levels: :data:`~servicesim.kpis.PROBABILITY_KEYS`)."""
    ci = confidence_interval(values, level)
    if key in PROBABILITY_KEYS and ci["n"] > 1:
        ci["ci_low"], ci["ci_high"] = max(ci["ci_low"], 0.0), min(ci["ci_high"], 1.0)
    return ci


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm step-down adjusted p-values (reject where adjusted ≤ alpha)."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [1.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


def paired_comparison(best: Sequence[float], other: Sequence[float]) -> dict[str, float]:
    """One-sided paired t-test of H0 "other is at least as good as best" on the common
    replications (the first ``min(len)`` of each: the same seeds).

    Returns n, the mean difference best − other, its 95 % t-interval and the p-value.
    """
    n = min(len(best), len(other))
    d = np.asarray(best[:n], dtype=float) - np.asarray(other[:n], dtype=float)
    d = d[~np.isnan(d)]
    ci = confidence_interval(d.tolist(), 0.95)
    out = {"n_common": int(d.size), "diff": ci["mean"], "diff_ci_low": ci["ci_low"],
           "diff_ci_high": ci["ci_high"], "p_value": 1.0}
    if d.size >= 2:
        mean, sd = float(d.mean()), float(d.std(ddof=1))
        if sd > 0:
            t = mean / (sd / math.sqrt(d.size))
            out["p_value"] = float(stats.t.sf(t, d.size - 1))
        else:
            out["p_value"] = 0.0 if mean > 0 else 1.0
    return out
