"""How the optimum moves when the uncertain behavioural inputs move (DOMAIN §2, §4, §6).

``sensitivity(scenario, around=0.991)`` varies one behavioural input at a time, low and
high, every segment together and the others at their scenario values:

- ``defection``: every segment's ``defect_increase_per_stockout`` × factor (default ×0.5
  and ×2): how fast repeated stockouts drive customers away (DOMAIN §2);
- ``reaction_mix``: every segment's ``reactions.defect`` × factor (×0.5, ×2), the difference
  taken from or given to ``switch`` (from the other reactions in proportion when ``switch``
  has too little), so the mix still sums to 1 (DOMAIN §2);
- ``acquisition``: every segment's ``acquisition.customers_per_year`` × factor (×0.5, ×1.5):
  how fast lost customers are replaced (DOMAIN §4).

Every variant is a set of scenario overrides validated like any scenario.  Each variant
(and the base) is simulated at the same grid of targets for the same replications:
replication *r* of every variant and target uses child *r* of ``SeedSequence(seed)``
(common random numbers, DOMAIN §6), so the base's rows are those of a plain sweep.  Per
variant: the optimum (the target of highest mean objective), the targets not significantly
below it (one-sided paired t-tests against it, Holm-corrected, as the optimiser does), the
objective there with its 95 % CI, and its paired change against the base's optimum.

Files (in ``out_dir/<scenario>/sensitivity-<hash>/``, or a given folder such as an
optimisation's): ``sensitivity.csv`` (one row per variant × target × replication, every
figure), ``sensitivity.json`` (the answer, written when complete) and
``sensitivity-manifest.json`` (what was run, its status).  Rows of an earlier run of the same
identity are reused (an interrupted run resumes); a folder holding another sensitivity run
is refused unless ``overwrite``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import numbers
import signal
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .._version import VERSION
from ..errors import NOT_SET, Problem, ScenarioError
from ..files import OutputError, jsonable, safe_folder_name
from ..kpis import SUMMARY_KEYS
from ..scenario.schema import Scenario
from ..scenario.serialise import dump_scenario
from ..text import aligned_lines
from .engine import Task, execute, make_tasks, parse_param
from .executors import ignoring_interrupts, signal_number
from .params import apply_params
from .statistics import confidence_interval, holm, paired_comparison
from .store import (
    COMPLETE,
    FAILED,
    INTERRUPTED,
    RUNNING,
    SCENARIO_FILE,
    ResultsFolder,
    RunsFile,
    check_run_id,
    content_id,
    figure_columns,
    read_table,
)
from .sweep import progress_bar

__all__ = [
    "DEFAULT_FACTORS",
    "INPUTS",
    "SENSITIVITY_FILE",
    "SENSITIVITY_JSON",
    "SensitivityError",
    "SensitivityInterrupted",
    "SensitivityResult",
    "Variant",
    "default_targets",
    "target_grid",
    "parse_factor",
    "sensitivity",
    "variants",
]

SENSITIVITY_FILE, SENSITIVITY_JSON = "sensitivity.csv", "sensitivity.json"
MANIFEST_FILE = "sensitivity-manifest.json"
DEFAULT_REPLICATIONS = 10
"""Replications of every variant at every target (common to all: paired comparisons)."""
SHORTFALL_MULTIPLES = (4.0, 2.5, 1.6, 1.0, 0.63, 0.4, 0.25)
"""The default grid around an optimum target x: 1 − m·(1 − x) for each m, i.e. shortfalls
on a geometric scale (each step about 1.6 times the stockout share of the next)."""
DEFAULT_STEP = 0.001
"""The resolution targets are rounded to (the optimiser's default on 0.80–0.999)."""

INPUTS: dict[str, str] = {
    "defection": "Defection increase per stockout",
    "reaction_mix": "Defect share of stockout reactions",
    "acquisition": "Acquisition of new customers",
}
"""The inputs varied: id → plain name (charts and sentences)."""
DEFAULT_FACTORS: dict[str, tuple[float, float]] = {
    "defection": (0.5, 2.0), "reaction_mix": (0.5, 2.0), "acquisition": (0.5, 1.5)}
"""Low and high factor of each input."""
LOW_RANGE, HIGH_RANGE = (0.0, 1.0), (1.0, 10.0)
"""A low factor lies in [0, 1), a high factor in (1, 10]."""


class SensitivityError(OutputError):
    """A sensitivity folder cannot be used as asked (it holds another run); the message
    says what to do."""


class SensitivityInterrupted(KeyboardInterrupt):
    """Stopped by Ctrl-C (or SIGTERM) after saving the finished rows; running the same
    sensitivity again continues it.  ``signum`` is the signal."""

    def __init__(self, directory: Path, done: int, total: int,
                 signum: int = int(signal.SIGINT)) -> None:
        super().__init__(f"sensitivity interrupted: {done} of {total} runs kept in {directory}")
        self.directory, self.done, self.total, self.signum = directory, done, total, signum


# ------------------------------------------------------------------------------ inputs


def parse_factor(text: str, option: str = "--factor") -> tuple[str, tuple[float, float]]:
    """``input=LOW,HIGH`` (e.g. ``defection=0.5,2``) → ``(input, (low, high))``; a
    :class:`ScenarioError` naming the option, the input and the allowed values if bad."""
    name, sep, spec = text.partition("=")
    name = name.strip()
    allowed = (f"LOW in [{LOW_RANGE[0]:g}, {LOW_RANGE[1]:g}) and HIGH in "
               f"({HIGH_RANGE[0]:g}, {HIGH_RANGE[1]:g}], e.g. defection=0.5,2")

    def bad(message: str) -> ScenarioError:
        return ScenarioError([Problem(option, name, spec.strip() or NOT_SET, message, None,
                                      f"{option} {text}")])

    if not sep or name not in INPUTS:
        raise bad(f"expects INPUT=LOW,HIGH with INPUT one of {', '.join(INPUTS)}")
    parts = [p.strip() for p in spec.split(",")]
    try:
        low, high = (float(p) for p in parts) if len(parts) == 2 else (math.nan, math.nan)
    except ValueError:
        low = high = math.nan
    if not (LOW_RANGE[0] <= low < LOW_RANGE[1] and HIGH_RANGE[0] < high <= HIGH_RANGE[1]):
        raise bad(f"the factors must be two numbers LOW,HIGH with {allowed}")
    return name, (low, high)


def _round(value: float) -> float:
    return round(value, 12)


def _reaction_overrides(scenario: Scenario, factor: float, option: str) -> dict[str, Any]:
    """``defect`` × factor in every segment; the difference to/from ``switch`` first, then
    from ``wait`` and ``backorder`` in proportion; a ScenarioError where it cannot be."""
    out: dict[str, Any] = {}
    problems = []
    for name, segment in scenario.segments.items():
        mix = segment.reactions
        defect = mix.defect * factor
        extra = defect - mix.defect
        switch = mix.switch - extra
        wait, backorder = mix.wait, mix.backorder
        if switch < 0:  # switch cannot give it all: the rest from wait and backorder
            rest, switch = -switch, 0.0
            others = wait + backorder
            if others < rest - 1e-12:
                problems.append(Problem(
                    option, f"segments.{name}.reactions.defect", mix.defect,
                    f"× {factor:g} gives {defect:g}, more than the segment's reaction mix "
                    "can hold (the shares must sum to 1); choose a smaller factor"))
                continue
            wait, backorder = (wait - rest * wait / others, backorder - rest * backorder / others)
        prefix = f"segments.{name}.reactions."
        out.update({prefix + "wait": _round(max(wait, 0.0)),
                    prefix + "backorder": _round(max(backorder, 0.0)),
                    prefix + "switch": _round(max(switch, 0.0)), prefix + "defect": _round(defect)})
    if problems:
        raise ScenarioError(problems)
    return out


def input_overrides(scenario: Scenario, name: str, factor: float,
                    option: str = "--factor") -> dict[str, Any]:
    """The dotted keys and values of input ``name`` at ``factor`` (every segment)."""
    segments = scenario.segments
    if name == "defection":
        return {f"segments.{s}.defect_increase_per_stockout":
                _round(seg.defect_increase_per_stockout * factor) for s, seg in segments.items()}
    if name == "acquisition":
        return {f"segments.{s}.acquisition.customers_per_year":
                _round(seg.acquisition.customers_per_year * factor)
                for s, seg in segments.items()}
    if name == "reaction_mix":
        return _reaction_overrides(scenario, factor, option)
    raise ValueError(f"unknown input {name!r}; one of {', '.join(INPUTS)}")


@dataclass(frozen=True)
class Variant:
    """The base scenario or one input at one factor: its overrides and validated scenario."""

    name: str
    """``base`` or ``<input> x<factor>``, e.g. ``defection x2``."""
    input: str | None
    side: str | None
    """``low`` or ``high`` (None for the base)."""
    factor: float
    overrides: dict[str, Any]
    scenario: Scenario = field(repr=False)


def variants(scenario: Scenario, factors: Mapping[str, tuple[float, float]] | None = None,
             option: str = "--factor") -> tuple[list[Variant], list[dict[str, str]]]:
    """The base and, per input, its low and high variant, validated (all problems at once);
    and the inputs skipped because no segment has anything to vary (e.g. no acquisition)."""
    chosen = {**DEFAULT_FACTORS, **(factors or {})}
    out = [Variant("base", None, None, 1.0, {}, scenario)]
    skipped: list[dict[str, str]] = []
    problems: list[Problem] = []
    for name, pair in chosen.items():
        if name not in INPUTS:
            raise ScenarioError([Problem(option, name, NOT_SET,
                                         f"unknown input; one of {', '.join(INPUTS)}")])
        made = []
        for side, factor in zip(("low", "high"), pair, strict=True):
            try:
                overrides = input_overrides(scenario, name, factor, option)
                if _changes_nothing(scenario, overrides):
                    break
                made.append(Variant(f"{name} x{factor:g}", name, side, float(factor),
                                    overrides, apply_params(scenario, overrides, option)))
            except ScenarioError as exc:
                problems.extend(exc.problems)
        if len(made) == 2:
            out.extend(made)
        elif not problems:
            skipped.append({"input": name, "name": INPUTS[name],
                            "reason": "every segment has 0, so a factor changes nothing"})
    if problems:
        raise ScenarioError(problems)
    return out, skipped


def _changes_nothing(scenario: Scenario, overrides: Mapping[str, Any]) -> bool:
    document = scenario.model_dump(mode="json")
    for key, value in overrides.items():
        node: Any = document
        for part in key.split("."):
            node = node[part]
        if node != value:
            return False
    return True


# ------------------------------------------------------------------------------ targets


def default_targets(around: float, step: float = DEFAULT_STEP) -> list[float]:
    """Targets around an optimum ``around`` in (0, 1): ``1 − m·(1 − around)`` for each of
    :data:`SHORTFALL_MULTIPLES`, rounded to ``step`` and kept inside ``[step, 1 − step]``."""
    if not (isinstance(around, numbers.Real) and 0 < around < 1):
        raise ScenarioError([Problem("--around", "", around, "the default grid of targets is "
                                     "built around a value strictly between 0 and 1; for "
                                     "another key give --bounds LOW HIGH and --step")])
    decimals = max(0, -math.floor(math.log10(step)) + 1)
    values = set()
    for multiple in SHORTFALL_MULTIPLES:
        x = round(round((1 - multiple * (1 - around)) / step) * step, decimals)
        values.add(min(max(x, step), round(1 - step, decimals)))
    return sorted(values)


def target_grid(key: str, around: float | None, bounds: tuple[float, float] | None,
             step: float | None) -> list[Any]:
    """The targets of ``key`` simulated: ``bounds`` (LOW, HIGH) in steps of ``step``, or
    :func:`default_targets` around ``around``."""
    if step is not None and not (math.isfinite(step) and step > 0):
        raise ScenarioError([Problem("--step", key, step, "the step must be a number > 0")])
    if bounds is not None:
        low, high = bounds
        values = parse_param(f"{key}={low}:{high}:{step or DEFAULT_STEP}", "--bounds").values
        if len(values) < 2:
            raise ScenarioError([Problem("--bounds", key, f"{low} {high}",
                                         "the grid needs at least two targets")])
        return list(values)
    if around is None:
        raise ScenarioError([Problem("--around", key, NOT_SET, "give the optimum to vary "
                                     "around (--around X) or a grid (--bounds LOW HIGH)")])
    return default_targets(float(around), step or DEFAULT_STEP)


# ------------------------------------------------------------------------------ the plan


@dataclass(frozen=True)
class _Plan:
    scenario: Scenario = field(repr=False)
    param: str
    targets: tuple[Any, ...]
    variants: tuple[Variant, ...] = field(repr=False)
    skipped: tuple[dict[str, str], ...]
    replications: int
    seed: int
    objective: str
    alpha: float
    folder: ResultsFolder

    @property
    def columns(self) -> list[str]:
        return ["alternative", "variant", "input", "factor", self.param, "replication",
                "seed", *figure_columns(self.scenario)]

    def items(self) -> list[tuple[dict[str, Any], Scenario]]:
        """Every (variant, target) as an alternative: variant-major, targets in order."""
        return [({"variant": v.name, "input": v.input or "", "factor": v.factor,
                  self.param: target}, apply_params(v.scenario, {self.param: target}))
                for v in self.variants for target in self.targets]

    def identity(self) -> dict[str, Any]:
        return {"scenario": dump_scenario(self.scenario), "param": self.param,
                "targets": list(self.targets), "replications": self.replications,
                "seed": self.seed, "objective": self.objective, "alpha": self.alpha,
                "variants": [{"name": v.name, "overrides": v.overrides}
                             for v in self.variants]}


def _check(objective: str, replications: int, alpha: float) -> None:
    problems = []
    if objective not in SUMMARY_KEYS:
        problems.append(Problem("--objective", "", objective,
                                "unknown objective; one of " + ", ".join(SUMMARY_KEYS)))
    if not isinstance(replications, numbers.Integral) or replications < 2:
        problems.append(Problem("--replications", "", replications,
                                "at least 2 replications (a paired test needs 2)"))
    if not (isinstance(alpha, numbers.Real) and 0 < alpha < 1):
        problems.append(Problem("--alpha", "", alpha, "must be between 0 and 1"))
    if problems:
        raise ScenarioError(problems)


# ------------------------------------------------------------------------------ running


def sensitivity(scenario: Scenario, *, param: str = "policy.service_target",
                around: float | None = None, bounds: tuple[float, float] | None = None,
                step: float | None = None, objective: str = "roi",
                factors: Mapping[str, tuple[float, float]] | None = None,
                replications: int = DEFAULT_REPLICATIONS, seed: int | None = None,
                alpha: float = 0.05, executor: Executor | None = None,
                workers: int | None = None, out_dir: str | Path = "results",
                directory: str | Path | None = None, run_id: str | None = None,
                overwrite: bool = False, progress: bool = False,
                command: str | None = None) -> SensitivityResult:
    """Vary each behavioural input low and high and find the optimum of ``objective`` over
    ``param`` for each variant, under common random numbers (DOMAIN §2, §4, §6).

    Targets: the grid ``bounds`` (LOW, HIGH) with ``step`` (default 0.001), or the default
    grid around ``around`` (:func:`default_targets`).  ``factors``: ``{input: (low, high)}``
    replacing :data:`DEFAULT_FACTORS`.  Simulations run on ``executor`` or ``workers`` local
    processes (1: serially).  Files go to ``directory`` if given, else to
    ``out_dir/<scenario>/<run_id or sensitivity-hash>/``.  Bad input raises
    :class:`ScenarioError`; a folder holding another sensitivity run
    :class:`SensitivityError` (unless ``overwrite``); Ctrl-C
    :class:`SensitivityInterrupted` after saving the rows.
    """
    _check(objective, replications, alpha)
    targets = target_grid(param, around, bounds, step)
    chosen, skipped = variants(scenario, factors)
    root = int(scenario.run.seed if seed is None else seed)
    for target in (targets[0], targets[-1]):  # the key exists and the grid is allowed
        apply_params(scenario, {param: target}, "--param")
    plan = _Plan(scenario, param, tuple(targets), tuple(chosen), tuple(skipped),
                 int(replications), root, objective, float(alpha),
                 ResultsFolder(Path("."), MANIFEST_FILE, SensitivityError))
    folder = _folder(plan, out_dir, directory, run_id)
    plan = dataclasses.replace(plan, folder=folder)
    with folder.lock():
        done = _earlier_rows(plan, overwrite)
        rows = _run(plan, done, executor, workers, progress, command)
        document = analyse(plan_document(plan), rows)
        with ignoring_interrupts():
            folder.write_text(SENSITIVITY_JSON, _json(document))
            _write_manifest(plan, COMPLETE, len(rows), command)
    return SensitivityResult(document, folder.directory, len(rows) - len(done))


def _folder(plan: _Plan, out_dir: str | Path, directory: str | Path | None,
            run_id: str | None) -> ResultsFolder:
    if directory is None:
        name = check_run_id(run_id, error=SensitivityError) if run_id is not None else \
            content_id("sensitivity", plan.identity())
        try:
            directory = Path(out_dir) / safe_folder_name(plan.scenario.name) / name
        except ValueError as exc:
            raise SensitivityError(str(exc)) from None
    return ResultsFolder(Path(directory), MANIFEST_FILE, SensitivityError)


def _earlier_rows(plan: _Plan, overwrite: bool) -> dict[tuple[int, int], dict[str, Any]]:
    """The rows of an earlier run of this same sensitivity in the folder (resume); another
    run's files are refused unless ``overwrite``."""
    folder = plan.folder
    path = folder.directory / SENSITIVITY_FILE
    if overwrite:
        return {}
    manifest, table = folder.read_manifest(), read_table(path)
    if manifest is None:
        if table is not None and table.lines:
            raise SensitivityError(f"{path} exists without {MANIFEST_FILE}, so it cannot be "
                                   "checked against this run; choose another --id or --out, "
                                   "or --overwrite to replace it")
        return {}
    if manifest.get("identity") != _plain(plan.identity()):
        raise SensitivityError(f"{folder.directory} holds another sensitivity run (another "
                               "scenario, grid, factors, replications or seed); choose "
                               "another --id or --out, or --overwrite to replace it")
    if table is None or list(table.columns) != plan.columns:
        return {}
    items = plan.items()
    found = {}
    for key, row in table.by_key().items():
        alternative, replication = key
        figures = [row.get(k) for k in figure_columns(plan.scenario)]
        if alternative < len(items) and replication < plan.replications \
                and row.get("seed") == plan.seed and all(
                    isinstance(x, int | float) and not isinstance(x, bool) for x in figures):
            found[key] = {**row, **items[alternative][0]}
    return found


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(jsonable(value), default=str))


