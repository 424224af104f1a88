"""What a frontier run found, in rows and words: the confirmed alternatives, the targets
per item, the frontier's points, the decision (DOMAIN §12)."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..files import csv_text, jsonable
from ..scenario.schema import Scenario
from .allocation import Path as FrontierPath
from .allocation import where_today_sits
from .frontier_curves import Curves, Prediction
from .frontier_items import Item
from .frontier_runs import FIGURE_INDEX as _F
from .frontier_runs import FILL, INVESTMENT, Runner
from .statistics import figure_interval, paired_comparison
from .store import ResultsFolder
from .today import difference_text, figure_text, money, not_worse_ids

MANIFEST = "manifest.json"
FRONTIER_FILE, TARGETS_FILE, SUMMARY_FILE = "frontier.csv", "targets.csv", "frontier.json"
MAX_FRONTIER_ROWS = 200
ALPHA = 0.05


@dataclass(frozen=True)
class Settings:
    """What decides a frontier run's rows (its identity) and how it runs."""

    objective: str
    budget: float | None
    maximise: str
    by: str
    targets: tuple[float, ...]
    replications: int
    confirm_replications: int
    seed: int

    def identity(self, scenario: Scenario) -> dict[str, Any]:
        return {"kind": "frontier", "scenario": json.loads(scenario.model_dump_json()),
                "objective": self.objective, "budget": self.budget,
                "maximise": self.maximise, "by": self.by, "targets": list(self.targets),
                "replications": self.replications,
                "confirm_replications": self.confirm_replications, "seed": self.seed}


