"""Statistics of a risk analysis (DOMAIN §11): quantiles with distribution-free confidence
intervals, the mean of the worst tail (expected shortfall), and paired differences of those
between alternatives run under common random numbers.

- A **quantile's** point estimate is NumPy's default (linear interpolation between order
  statistics); its confidence interval is the distribution-free order-statistic interval
  ``[X(l), X(u)]``: for any continuous distribution ``P(X(l) <= ξq < X(u))`` is the binomial
  probability ``P(l <= B < u)``, ``B ~ Binomial(n, q)``; ``l`` and ``u`` are the binomial's
  ``α/2`` and ``1 − α/2`` quantiles (+1), so the coverage is at least the level asked
  (:func:`quantile_interval` returns it exactly).  With too few replications for a bound,
  the bound is NaN.
- The **worst-tail mean** of a figure where higher is better (ROI) is the mean of its
  ``ceil(share × n)`` smallest values; its interval, and the intervals of the paired
  differences of a quantile or of a worst-tail mean, come from a percentile bootstrap that
  resamples whole replications (both alternatives' values of replication *r* together, so
  the pairing is kept) with a random generator seeded from :data:`BOOTSTRAP_SEED_NAME` and
  the run's root seed: the same run gives the same intervals.
- The **mean** has the Student-t interval, its paired difference the paired-t interval
  (:mod:`servicesim.experiment.statistics`).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import stats

from .statistics import confidence_interval, paired_comparison

__all__ = ["BOOTSTRAP_RESAMPLES", "BOOTSTRAP_SEED_NAME", "LEVEL", "TAIL_SHARE",
           "bootstrap_seed", "distribution", "paired_risk_difference", "quantile_interval",
           "recovery_summary", "tail_count", "tail_mean"]

LEVEL = 0.95
"""Confidence level of every interval."""
TAIL_SHARE = 0.05
"""The worst tail: 5 % of the replications."""
BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED_NAME = "risk-bootstrap"
"""The name the bootstrap's seed is derived from, with the run's root seed."""


def bootstrap_seed(seed: int) -> int:
    """The bootstrap's seed: 63 bits of SHA-256 over ``"<seed>/risk-bootstrap"``."""
    digest = hashlib.sha256(f"{seed}/{BOOTSTRAP_SEED_NAME}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def _clean(values: Sequence[float]) -> np.ndarray:
    x = np.asarray(values, dtype=float)
    return x[~np.isnan(x)]


def quantile_interval(values: Sequence[float], q: float, level: float = LEVEL
                      ) -> dict[str, float]:
    """The ``q`` quantile of ``values`` (NaN left out) with its distribution-free
    order-statistic interval: ``{"value", "ci_low", "ci_high", "coverage", "rank_low",
    "rank_high", "n"}``; ranks are 1-based (0 or n + 1: that bound needs more
    replications, and is NaN); ``coverage`` is the interval's exact probability of holding
    the true quantile, at least ``level`` when both bounds exist."""
    if not 0 < q < 1:
        raise ValueError(f"q must be in (0, 1), got {q}")
    x = np.sort(_clean(values))
    n = int(x.size)
    if n == 0:
        return {"value": math.nan, "ci_low": math.nan, "ci_high": math.nan,
                "coverage": math.nan, "rank_low": 0, "rank_high": 1, "n": 0}
    alpha = 1 - level
    low = int(stats.binom.ppf(alpha / 2, n, q))        # F(low − 1) < α/2
    high = int(stats.binom.ppf(1 - alpha / 2, n, q)) + 1  # F(high − 1) ≥ 1 − α/2
    coverage = float(stats.binom.cdf(high - 1, n, q) - stats.binom.cdf(low - 1, n, q))
    return {"value": float(np.quantile(x, q)),
            "ci_low": float(x[low - 1]) if low >= 1 else math.nan,
            "ci_high": float(x[high - 1]) if high <= n else math.nan,
            "coverage": coverage, "rank_low": low, "rank_high": high, "n": n}


def tail_count(n: int, share: float = TAIL_SHARE) -> int:
    """How many replications make the worst ``share`` of ``n`` (at least one)."""
    return max(1, math.ceil(share * n - 1e-9))


def tail_mean(values: Sequence[float], share: float = TAIL_SHARE) -> float:
    """The mean of the worst ``share`` (the smallest values: higher is better), NaN
    left out."""
    x = np.sort(_clean(values))
    return float(x[:tail_count(x.size, share)].mean()) if x.size else math.nan


def _tail_means(samples: np.ndarray, share: float) -> np.ndarray:
    """The worst-tail mean of each row of ``samples``."""
    k = tail_count(samples.shape[1], share)
    return np.sort(samples, axis=1)[:, :k].mean(axis=1)


def _resamples(n: int, seed: int, resamples: int) -> np.ndarray:
    """Bootstrap indices (resamples × n) from the bootstrap's named seed."""
    rng = np.random.default_rng(bootstrap_seed(seed))
    return rng.integers(0, n, size=(resamples, n))


def _percentile(values: np.ndarray, level: float) -> tuple[float, float]:
    alpha = 1 - level
    return (float(np.quantile(values, alpha / 2)), float(np.quantile(values, 1 - alpha / 2)))


def distribution(values: Sequence[float], *, seed: int, worst_tail: bool = False,
                 level: float = LEVEL, share: float = TAIL_SHARE,
                 resamples: int = BOOTSTRAP_RESAMPLES) -> dict[str, Any]:
    """One figure's distribution over replications: ``mean`` (Student-t interval),
    ``median``, ``p5`` and ``p95`` (order-statistic intervals), each ``{"value", "ci_low",
    "ci_high"}``; with ``worst_tail``, ``worst_5`` (mean of the worst ``share``, bootstrap
    interval from the named seed)."""
    x = _clean(values)
    ci = confidence_interval(x.tolist(), level)
    out: dict[str, Any] = {"n": int(x.size), "mean": {"value": ci["mean"],
                                                       "ci_low": ci["ci_low"],
                                                       "ci_high": ci["ci_high"]},
                           "std": ci["std"]}
    for name, q in (("median", 0.5), ("p5", 0.05), ("p95", 0.95)):
        found = quantile_interval(x, q, level)
        out[name] = {k: found[k] for k in ("value", "ci_low", "ci_high", "coverage")}
    if worst_tail:
        value = tail_mean(x, share)
        low = high = math.nan
        if x.size >= 2:
            boot = _tail_means(x[_resamples(x.size, seed, resamples)], share)
            low, high = _percentile(boot, level)
        out["worst_5"] = {"value": value, "ci_low": low, "ci_high": high,
                          "count": tail_count(x.size, share) if x.size else 0}
    return out


def paired_risk_difference(reference: Sequence[float], other: Sequence[float], *, seed: int,
                           level: float = LEVEL, share: float = TAIL_SHARE,
                           resamples: int = BOOTSTRAP_RESAMPLES) -> dict[str, Any]:
    """``other − reference`` over the replications both define (replication *r* of each
    ran on the same seed): the difference of the means (paired-t interval, two-sided p),
    of the 5th percentiles and of the worst-``share`` means (paired percentile bootstrap:
    replications resampled together).  Each ``{"value", "ci_low", "ci_high"}``, the mean's
    with ``p_value``; ``n_pairs``."""
    n = min(len(reference), len(other))
    a = np.asarray(reference[:n], dtype=float)
    b = np.asarray(other[:n], dtype=float)
    keep = ~(np.isnan(a) | np.isnan(b))
    a, b = a[keep], b[keep]
    test = paired_comparison(b.tolist(), a.tolist(), level, alternative="two-sided")
    out: dict[str, Any] = {
        "n_pairs": int(a.size),
        "mean": {"value": test["diff"], "ci_low": test["diff_ci_low"],
                 "ci_high": test["diff_ci_high"], "p_value": test["p_value"]},
        "p5": {"value": float(np.quantile(b, 0.05) - np.quantile(a, 0.05)) if a.size
               else math.nan, "ci_low": math.nan, "ci_high": math.nan},
        "worst_5": {"value": tail_mean(b, share) - tail_mean(a, share) if a.size
                    else math.nan, "ci_low": math.nan, "ci_high": math.nan},
    }
    if a.size >= 2:
        index = _resamples(a.size, seed, resamples)
        ra, rb = a[index], b[index]
        p5 = np.quantile(rb, 0.05, axis=1) - np.quantile(ra, 0.05, axis=1)
        tail = _tail_means(rb, share) - _tail_means(ra, share)
        out["p5"]["ci_low"], out["p5"]["ci_high"] = _percentile(p5, level)
        out["worst_5"]["ci_low"], out["worst_5"]["ci_high"] = _percentile(tail, level)
    return out


def recovery_summary(times: Sequence[float | None]) -> dict[str, Any]:
    """The time to recover over events (DOMAIN §11): ``events``, ``recovered``,
    ``not_recovered_share`` (events not back by the horizon ÷ events), and over the
    recovered events ``mean``, ``median`` and ``p95`` in days (NaN without any)."""
    known = np.asarray([t for t in times if t is not None and math.isfinite(t)], dtype=float)
    events = len(times)
    return {"events": events, "recovered": int(known.size),
            "not_recovered_share": (events - known.size) / events if events else math.nan,
            "mean": float(known.mean()) if known.size else math.nan,
            "median": float(np.median(known)) if known.size else math.nan,
            "p95": float(np.quantile(known, 0.95)) if known.size else math.nan}