def _write_manifest(plan: _Plan, status: str, n_done: int, command: str | None) -> None:
    plan.folder.write_manifest({
        "status": status, "scenario_name": plan.scenario.name,
        "servicesim_version": VERSION, "command": command,
        "saved": datetime.now(UTC).isoformat(timespec="seconds"),
        "n_simulations": n_done,
        "n_simulations_planned": len(plan.variants) * len(plan.targets) * plan.replications,
        "files": {"runs": SENSITIVITY_FILE, "result": SENSITIVITY_JSON},
        "identity": _plain(plan.identity())})


def _run(plan: _Plan, done: Mapping[tuple[int, int], dict[str, Any]],
         executor: Executor | None, workers: int | None, progress: bool,
         command: str | None) -> list[dict[str, Any]]:
    """Simulate the rows not yet done; every row, sorted (alternative, replication)."""
    tasks: list[Task] = [t for t in make_tasks(plan.items(), plan.replications, plan.seed)
                         if (t.alternative, t.replication) not in done]
    total = len(plan.variants) * len(plan.targets) * plan.replications
    runs = RunsFile(plan.folder.directory / SENSITIVITY_FILE, plan.columns, done)
    if plan.folder.read_manifest() is None or not (plan.folder.directory /
                                                    SCENARIO_FILE).exists():
        plan.folder.write_text(SCENARIO_FILE, dump_scenario(plan.scenario))
    _write_manifest(plan, RUNNING, len(done), command)
    runs.write()
    try:
        with progress_bar(progress, total, len(done), "sensitivity") as tick:
            def on_row(row: dict[str, Any], tick: Callable[[], None] = tick) -> None:
                runs.add(row)
                tick()

            execute(tasks, executor, workers=workers if executor is None else None,
                    on_row=on_row)
    except KeyboardInterrupt as exc:
        with ignoring_interrupts():
            runs.write()
            _write_manifest(plan, INTERRUPTED, len(runs.rows), command)
        raise SensitivityInterrupted(plan.folder.directory, len(runs.rows), total,
                                     signal_number(exc)) from None
    except BaseException:
        with ignoring_interrupts(), suppress(OutputError):
            runs.write()
            _write_manifest(plan, FAILED, len(runs.rows), command)
        raise
    runs.write()
    return [dict(runs.rows[k]) for k in sorted(runs.rows)]


