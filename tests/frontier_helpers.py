"""A synthetic frontier results folder, as ``servicesim frontier`` writes it (DOMAIN §12):
``frontier.json``, ``frontier.csv``, ``targets.csv``, ``manifest.json`` and ``scenario.yaml``.

The figures are plausible, not simulated: SKUs of lognormal velocity and unit cost, a
concave increasing frontier with today's allocation inside it, the recommendation on it.
"""

from __future__ import annotations

import csv
import json
import math
import shutil
from pathlib import Path
from statistics import NormalDist
from typing import Any

import numpy as np

from servicesim.kpis import SUMMARY_KEYS

ROOT = Path(__file__).resolve().parents[1]
TARGETS = [round(0.80 + 0.01 * i, 2) for i in range(20)]


def _z(target: float) -> float:
    return NormalDist().inv_cdf(target)


def _items(n: int, rng: np.random.Generator, by_class: bool) -> list[dict[str, Any]]:
    """One row of targets.csv per SKU (or per ABC class)."""
    units = rng.lognormal(7.0, 1.4, n)
    cost = rng.lognormal(3.0, 1.2, n)
    revenue = units * cost
    order = np.argsort(-revenue)
    share = np.cumsum(revenue[order]) / revenue.sum()
    abc = np.empty(n, dtype=object)
    abc[order] = np.where(share <= 0.8, "A", np.where(share <= 0.95, "B", "C"))
    today = rng.choice([0.9, 0.95, 0.98], n)
    score = np.log(units) - np.log(cost)  # fast and cheap buys service cheaply
    rank = (score - score.min()) / max(np.ptp(score), 1e-9)
    recommended = np.clip(np.round(0.82 + 0.17 * rank + rng.normal(0, 0.01, n), 2), 0.8, 0.99)
    rows = []
    for i in range(n):
        sigma = math.sqrt(units[i] / 12) * 2.0
        cycle = cost[i] * units[i] / 24
        value = {t: cycle + cost[i] * max(_z(t), 0.0) * sigma for t in (today[i], recommended[i])}
        change = value[recommended[i]] - value[today[i]]
        move = "up" if recommended[i] > today[i] else "down" if recommended[i] < today[i] \
            else "same"
        rows.append({
            "sku": f"SKU{i + 1:04d}", "abc_class": abc[i],
            "units_per_year": round(float(units[i]), 1), "unit_cost": round(float(cost[i]), 2),
            "today_target": float(today[i]), "today_fill_rate": float(today[i]) - 0.004,
            "today_fill_rate_ci_low": float(today[i]) - 0.012,
            "today_fill_rate_ci_high": min(float(today[i]) + 0.004, 1.0),
            "recommended_target": float(recommended[i]),
            "recommended_fill_rate": float(recommended[i]) - 0.003,
            "recommended_fill_rate_ci_low": float(recommended[i]) - 0.011,
            "recommended_fill_rate_ci_high": min(float(recommended[i]) + 0.005, 1.0),
            "today_inventory_value": value[today[i]],
            "recommended_inventory_value": value[recommended[i]],
            "inventory_value_change": change,
            "inventory_value_change_ci_low": change - 0.05 * abs(change) - 5,
            "inventory_value_change_ci_high": change + 0.05 * abs(change) + 5,
            "move": move})
    if by_class:
        return _by_class(rows)
    return rows