def named_seed(seed: int, name: str) -> int:
    """The root seed of one phase of the search, named from the run's seed (``refine``,
    ``confirm``): fresh random numbers for each phase, so that the luck of the runs that
    chose an allocation does not flatter it where it is judged."""
    digest = hashlib.sha256(f"{seed}/{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


@dataclass
class Candidate:
    """An allocation simulated whole: its label, kind (``today``, ``common``,
    ``frontier``), alternative number, targets (None: today's) and frontier point."""

    label: str
    kind: str
    number: int
    values: dict[str, float] | None
    point: int | None = None


@dataclass(frozen=True)
class FrontierResult:
    """A finished frontier run: the recommended targets, the frontier, the confirmed
    alternatives and where the files are (DOMAIN §12)."""

    directory: Path | None
    summary: dict[str, Any]
    """What ``frontier.json`` holds (see the docs' results page)."""
    targets: list[dict[str, Any]]
    """One row per item, as ``targets.csv``."""
    frontier: list[dict[str, Any]]
    """One row per frontier point, as ``frontier.csv``."""
    recommended: dict[str, float]
    """Item → its recommended target."""
    simulations: int

    @property
    def decision(self) -> str:
        return str(self.summary["decision"])


def _interval(key: str, values: np.ndarray) -> dict[str, float]:
    ci = figure_interval(key, values.tolist())
    return {"mean": ci["mean"], "ci_low": ci["ci_low"], "ci_high": ci["ci_high"]}


def _figures(runner: Runner, number: int, reps: int, objective: str) -> dict[str, Any]:
    return {key: _interval(key, runner.measured.figure(number, reps, key))
            for key in dict.fromkeys((INVESTMENT, FILL, objective))}


def _per_item(runner: Runner, items: Sequence[Item], number: int, reps: int
              ) -> dict[str, np.ndarray]:
    """Every item's :data:`ITEM_FIGURES` over the replications of an alternative:
    item → array (figures, reps)."""
    index = {p: k for k, p in enumerate(runner.measured.points)}
    stacked = runner.measured.stack(number, reps)
    return {i.name: stacked[[index[p] for p in i.points]].sum(axis=0) for i in items}


def _fill(figures: np.ndarray) -> np.ndarray:
    ordered = figures[_F["units_ordered"]]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(ordered > 0, figures[_F["units_first"]] / ordered, np.nan)


def _confirmed_rows(runner: Runner, candidates: Sequence[Candidate], settings: Settings
                    ) -> tuple[list[dict[str, Any]], Candidate]:
    """The confirmed alternatives with their figures, differences to today, the best and
    the not-worse set; and the recommendation: the best confirmed point of the frontier."""
    reps, figure = settings.confirm_replications, settings.maximise
    series = {c.number: runner.measured.figure(c.number, reps, figure) for c in candidates}
    best = max(candidates, key=lambda c: float(series[c.number].mean()))
    kept = not_worse_ids(series, best.number, ALPHA)
    today = series[candidates[0].number]
    rows = []
    for c in candidates:
        diff = paired_comparison(series[c.number], today, alternative="two-sided")
        rows.append({"label": c.label, "kind": c.kind,
                     **_figures(runner, c.number, reps, settings.objective),
                     **({} if figure == settings.objective else
                        {figure: _interval(figure, series[c.number])}),
                     "difference_vs_today": {"figure": figure, "mean": diff["diff"],
                                             "ci_low": diff["diff_ci_low"],
                                             "ci_high": diff["diff_ci_high"],
                                             "p": diff["p_value"]},
                     "best": c is best, "not_worse": c.number in kept})
    on_frontier = [c for c in candidates if c.kind == "frontier"]
    chosen = max(on_frontier, key=lambda c: float(series[c.number].mean()))
    return rows, chosen


def _target_rows(runner: Runner, items: Sequence[Item], settings: Settings,
                 today: Candidate, chosen: Candidate, years: float, network: bool
                 ) -> list[dict[str, Any]]:
    reps = settings.confirm_replications
    before = _per_item(runner, items, today.number, reps)
    after = _per_item(runner, items, chosen.number, reps)
    rows = []
    for item in items:
        b, a = before[item.name], after[item.name]
        fill_b, fill_a = _interval(FILL, _fill(b)), _interval(FILL, _fill(a))
        change = _interval(INVESTMENT, a[_F[INVESTMENT]] - b[_F[INVESTMENT]])
        target = (chosen.values or {}).get(item.name)
        was = item.today_target
        move = "same" if target is None or was is None or abs(target - was) < 1e-9 else (
            "up" if target > was else "down")
        rows.append({
            ("class" if settings.by == "class" else "sku"): item.name if not network
            else item.skus[0] if settings.by == "sku" else item.name,
            **({"location": item.location} if network and settings.by == "sku" else {}),
            "abc_class": item.abc_class,
            "units_per_year": float(b[_F["units_ordered"]].mean()) / years,
            "unit_cost": item.unit_cost, "today_target": was,
            "today_fill_rate": fill_b["mean"], "today_fill_rate_ci_low": fill_b["ci_low"],
            "today_fill_rate_ci_high": fill_b["ci_high"], "recommended_target": target,
            "recommended_fill_rate": fill_a["mean"],
            "recommended_fill_rate_ci_low": fill_a["ci_low"],
            "recommended_fill_rate_ci_high": fill_a["ci_high"],
            "today_inventory_value": float(b[_F[INVESTMENT]].mean()),
            "recommended_inventory_value": float(a[_F[INVESTMENT]].mean()),
            "inventory_value_change": change["mean"],
            "inventory_value_change_ci_low": change["ci_low"],
            "inventory_value_change_ci_high": change["ci_high"], "move": move})
    return rows


def _frontier_rows(curves: Curves, path: FrontierPath, prediction: Prediction,
                   settings: Settings) -> list[dict[str, Any]]:
    """The fill-rate frontier's points (at most :data:`MAX_FRONTIER_ROWS`, evenly spread in
    investment, the first and last kept), each with its fill rate's CI over the search's
    replications and the objective predicted there."""
    first = path.totals({i: curves.data[i][_F["units_first"]] for i in curves.items})
    ordered = path.totals({i: curves.data[i][_F["units_ordered"]] for i in curves.items})
    fill = first / ordered
    objective = prediction.along(settings.objective, curves, path)
    targeted = path.totals({i: curves.data[i][_F["units_ordered"]].mean(axis=-1)
                            * np.asarray(curves.values[i]) for i in curves.items})
    mean_target = targeted / ordered.mean(axis=-1)
    keep = _spread(path.investment, MAX_FRONTIER_ROWS)
    rows = []
    for n, k in enumerate(keep):
        ci = _interval(FILL, fill[k])
        rows.append({"point": n, INVESTMENT: float(path.investment[k] + curves.other_inventory),
                     FILL: ci["mean"],
                     f"{FILL}_ci_low": ci["ci_low"], f"{FILL}_ci_high": ci["ci_high"],
                     settings.objective: float(objective[k]),
                     "mean_target": float(mean_target[k])})
    return rows


def _spread(xs: np.ndarray, n: int) -> list[int]:
    if len(xs) <= n:
        return list(range(len(xs)))
    goals = np.linspace(xs[0], xs[-1], n)
    picked = sorted({int(np.searchsorted(xs, g)) for g in goals} | {0, len(xs) - 1})
    return [min(k, len(xs) - 1) for k in picked]


def build_result(scenario: Scenario, items: Sequence[Item], settings: Settings, runner: Runner,
            curves: Curves, fill_path: FrontierPath, prediction: Prediction,
            candidates: Sequence[Candidate], searched: Sequence[Candidate]
            ) -> FrontierResult:
    years = prediction.years
    confirmed, chosen = _confirmed_rows(runner, candidates, settings)
    today = candidates[0]
    network = scenario.locations is not None
    targets = _target_rows(runner, items, settings, today, chosen, years, network)
    frontier_rows = _frontier_rows(curves, fill_path, prediction, settings)
    today_row = confirmed[0]  # today's policies as confirmed: the most replications
    today_inv, today_fill = today_row[INVESTMENT]["mean"], today_row[FILL]["mean"]
    need, reach = where_today_sits([r[INVESTMENT] for r in frontier_rows],
                                   [r[FILL] for r in frontier_rows], today_inv, today_fill)
    objective = settings.objective
    xs = [r[INVESTMENT] for r in frontier_rows]
    there = [float(np.interp(x, xs, [r[objective] for r in frontier_rows]))
             if math.isfinite(x) else math.nan for x in (need, today_inv)]
    moves = {m: sum(1 for r in targets if r["move"] == m) for m in ("up", "down", "same")}
    by_label = {row["label"]: row for row in confirmed}
    common = next(row for row in confirmed if row["kind"] == "common")
    summary = {
        "kind": "frontier", "scenario": scenario.name, "network": network,
        "currency": scenario.finance.currency, "objective": settings.objective,
        "maximise": settings.maximise, "budget": settings.budget, "by": settings.by,
        "service_metric": scenario.policy.service_metric, "targets": list(settings.targets),
        "replications": settings.replications,
        "confirm_replications": settings.confirm_replications, "seed": settings.seed,
        "refine_seed": named_seed(settings.seed, "refine"),
        "confirm_seed": named_seed(settings.seed, "confirm"), "items": len(items),
        "simulations": len(runner.measured.runs),
        "naive_simulations": len(settings.targets) * len(items) * settings.replications,
        "today": _strip(by_label["today"]),
        "recommended": {**_strip(by_label[chosen.label]), "label": chosen.label},
        "best_common": {**_strip(common),
                        "target": float(common["label"].split()[-2]) / 100},
        "confirmed": confirmed,
        "along_frontier": [{"label": c.label, **_figures(runner, c.number,
                                                          settings.confirm_replications,
                                                          settings.objective)}
                           for c in searched],
        "you_are_here": {"today_investment": today_inv, "today_fill_rate": today_fill,
                         "same_fill_investment": need, "saving": today_inv - need,
                         "same_investment_fill": reach, "fill_gain": reach - today_fill,
                         # the unit-weighted fill rate can favour cheap SKUs that earn
                         # little: the objective predicted at both points says so
                         "objective_at_same_fill": there[0],
                         "objective_at_same_investment": there[1]},
        "moves": moves,
        "prediction": {"profit_before_holding_in_margin_short": list(prediction.profit_fit),
                       "capital_beyond_inventory_in_margin_short":
                           list(prediction.capital_fit)},
    }
    summary["decision"] = decision_text(summary)
    summary["method"] = method_text(summary)
    return FrontierResult(runner.directory, summary, targets, frontier_rows,
                          {r.get("sku") or r.get("class"): r["recommended_target"]
                           for r in targets}, runner.simulations)


def _strip(row: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items()
            if k in (INVESTMENT, FILL, "roi", "operating_profit", "economic_profit")}


def decision_text(summary: Mapping[str, Any]) -> str:
    """The plain-language decision: how many items move, what it does to the figure
    maximised and to inventory, measured on the confirmation runs (DOMAIN §12)."""
    figure, currency = summary["maximise"], summary["currency"]
    noun = {"sku": "SKUs", "class": "classes"}[summary["by"]] if not summary.get("network") \
        else "SKU–location pairs"
    today, rec = summary["today"], summary["recommended"]
    row = next(r for r in summary["confirmed"] if r["label"] == rec["label"])
    diff = row["difference_vs_today"]
    moves = summary["moves"]
    inventory = rec[INVESTMENT]["mean"] - today[INVESTMENT]["mean"]
    more = "more" if inventory > 0 else "less"
    what = {"roi": "ROI", "operating_profit": "operating profit",
            "economic_profit": "economic profit", FILL: "the fill rate"}[figure]
    change = "raises" if diff["mean"] > 0 else "lowers"
    text = (f"Moving {moves['up']:,} {noun} up and {moves['down']:,} down {change} {what} "
            f"from {figure_text(figure, today[figure]['mean'], currency)} to "
            f"{figure_text(figure, rec[figure]['mean'], currency)} with "
            f"{money(abs(inventory), currency)} {more} inventory")
    if summary["budget"] is not None:
        spent, budget = rec[INVESTMENT]["mean"], summary["budget"]
        text += f", within the budget of {money(budget, currency)}" if spent <= budget else (
            f"; the budget is {money(budget, currency)} and the confirmation runs hold "
            f"{money(spent, currency)} of inventory, {money(spent - budget, currency)} above "
            "it (the search's runs kept within it)")
    significant = diff["p"] is not None and diff["p"] < ALPHA
    text += (f" (difference {difference_text(figure, diff['mean'], currency)}, 95 % CI "
             f"{difference_text(figure, diff['ci_low'], currency)} to "
             f"{difference_text(figure, diff['ci_high'], currency)}"
             + ("" if significant else "; not significant") + ").")
    common = summary["best_common"]
    best_common = next(r for r in summary["confirmed"] if r["kind"] == "common")
    text += (f" The best single target for all, {100 * common['target']:g} %, reaches "
             f"{figure_text(figure, common[figure]['mean'], currency)}")
    if best_common["best"]:
        text += ", the best of all confirmed: per-SKU targets did not beat it."
    elif best_common["not_worse"]:
        text += ", not significantly below."
    else:
        text += ", significantly below."
    return text


def method_text(summary: Mapping[str, Any]) -> str:
    """How the answer was found, in plain words, with the simulations it took."""
    item = "SKU" if summary["by"] == "sku" else "class"
    return (
        f"Each of {len(summary['targets'])} candidate targets was simulated for every {item} "
        f"at once ({summary['replications']} replications, common random numbers), giving "
        f"every {item}'s units filled, inventory, margin and holding cost at each target. "
        "Marginal analysis on the concave envelopes of these curves traced the efficient "
        "frontier (the most units filled at once for each inventory investment) and an "
        "allocation of best predicted objective, in which what shortage costs beyond the "
        "lost margin (backorder and recovery costs, customers who defect, receivables) was "
        "fitted over the common-target runs. That allocation and points spread along the "
        "frontier were then simulated whole, which measures how SKUs couple through "
        f"customers who defect ({summary['confirm_replications']} replications each, seeds "
        "of their own), narrowing in on the best twice. Today's policies, the best common "
        "target and the best allocation found were confirmed on fresh seeds. "
        f"{summary['simulations']:,} simulations in all, against "
        f"{summary['naive_simulations']:,} for a per-{item} grid at the same resolution.")


def write_outputs(directory: Path | None, scenario: Scenario, result: FrontierResult) -> None:
    """``targets.csv``, ``frontier.csv`` and ``frontier.json`` (nothing without a folder)."""
    if directory is None:
        return
    folder = ResultsFolder(directory, MANIFEST)
    folder.write_text(TARGETS_FILE, csv_text(result.targets, list(result.targets[0])))
    folder.write_text(FRONTIER_FILE, csv_text(result.frontier, list(result.frontier[0])))

    folder.write_text(SUMMARY_FILE, json.dumps(jsonable(result.summary), indent=1,
                                               ensure_ascii=False, allow_nan=False) + "\n")