# ------------------------------------------------------------------------------ analysis


def plan_document(plan: _Plan) -> dict[str, Any]:
    """What :func:`analyse` needs of a plan (no scenario objects)."""
    return {"param": plan.param, "objective": plan.objective, "alpha": plan.alpha,
            "targets": list(plan.targets), "replications": plan.replications,
            "seed": plan.seed, "scenario": plan.scenario.name,
            "currency": plan.scenario.finance.currency,
            "skipped": list(plan.skipped),
            "variants": [{"name": v.name, "input": v.input, "side": v.side,
                          "factor": v.factor, "keys": sorted(v.overrides)}
                         for v in plan.variants]}


def _estimate(values: Sequence[float]) -> dict[str, Any]:
    ci = confidence_interval(values, 0.95)
    return {"mean": ci["mean"], "ci_low": ci["ci_low"], "ci_high": ci["ci_high"],
            "n": ci["n"]}


def optimum(targets: Sequence[Any], values: Sequence[Sequence[float]],
            alpha: float) -> dict[str, Any]:
    """The optimum of one variant over its targets (``values[i]``: the objective of target
    i by replication): the target of highest mean (the lower on a tie), the range of targets
    whose one-sided paired comparison with it is not rejected (Holm, ``alpha``), and the
    objective there with its 95 % CI; ``evaluations`` per target."""
    means = [confidence_interval(v)["mean"] for v in values]
    finite = [i for i, m in enumerate(means) if not math.isnan(m)]
    if not finite:
        raise ValueError("the objective is undefined (NaN) at every target")
    best = max(finite, key=lambda i: (means[i], -i))
    others = [i for i in range(len(targets)) if i != best]
    tests = [paired_comparison(values[best], values[i]) for i in others]
    adjusted = dict(zip(others, holm([t["p_value"] for t in tests]), strict=True))
    adjusted[best] = 1.0
    kept = [targets[i] for i in range(len(targets)) if adjusted[i] > alpha]
    evaluations = [{"target": targets[i], **_estimate(values[i]), "p_holm": adjusted[i],
                    "not_worse": adjusted[i] > alpha} for i in range(len(targets))]
    return {"optimum": targets[best], "index": best, "not_worse": [min(kept), max(kept)],
            "objective": _estimate(values[best]), "evaluations": evaluations}


