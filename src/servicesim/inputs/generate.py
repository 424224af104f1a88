"""Synthetic but realistic planner data: an item master, a demand history and a scenario.

``generate_dataset(skus=1000, days=730, seed=7, out_dir="data/gen")`` writes
``items.csv``, ``history.csv`` and ``scenario.yaml`` (which references the two) and returns
the scenario's path.  What makes it realistic:

* revenue is concentrated: each SKU's annual revenue is lognormal with σ = 1.68, for which
  the top 20 % of SKUs make 80 % of revenue in expectation (top-p share
  ``1 - Φ(Φ⁻¹(1 - p) - σ)``); the share measured on the written history is reported;
* prices span four orders of magnitude (about 0.5 to 5,000), cheap items sell in larger
  quantities per line; a unit costs 55-80 % of its price;
* fast movers (hundreds of lines a year) and intermittent ones (a few a year) follow from
  the revenue spread; a quarter of the SKUs are seasonal (yearly sine, amplitude up to 60 %);
* units per line are Poisson, negative binomial (overdispersed) or normal (large, steady
  quantities), drawn as ``max(1, round(X))`` like the model;
* supplier lead times from 2 to about 60 days, a fifth of them fixed;
* two segments, key accounts (one per 5 SKUs, mostly backorder) and retail (5 per SKU,
  mostly buy elsewhere), each acquiring new customers to replace those who defect; each
  SKU has its own key-account share of lines;
* the finance block scales with the business it describes (:func:`scaled_finance`): fixed
  overheads and fixed logistics assets are shares of the annual revenue measured on the
  written history, so ROI lands where a distributor's does, whatever the number of SKUs.

Everything is drawn from one ``numpy.random.Generator`` seeded with ``seed``: the same
arguments give byte-identical files.  Files are written atomically.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..files import atomic_write_text

__all__ = ["GeneratedDataset", "ScaledFinance", "generate", "generate_dataset", "pareto_share",
           "scaled_finance"]

REVENUE_SIGMA = 1.683
"""σ of log annual revenue: the top 20 % of a lognormal then hold 80 % of the total."""

START_DATE = dt.date(2024, 1, 1)
"""First day of a generated history."""

FIXED_COST_SHARE = 0.15
"""Fixed overheads a year (warehouse staff and rent, sales, administration: what the model
does not simulate) as a share of annual revenue.  Distributors run at gross margins of
20-30 %, operating expenses of 15-20 % of revenue and operating margins of 3-8 % (NAW
benchmarks); a generated SKU costs 55-80 % of its price (a gross margin near 32 %) and the
simulated logistics (transport, ordering, holding, backorders) take about 10 % of revenue,
so 15 % of overheads leaves an operating margin of 4-9 % of revenue (measured on nine
generated businesses of 100 to 1,000 SKUs, one simulated year each)."""
FIXED_ASSETS_SHARE = 0.15
"""Fixed logistics assets (building fit-out, racking, handling equipment, systems) as a share
of annual revenue.  With inventory (about 8 % of revenue at the generated policies) and
receivables (key accounts' 30 days) capital employed comes near 30 % of revenue, an asset
turnover of about 3 a year, and a ROI of 15-37 % a year at the generated policies (the
same nine businesses): near the 10-30 % return on capital most industries earn (Damodaran,
margins and return on capital by industry, January 2024)."""


@dataclass(frozen=True)
class GeneratedDataset:
    """What :func:`generate` wrote and measured."""

    scenario: Path
    items: Path
    history: Path
    skus: int
    days: int
    lines: int
    pareto_share: float
    """Revenue share of the top 20 % of SKUs in the written history."""
    intermittent_share: float
    """Share of SKUs with fewer than one order line a week on average."""
    finance: ScaledFinance | None = None
    """The finance block written into the scenario, and the revenue it was scaled from."""


@dataclass(frozen=True)
class ScaledFinance:
    """Fixed cost and fixed assets of a generated scenario, from its annual revenue."""

    annual_revenue: float
    """Revenue a year of the written history (price × units, per 365 days)."""
    annual_cost_of_goods: float
    """Unit cost × units a year of the written history."""
    fixed_cost_per_year: float
    fixed_logistics_assets: float


def scaled_finance(annual_revenue: float, annual_cost_of_goods: float) -> ScaledFinance:
    """The finance block of a business with this revenue a year (DOMAIN §4): fixed cost
    :data:`FIXED_COST_SHARE` and fixed assets :data:`FIXED_ASSETS_SHARE` of revenue, rounded
    to thousands (at least 1,000 each)."""
    def thousands(value: float) -> float:
        return float(max(1000, round(value / 1000) * 1000))

    return ScaledFinance(annual_revenue, annual_cost_of_goods,
                         thousands(FIXED_COST_SHARE * annual_revenue),
                         thousands(FIXED_ASSETS_SHARE * annual_revenue))


def pareto_share(revenue: np.ndarray, top: float = 0.2) -> float:
    """Share of total revenue made by the top ``top`` fraction of SKUs (at least one)."""
    values = np.sort(np.asarray(revenue, dtype=float))[::-1]
    total = values.sum()
    if total <= 0:
        return 0.0
    count = max(1, int(round(top * len(values))))
    return float(values[:count].sum() / total)


def key_accounts_for(skus: int) -> int:
    """Key accounts of a generated scenario: one per 5 SKUs, at least 20."""
    return max(20, skus // 5)


def retail_customers_for(skus: int) -> int:
    """Retail customers of a generated scenario: 5 per SKU."""
    return 5 * skus


MAX_SKUS = 99_999
"""The most SKUs :func:`generate` writes (names run from SKU-00001 to SKU-99999)."""
MAX_LINES = 5_000_000
"""The most order lines :func:`generate` writes (about 200 MB of history)."""


def generate(skus: int = 1000, days: int = 730, seed: int = 7,
             out_dir: str | os.PathLike[str] = "generated",
             lines_per_day: float | None = None, name: str | None = None) -> GeneratedDataset:
    """Write an item master, a history and a scenario to ``out_dir``; see the module doc.

    ``lines_per_day`` is the expected total of order lines a day (default 0.2 per SKU).
    """
    total_rate = _checked_rate(skus, days, lines_per_day)
    rng = np.random.default_rng(seed)
    items = _draw_items(rng, skus, total_rate)
    lines = _draw_lines(rng, items, days)
    out = Path(out_dir)
    items_path = atomic_write_text(out / "items.csv", _items_csv(items))
    history = atomic_write_text(out / "history.csv", _history_csv(items, lines, days))
    sold = np.bincount(lines.sku, weights=lines.quantity, minlength=skus)
    per_year = 365.0 / days
    finance = scaled_finance(float(sold @ items.price) * per_year,
                             float(sold @ items.unit_cost) * per_year)
    scenario_name = name or f"generated_{skus}_skus"
    scenario = atomic_write_text(out / "scenario.yaml",
                                 _scenario_text(scenario_name, skus, days, seed, finance))
    lines_per_sku = np.bincount(lines.sku, minlength=skus)
    return GeneratedDataset(
        scenario=scenario, items=items_path, history=history, skus=skus, days=days,
        lines=len(lines.sku), pareto_share=pareto_share(sold * items.price),
        intermittent_share=float(np.mean(lines_per_sku / days < 1 / 7)), finance=finance)


def _checked_rate(skus: int, days: int, lines_per_day: float | None) -> float:
    """The expected order lines a day, after checking the request is within the limits."""
    if skus < 1 or days < 1:
        raise ValueError("skus and days must be at least 1")
    if skus > MAX_SKUS:
        raise ValueError(f"--skus {skus:,}: at most {MAX_SKUS:,} SKUs can be generated")
    total_rate = lines_per_day if lines_per_day is not None else 0.2 * skus
    if total_rate * days > MAX_LINES:
        raise ValueError(
            f"--skus {skus:,} --days {days:,}: about {total_rate * days:,.0f} order lines "
            f"({total_rate:,.1f} a day); at most {MAX_LINES:,} are generated (a history "
            "file of about 40 bytes a line): fewer SKUs, days or --lines-per-day")
    return total_rate


@dataclass
class _Items:
    """The drawn item master, one array entry per SKU."""

    names: list[str]
    price: np.ndarray
    unit_cost: np.ndarray
    holding: np.ndarray
    mean_qty: np.ndarray
    kind: np.ndarray  # 0 poisson, 1 negative binomial, 2 normal units per line
    cv_qty: np.ndarray
    rate: np.ndarray  # order lines a day
    amplitude: np.ndarray  # seasonal amplitude (0: not seasonal)
    phase: np.ndarray
    key_share: np.ndarray  # share of lines from key accounts
    lead_mean: np.ndarray
    lead_std: np.ndarray


def _draw_items(rng: np.random.Generator, skus: int, total_rate: float) -> _Items:
    """Prices, costs, quantities, line rates, seasonality and lead times of every SKU."""
    names = [f"SKU-{i + 1:05d}" for i in range(skus)]
    log_price = rng.uniform(math.log(0.5), math.log(5000.0), skus)
    price = np.maximum(np.round(np.exp(log_price), 2), 0.5)
    unit_cost = np.round(price * rng.uniform(0.55, 0.8, skus), 2)
    holding = np.round(rng.uniform(0.15, 0.35, skus), 3)
    # units per line: cheap items in bulk; the kind of variability by SKU
    mean_qty = np.clip(np.exp(rng.normal(math.log(60.0) - 0.45 * log_price, 0.5)), 1.0, 400.0)
    kind = rng.choice(3, size=skus, p=[0.5, 0.35, 0.15])  # poisson, nb, normal
    kind[(kind == 2) & (mean_qty < 15)] = 0
    cv_qty = np.where(kind == 1, rng.uniform(0.6, 1.5, skus), rng.uniform(0.15, 0.35, skus))
    # line rates: log revenue = log rate + log value of a line; the rates' spread tops up
    # the spread of line values to REVENUE_SIGMA, so revenue follows the 80/20 rule
    log_value = np.log(price * mean_qty)
    damping = 0.3  # dear lines sell less often
    rate_sigma = math.sqrt(max(REVENUE_SIGMA**2 - (1 - damping) ** 2 * float(np.var(log_value)),
                               0.5**2))
    log_rate = rng.normal(0.0, rate_sigma, skus) - damping * (log_value - log_value.mean())
    rate = np.exp(log_rate)
    rate = rate / rate.sum() * total_rate  # lines per day
    seasonal = rng.random(skus) < 0.25
    amplitude = np.where(seasonal, rng.uniform(0.2, 0.6, skus), 0.0)
    phase = rng.uniform(0, 2 * math.pi, skus)
    key_share = rng.beta(2.0, 3.0, skus)
    lead_mean = np.round(np.clip(rng.lognormal(math.log(12.0), 0.6, skus), 2, 60), 1)
    lead_std = np.where(rng.random(skus) < 0.2, 0.0,
                        np.round(lead_mean * rng.uniform(0.1, 0.4, skus), 1))
    return _Items(names, price, unit_cost, holding, mean_qty, kind, cv_qty, rate, amplitude,
                  phase, key_share, lead_mean, lead_std)


@dataclass
class _Lines:
    """The drawn order lines in date order, one array entry per line."""

    sku: np.ndarray
    day: np.ndarray
    quantity: np.ndarray
    is_key: np.ndarray
    customer: np.ndarray


def _draw_lines(rng: np.random.Generator, items: _Items, days: int) -> _Lines:
    """Order lines: Poisson in time (thinned for seasonality), then quantities, segments
    and customers."""
    skus = len(items.names)
    amplitude = items.amplitude
    candidates = rng.poisson(items.rate * (1 + amplitude) * days)
    sku_of = np.repeat(np.arange(skus), candidates)
    times = rng.uniform(0, days, len(sku_of))
    level = (1 + amplitude[sku_of] * np.sin(2 * math.pi * times / 365.0
                                            + items.phase[sku_of])) / (1 + amplitude[sku_of])
    keep = rng.random(len(sku_of)) < level
    sku_of, day = sku_of[keep], times[keep].astype(np.int64)
    n = len(sku_of)
    quantity = _draw_quantities(rng, items, sku_of)
    is_key = rng.random(n) < items.key_share[sku_of]
    accounts, retail = key_accounts_for(skus), retail_customers_for(skus)  # as the scenario
    customer = np.where(is_key, rng.integers(1, accounts + 1, n),
                        rng.integers(1, retail + 1, n))
    order = np.lexsort((sku_of, day))
    return _Lines(*(a[order] for a in (sku_of, day, quantity, is_key, customer)))


def _draw_quantities(rng: np.random.Generator, items: _Items, sku_of: np.ndarray) -> np.ndarray:
    """Units of each line: Poisson, negative binomial or rounded normal by the SKU's kind."""
    mu, cv, k = items.mean_qty[sku_of], items.cv_qty[sku_of], items.kind[sku_of]
    quantity = rng.poisson(mu).astype(float)
    over = k == 1
    if over.any():
        var = (cv[over] * mu[over]) ** 2 + mu[over]
        p = mu[over] / var
        quantity[over] = rng.negative_binomial(mu[over] ** 2 / (var - mu[over]), p)
    normal = k == 2
    quantity[normal] = rng.normal(mu[normal], cv[normal] * mu[normal])
    return np.maximum(1, np.rint(quantity)).astype(np.int64)


def _items_csv(items: _Items) -> str:
    return _csv([
        ["sku", "description", "unit_cost", "price", "holding_rate_per_year",
         "lead_time_mean_days", "lead_time_std_days"],
        *([items.names[i], f"{_KINDS[items.kind[i]]} item {i + 1}",
           f"{items.unit_cost[i]:.2f}", f"{items.price[i]:.2f}", f"{items.holding[i]:.3f}",
           f"{items.lead_mean[i]:g}", f"{items.lead_std[i]:g}"]
          for i in range(len(items.names))),
    ])


def _history_csv(items: _Items, lines: _Lines, days: int) -> str:
    dates = [(START_DATE + dt.timedelta(days=d)).isoformat() for d in range(days)]
    return _csv([
        ["date", "sku", "quantity", "segment", "customer"],
        *([dates[lines.day[j]], items.names[lines.sku[j]], str(lines.quantity[j]),
           "key_accounts" if lines.is_key[j] else "retail",
           f"KA-{lines.customer[j]:05d}" if lines.is_key[j] else f"R-{lines.customer[j]:06d}"]
          for j in range(len(lines.sku))),
    ])


def generate_dataset(skus: int = 1000, days: int = 730, seed: int = 7,
                     out_dir: str | os.PathLike[str] = "generated",
                     lines_per_day: float | None = None) -> Path:
    """Like :func:`generate`; returns the path of the written scenario YAML."""
    return generate(skus, days, seed, out_dir, lines_per_day).scenario


_KINDS = ("poisson-like", "lumpy", "bulk")


def _csv(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


def _scenario_text(name: str, skus: int, days: int, seed: int,
                   finance: ScaledFinance) -> str:
    warmup = 90 if days > 180 else max(1, days // 4)
    return f"""\
# Generated by `servicesim generate --skus {skus} --days {days} --seed {seed}`: a synthetic
# item master (items.csv) and {days} days of order lines (history.csv), two segments.
# Units: time in days, money in the scenario's currency; rates per year are annual.
name: {name}
description: >
  {skus} synthetic SKUs (Pareto revenue, fast and intermittent movers), demand fitted from
  the history per SKU and segment; service targets per ABC class.

items:
  master: items.csv
  history: history.csv
  abc_thresholds: [0.8, 0.95]   # cumulative revenue share closing A and B
  xyz_thresholds: [0.5, 1.0]    # CV of weekly demand closing X and Y

run:
  horizon_days: {max(days, warmup + 30)}
  warmup_days: {warmup}
  replications: 4
  seed: {seed}

policy:
  type: sQ
  service_metric: fill_rate
  service_target: {{A: 0.97, B: 0.95, C: 0.9}}   # per ABC class
  lead_time_demand: auto

segments:                      # order intervals and SKU weights come from the history
  key_accounts:                # about one account per 5 SKUs, each ordering every few weeks
    customers: {key_accounts_for(skus)}
    lines_per_order: {{type: poisson, mean: 4}}
    promised_cycle_time_days: 4  # processing (mean 0.5 day) + transit (1-3 days): 98 % in 4
    priority: 1
    reactions: {{wait: 0.0, backorder: 0.7, switch: 0.298, defect: 0.002}}
    defect_increase_per_stockout: 0.0005   # accounts order often: patience lasts longer
    retention_rate_per_year: 0.85
    payment_terms_days: 30
    acquisition:               # new accounts replace those lost
      customers_per_year: {max(2, skus // 25)}
      cost_per_customer: 4000
      lost_acquisitions_per_defection: 0.5   # word of mouth
  retail:                      # many small customers, each ordering every couple of months
    customers: {retail_customers_for(skus)}
    lines_per_order: {{type: empirical, values: [1, 2, 3], probabilities: [0.6, 0.3, 0.1]}}
    promised_cycle_time_days: 4
    priority: 2
    reactions: {{wait: 0.15, backorder: 0.0, switch: 0.82, defect: 0.03}}
    patience_days: {{type: exponential, mean: 3}}
    max_waits: 2
    defect_increase_per_stockout: 0.01
    retention_rate_per_year: 0.7
    acquisition:
      customers_per_year: {skus // 2}
      cost_per_customer: 250
      lost_acquisitions_per_defection: 0.5

supplier:                      # lead times are per SKU (items.csv); these costs apply to all
  cost_per_order: 150
  inbound_cost_per_shipment: 250
  inbound_cost_per_unit: 0.4

order_processing:
  time_days: {{type: exponential, mean: 0.5}}
  cost_per_order: 12

outbound:
  transit_days: {{type: triangular, low: 1, mode: 1.5, high: 3}}
  cost_per_shipment: 35
  cost_per_unit: 0.5

stockout_costs:
  backorder_cost_per_unit: 2.0
  backorder_cost_per_unit_per_day: 0.1

# Finance scaled with the business: the history sells {_money(finance.annual_revenue)} a year \
at a cost of goods of
# {_money(finance.annual_cost_of_goods)} (a gross margin of {_share(finance)}).  Fixed \
overheads (staff, rent, sales, administration:
# not simulated) are {_percent(FIXED_COST_SHARE)} of revenue; fixed logistics assets \
(fit-out, racking, handling
# equipment, systems) {_percent(FIXED_ASSETS_SHARE)}.  Distributors earn gross margins of \
20-30 % and operating margins
# of 3-8 % of revenue after operating expenses of 15-20 % (NAW benchmarks); with the
# simulated logistics costs (about 10 % of revenue) and inventory, this gives a ROI of
# 15-40 % a year at the policy above.  Put your own figures here: the ROI is only as good
# as they are.
finance:
  fixed_cost_per_year: {finance.fixed_cost_per_year:.0f}
  fixed_logistics_assets: {finance.fixed_logistics_assets:.0f}
  cost_of_capital_rate_per_year: 0.10
"""


def _money(value: float) -> str:
    """An amount in words a reader can take in: 1.2 M, 350 k."""
    if value >= 1e6:
        return f"{value / 1e6:,.1f} M"
    return f"{value / 1e3:,.0f} k"


def _percent(share: float) -> str:
    return f"{100 * share:.0f} %"


def _share(finance: ScaledFinance) -> str:
    revenue = finance.annual_revenue
    if revenue <= 0:
        return "n/a"
    return _percent(1 - finance.annual_cost_of_goods / revenue)