def _by_class(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per ABC class: demand-weighted targets and fill rates, summed money."""
    out = []
    for label in ("A", "B", "C"):
        group = [r for r in rows if r["abc_class"] == label]
        weight = sum(r["units_per_year"] for r in group)

        def mean(key: str, group: list[dict[str, Any]] = group, weight: float = weight
                 ) -> float:
            return sum(r[key] * r["units_per_year"] for r in group) / weight

        row = {"class": label, "abc_class": label, "units_per_year": weight,
               "unit_cost": mean("unit_cost")}
        for key in ("today_target", "recommended_target"):
            row[key] = round(mean(key), 2)
        for key in [k for k in rows[0] if "fill_rate" in k]:
            row[key] = mean(key)
        for key in [k for k in rows[0] if "inventory_value" in k]:
            row[key] = sum(r[key] for r in group)
        row["move"] = ("up" if row["recommended_target"] > row["today_target"] else "down"
                       if row["recommended_target"] < row["today_target"] else "same")
        out.append(row)
    return out


def _fill(investment: float, today_value: float) -> float:
    """The frontier's demand-weighted fill rate at an investment: concave, increasing;
    at today's investment 2.1 points above today's fill of 94.2 %."""
    return 1 - 0.037 * math.exp(-3.0 * (investment - today_value) / today_value)


def _point(value: float, fill: float, roi: float, spread: float = 1.0) -> dict[str, Any]:
    return {"avg_inventory_value": {"mean": value, "ci_low": value * (1 - 0.01 * spread),
                                    "ci_high": value * (1 + 0.01 * spread)},
            "item_fill_rate": {"mean": fill, "ci_low": fill - 0.002 * spread,
                               "ci_high": min(fill + 0.002 * spread, 1.0)},
            "roi": {"mean": roi, "ci_low": roi - 0.004 * spread,
                    "ci_high": roi + 0.004 * spread}}


def _roi(value: float, today_value: float) -> float:
    """ROI along the frontier: highest a little below today's investment."""
    x = value / today_value
    return 0.26 - 0.25 * (x - 0.9) ** 2


def _difference(mean: float, width: float, p: float) -> dict[str, float]:
    return {"mean": mean, "ci_low": mean - width, "ci_high": mean + width, "p": p}


def write_frontier_folder(directory: Path, items: int = 40, *, by_class: bool = False,
                          budget: bool = False, locations: bool = False,
                          seed: int = 3) -> Path:
    """A complete synthetic frontier folder in ``directory`` (created); its path."""
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    rows = _items(items, rng, by_class)
    if locations and not by_class:
        for i, row in enumerate(rows):
            row["location"] = ("north", "south")[i % 2]
        rows = [{k: r[k] for k in ["sku", "location", *[c for c in r if c not in
                                                          ("sku", "location")]]}
                for r in rows]
    today_value = sum(r["today_inventory_value"] for r in rows)
    today_fill = 0.942
    frontier = []
    for i, x in enumerate(np.linspace(0.55, 1.45, 25)):
        value = float(x) * today_value
        fill = _fill(value, today_value)
        frontier.append({"point": i, "avg_inventory_value": value, "item_fill_rate": fill,
                         "item_fill_rate_ci_low": fill - 0.003,
                         "item_fill_rate_ci_high": min(fill + 0.003, 1.0),
                         "roi": _roi(value, today_value),
                         "mean_target": 0.85 + 0.13 * i / 24})
    # the frontier's investment at today's fill, and its fill at today's investment
    same_fill = today_value * (1 - math.log((1 - today_fill) / 0.037) / 3.0)
    same_investment = _fill(today_value, today_value)
    recommended_value = 0.9 * today_value
    recommended_fill = _fill(recommended_value, today_value)
    common_value = 1.04 * today_value
    common_fill = 0.947
    limit = 1.005 * recommended_value if budget else None
    document = {
        "kind": "frontier", "scenario": "baseline", "currency": "EUR", "objective": "roi",
        "maximise": "item_fill_rate" if budget else "roi", "budget": limit,
        "by": "class" if by_class else "sku", "service_metric": "fill_rate",
        "targets": TARGETS, "replications": 10, "confirm_replications": 20, "seed": 7,
        "items": len(rows), "simulations": 320, "naive_simulations": 200 * len(rows),
        "today": _point(today_value, today_fill, 0.241),
        "recommended": {**_point(recommended_value, recommended_fill, 0.26),
                        "label": "recommended"},
        "best_common": {"target": 0.95, **_point(common_value, common_fill, 0.248)},
        "confirmed": [
            {"label": "today", "kind": "today", **_point(today_value, today_fill, 0.241),
             "difference_vs_today": _difference(0.0, 0.0, 1.0),
             "best": False, "not_worse": False},
            {"label": "common 0.95", "kind": "common",
             **_point(common_value, common_fill, 0.248),
             "difference_vs_today": _difference(0.007, 0.003, 0.001),
             "best": False, "not_worse": False},
            {"label": "recommended", "kind": "frontier",
             **_point(recommended_value, recommended_fill, 0.26),
             "difference_vs_today": _difference(0.019, 0.004, 0.0001),
             "best": True, "not_worse": True},
            {"label": "frontier 14", "kind": "frontier",
             **_point(1.0 * today_value, same_investment, 0.2575),
             "difference_vs_today": _difference(0.0165, 0.005, 0.0002),
             "best": False, "not_worse": True},
        ],
        "you_are_here": {"same_fill_investment": same_fill, "saving": today_value - same_fill,
                         "same_investment_fill": same_investment,
                         "fill_gain": same_investment - today_fill},
        "moves": {m: sum(1 for r in rows if r["move"] == m) for m in ("up", "down", "same")},
        "decision": (f"Moving {sum(r['move'] == 'up' for r in rows)} SKUs up and "
                     f"{sum(r['move'] == 'down' for r in rows)} down raises ROI from 24.1 % "
                     f"to 26.0 % with {_money(today_value - recommended_value)} EUR less "
                     "inventory."),
        "method": ("Each SKU's fill rate and inventory were simulated at every candidate "
                   "target under common random numbers; marginal analysis then raised, one "
                   "step at a time, the SKU with the best gain in fill per euro of added "
                   "inventory, which traces the frontier; the recommended allocation and "
                   "today's were then simulated together on fresh seeds."),
    }
    _write_json(directory / "frontier.json", document)
    _write_json(directory / "manifest.json", {"kind": "frontier", "status": "complete"})
    _write_csv(directory / "frontier.csv", frontier)
    _write_csv(directory / "targets.csv", rows)
    _write_csv(directory / "runs.csv", _runs(document))
    shutil.copyfile(ROOT / "scenarios" / "baseline.yaml", directory / "scenario.yaml")
    return directory


def _runs(document: dict[str, Any]) -> list[dict[str, Any]]:
    """Three confirming replications of each confirmed allocation (every figure 0 but the
    three the charts show)."""
    rows = []
    for alternative, point in enumerate(document["confirmed"]):
        for replication in range(3):
            row = {"alternative": alternative, "allocation": point["label"],
                   "phase": "confirm", "replication": replication, "seed": document["seed"]}
            row.update(dict.fromkeys(SUMMARY_KEYS, 0.0))
            row.update({k: point[k]["mean"] for k in ("avg_inventory_value",
                                                      "item_fill_rate", "roi")})
            rows.append(row)
    return rows


def _money(value: float) -> str:
    return f"{value / 1e6:.1f} M" if value >= 1e6 else f"{value / 1e3:,.0f} k"


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=1), encoding="utf-8")


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