def analyse(plan: Mapping[str, Any], rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The document of ``sensitivity.json`` from a plan document and every row."""
    objective, targets = plan["objective"], plan["targets"]
    n_targets, n = len(targets), plan["replications"]
    table: dict[tuple[int, int], float] = {
        (int(r["alternative"]), int(r["replication"])): float(r[objective]) for r in rows}
    per_variant = []
    for v_index in range(len(plan["variants"])):
        values = [[table.get((v_index * n_targets + t, r), math.nan) for r in range(n)]
                  for t in range(n_targets)]
        per_variant.append((values, optimum(targets, values, plan["alpha"])))
    base_values, base = per_variant[0]
    base_best = base_values[base["index"]]
    inputs: dict[str, dict[str, Any]] = {}
    for variant, (values, found) in zip(plan["variants"][1:], per_variant[1:], strict=True):
        change = paired_comparison(values[found["index"]], base_best, alternative="two-sided")
        entry = inputs.setdefault(variant["input"], {
            "id": variant["input"], "name": INPUTS[variant["input"]], "keys": variant["keys"]})
        entry[variant["side"]] = {
            "factor": variant["factor"], **_public(found),
            "change": {"diff": change["diff"], "ci_low": change["diff_ci_low"],
                       "ci_high": change["diff_ci_high"], "p_value": change["p_value"]}}
    document = {"objective": objective, "param": plan["param"], "sentence": "",
                "base": _public(base), "inputs": list(inputs.values()),
                **{k: plan[k] for k in ("targets", "replications", "seed", "alpha",
                                        "scenario", "currency", "skipped")},
                "common_random_numbers": (
                    f"every variant and target uses the same {n} replication seeds: "
                    "replication r runs with child r of numpy.random.SeedSequence(seed)"),
                "comparison": "one-sided paired t-tests against each variant's optimum, "
                              "Holm-corrected; change against the base: two-sided paired "
                              "95 % CI", "servicesim_version": VERSION}
    document["sentence"] = sentence(document)
    return document


def _public(found: Mapping[str, Any]) -> dict[str, Any]:
    return {k: found[k] for k in ("optimum", "not_worse", "objective", "evaluations")}


# ------------------------------------------------------------------------------ sentence


def _is_target(param: str) -> bool:
    return "service_target" in param.split(".")[-2:]


def _value(param: str, value: float) -> str:
    if _is_target(param) or (0 < value < 1 and "." in str(value)):
        return f"{100 * value:.1f} %"
    return f"{value:g}"


def _figure(objective: str, value: float, currency: str | None) -> str:
    from ..kpis import KPI_BY_KEY

    if value is None or not math.isfinite(value):
        return "n/a"
    kpi = KPI_BY_KEY.get(objective)
    if objective == "roi" or (kpi is not None and kpi.unit == "fraction"):
        return f"{100 * value:.1f} %"
    amount = f"{value / 1e6:,.2f} M" if abs(value) >= 1e6 else f"{value:,.0f}"
    return f"{amount} {currency}" if currency else amount


def _factor_text(factor: float) -> str:
    return f"x{factor:g}"


def _factor_words(factor: float) -> str:
    return {2.0: "doubled", 0.5: "halved", 0.0: "zero"}.get(factor, f"x{factor:g}")


def sentence(document: Mapping[str, Any]) -> str:
    """One plain-language sentence: where the optimum stays (and unless what), and which
    input moves the objective at the optimum most."""
    from ..kpis import KPI_BY_KEY

    param, objective = document["param"], document["objective"]
    currency = document.get("currency")
    what = "service target" if _is_target(param) else param
    label = "ROI" if objective == "roi" else (
        KPI_BY_KEY[objective].label if objective in KPI_BY_KEY else objective)
    base = document["base"]
    low, high = base["not_worse"]
    inside, outside = [base["optimum"]], []
    for entry in document["inputs"]:
        for side in ("low", "high"):
            found = entry[side]
            if low <= found["optimum"] <= high:
                inside.append(found["optimum"])
            else:
                outside.append(f"{entry['name'].lower()} is {_factor_words(found['factor'])} "
                               f"(best target {_value(param, found['optimum'])})")
    stays = (f"The best {what} stays between {_value(param, min(inside))} and "
             f"{_value(param, max(inside))}")
    if not document["inputs"]:
        return stays.replace("stays between", "is between") + \
            " (no behavioural input could be varied)."
    stays += (" for every input varied" if not outside else " unless the "
              + "; or the ".join(outside))
    swing = max(document["inputs"], key=lambda e: abs(e["high"]["objective"]["mean"]
                                                     - e["low"]["objective"]["mean"]))
    ends = sorted((swing["low"], swing["high"]), key=lambda f: f["objective"]["mean"])
    return (f"{stays}; {label} at the optimum moves most with the {swing['name'].lower()} "
            f"({_figure(objective, ends[0]['objective']['mean'], currency)} at "
            f"{_factor_text(ends[0]['factor'])} to "
            f"{_figure(objective, ends[1]['objective']['mean'], currency)} at "
            f"{_factor_text(ends[1]['factor'])}; base "
            f"{_figure(objective, base['objective']['mean'], currency)}).")


def _json(document: Mapping[str, Any]) -> str:
    return json.dumps(jsonable(document), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


# ------------------------------------------------------------------------------ result


@dataclass(frozen=True)
class SensitivityResult:
    """The ``sensitivity.json`` document, its folder and the simulations run by this call."""

    document: dict[str, Any] = field(repr=False)
    directory: Path
    n_simulations: int

    @property
    def sentence(self) -> str:
        return str(self.document["sentence"])

    def report(self) -> str:
        """A text table: each variant's optimum, its not-worse range, the objective there
        and its paired change against the base's; then the sentence."""
        doc = self.document
        param, objective, currency = doc["param"], doc["objective"], doc.get("currency")
        label = "ROI" if objective == "roi" else objective

        def cells(name: str, found: Mapping[str, Any]) -> list[str]:
            est, (lo, hi) = found["objective"], found["not_worse"]
            change = found.get("change")
            return [name, _value(param, found["optimum"]),
                    f"{_value(param, lo)} - {_value(param, hi)}",
                    f"{_figure(objective, est['mean'], currency)} "
                    f"({_figure(objective, est['ci_low'], currency)} to "
                    f"{_figure(objective, est['ci_high'], currency)})",
                    "" if change is None else _change(objective, change, currency)]

        rows = [["variant", "best", "not worse", f"{label} (95 % CI)",
                 "change vs base (95 % CI)"], cells("base", doc["base"])]
        for entry in doc["inputs"]:
            for side in ("low", "high"):
                rows.append(cells(f"{entry['name']} {_factor_text(entry[side]['factor'])}",
                                  entry[side]))
        lines = aligned_lines(rows, left=1)
        rule = "-" * max(len(line) for line in lines)
        return "\n".join([rule, lines[0], rule, *lines[1:], rule, doc["sentence"]])


def _change(objective: str, change: Mapping[str, Any], currency: str | None) -> str:
    """A paired difference: percentage points for ROI and fractions, else as the figure."""
    from ..kpis import KPI_BY_KEY

    kpi = KPI_BY_KEY.get(objective)
    if objective == "roi" or (kpi is not None and kpi.unit == "fraction"):
        def show(x: Any) -> str:
            return "n/a" if x is None or not math.isfinite(x) else f"{100 * x:+.1f} pt"
    else:
        def show(x: Any) -> str:
            return _figure(objective, x, currency)
    return f"{show(change['diff'])} ({show(change['ci_low'])} to {show(change['ci_high'])})"
