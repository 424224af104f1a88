"""Statistics of replications: confidence intervals, the paired comparison of two
alternatives under common random numbers, and Holm's correction for many comparisons
(DOMAIN §6)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np
from scipy import stats

from ..kpis import is_probability


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
    (fill rates, service levels: :func:`~servicesim.kpis.is_probability`)."""
    ci = confidence_interval(values, level)
    if is_probability(key) and ci["n"] > 1:
        ci["ci_low"], ci["ci_high"] = max(ci["ci_low"], 0.0), min(ci["ci_high"], 1.0)
    return ci


def excludes_zero(low: float | None, high: float | None) -> bool:
    """Whether the interval ``[low, high]`` of a difference lies wholly on one side of 0
    (an undefined bound: no)."""
    if low is None or high is None or math.isnan(low) or math.isnan(high):
        return False
    return low > 0 or high < 0


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


def paired_comparison(first: Sequence[float], second: Sequence[float], level: float = 0.95,
                      alternative: str = "greater") -> dict[str, float]:
    """Paired t-test of two alternatives on their common replications (DOMAIN §6: common
    random numbers pair replication *r* of each; the first ``min(len)`` of each share seeds).

    The difference is ``first − second`` per replication; replications where it is
    undefined (NaN) are left out.  Returns ``n_common`` (the pairs used), ``diff`` (their
    mean), its ``level`` t-interval ``diff_ci_low``/``diff_ci_high`` and ``p_value``:

    - ``alternative="greater"``: one-sided, H0 "second is at least as good as first"; with
      fewer than two pairs p = 1 (no evidence against H0);
    - ``alternative="two-sided"``: H0 "no difference"; with fewer than two pairs p is NaN.

    A difference without spread has p = 0 when it points the way of the alternative
    hypothesis, else 1.
    """
    if alternative not in ("greater", "two-sided"):
        raise ValueError(f"alternative must be 'greater' or 'two-sided', not {alternative!r}")
    n = min(len(first), len(second))
    d = np.asarray(first[:n], dtype=float) - np.asarray(second[:n], dtype=float)
    d = d[~np.isnan(d)]
    ci = confidence_interval(d.tolist(), level)
    two_sided = alternative == "two-sided"
    p = math.nan if two_sided else 1.0
    if d.size >= 2:
        mean, sd = float(d.mean()), float(d.std(ddof=1))
        if sd > 0:
            t = mean / (sd / math.sqrt(d.size))
            p = float(2 * stats.t.sf(abs(t), d.size - 1)) if two_sided \
                else float(stats.t.sf(t, d.size - 1))
        elif two_sided:
            p = 1.0 if mean == 0 else 0.0
        else:
            p = 0.0 if mean > 0 else 1.0
    return {"n_common": int(d.size), "diff": ci["mean"], "diff_ci_low": ci["ci_low"],
            "diff_ci_high": ci["ci_high"], "p_value": p}
