"""The page's controls as data: their start values from a scenario, the dotted-key overrides
they stand for, and the loader's problems sorted to the control they concern.

Only controls moved from their start value become overrides, so an untouched page runs the
loaded scenario as it is, and the edited scenario downloaded holds only what was changed.
The overrides go through :func:`servicesim.scenario.overrides.with_overrides`: the bounds
and messages are the YAML loader's (DOMAIN §2-§6).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from ..errors import NOT_SET, Problem, ScenarioError, show_value
from ..experiment.guard import SizeError, check_size
from ..policies.derivation import DerivedPolicy, derive_policies
from ..scenario.overrides import Override, with_overrides
from ..scenario.schema import Scenario

REACTIONS = ("wait", "backorder", "switch", "defect")
"""The stockout reactions of a segment's mix (DOMAIN §2), in the schema's order."""

DEFAULT_HORIZON_DAYS = 365.0
"""The page's horizon unless the scenario's is shorter: a quick look, one year."""

DEFAULT_REPLICATIONS = 4
"""Replications per scenario unless changed: enough for a paired CI, quick to run."""

MIN_REPLICATIONS, MAX_REPLICATIONS = 2, 100
"""A paired CI needs two replications; more than 100 is not a quick what-if."""

QUANTITY_RULES = {"given": "as in the scenario", "eoq": "EOQ for every SKU",
                  "multiplier": "today's Q × a factor"}
"""Order-quantity rules: unchanged, the economic order quantity, or today's Q scaled."""

GENERAL = "general"
"""The control id of problems that concern no single control."""

KEEP_TYPES = ("gamma", "lognormal", "normal")
"""Lead-time distributions given by mean and std: edited in place, keeping their type."""


@dataclass(frozen=True)
class SegmentControls:
    """One segment's controls: reaction weights (any scale, shown renormalised) and the
    increase of the defection share per stockout met."""

    name: str
    weights: Mapping[str, float]
    defect_increase: float


@dataclass(frozen=True)
class Controls:
    """Every control's value; :func:`start_controls` gives those of a scenario."""

    target: float
    metric: str
    lead_time_mean: float
    lead_time_std: float
    quantity_rule: str = "given"
    quantity_factor: float = 1.0
    segments: tuple[SegmentControls, ...] = ()
    expedite: bool = False
    horizon_days: float = DEFAULT_HORIZON_DAYS
    replications: int = DEFAULT_REPLICATIONS

    def with_segment(self, index: int, **changes: object) -> Controls:
        """A copy with segment ``index`` changed (``weights=...``, ``defect_increase=...``)."""
        segments = list(self.segments)
        segments[index] = replace(segments[index], **changes)  # type: ignore[arg-type]
        return replace(self, segments=tuple(segments))


@dataclass(frozen=True)
class Loaded:
    """A loaded scenario, the name it is shown by, its derived policies and start values."""

    scenario: Scenario
    source: str
    derived: Mapping[str, DerivedPolicy] = field(repr=False)
    start: Controls

    @staticmethod
    def of(scenario: Scenario, source: str) -> Loaded:
        return Loaded(scenario, source, derive_policies(scenario), start_controls(scenario))


def start_controls(scenario: Scenario) -> Controls:
    """The controls' values for ``scenario`` as it is (DOMAIN §5: the policy's target and
    metric; §2: lead time, reactions), with the page's quick horizon and replications."""
    target = scenario.policy.service_target
    if isinstance(target, dict):  # per-class targets: start from the default or the first
        target = target.get("default", next(iter(target.values())))
    lead = scenario.supplier.lead_time_days
    horizon = scenario.run.horizon_days
    if horizon > DEFAULT_HORIZON_DAYS and scenario.run.warmup_days < DEFAULT_HORIZON_DAYS:
        horizon = DEFAULT_HORIZON_DAYS
    segments = tuple(
        SegmentControls(str(name), {r: getattr(seg.reactions, r) for r in REACTIONS},
                        seg.defect_increase_per_stockout)
        for name, seg in scenario.segments.items())
    return Controls(target=float(target) if target is not None else 0.95,
                    metric=scenario.policy.service_metric, lead_time_mean=lead.mean,
                    lead_time_std=lead.std, segments=segments,
                    expedite=scenario.outbound.expedite.enabled, horizon_days=horizon)


# --------------------------------------------------------------------------- the mix


def reaction_shares(weights: Mapping[str, float]) -> dict[str, float]:
    """The weights renormalised to shares that sum to 1, in :data:`REACTIONS` order.

    Raises ValueError for a negative or non-finite weight, or when every weight is 0."""
    values = {r: float(weights.get(r, 0.0)) for r in REACTIONS}
    bad = [r for r, v in values.items() if not math.isfinite(v) or v < 0]
    if bad:
        raise ValueError(f"a reaction weight must be a number ≥ 0 (got {bad[0]} = "
                         f"{values[bad[0]]:g})")
    total = sum(values.values())
    if total <= 0:
        raise ValueError("at least one reaction needs a weight above 0: the shares of wait, "
                         "backorder, switch and defect must sum to 1")
    shares = {r: v / total for r, v in values.items()}
    # the rounding of the division can leave the sum 1 ± 1e-16: the largest share takes it
    largest = max(shares, key=lambda r: shares[r])
    shares[largest] = 1.0 - sum(v for r, v in shares.items() if r != largest)
    return shares


# ----------------------------------------------------------------------- overrides


def _number(value: float) -> str:
    """A number as YAML text that reads back to the same float."""
    return repr(float(value))


def _changed(a: float, b: float) -> bool:
    return not math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)


def _lead_time(loaded: Loaded, now: Controls) -> str:
    """The supplier lead time as YAML: the type kept where it is given by mean and std,
    else gamma; a constant when the spread is 0."""
    mean, std = now.lead_time_mean, now.lead_time_std
    kind = loaded.scenario.supplier.lead_time_days.type
    if std == 0 and kind != "normal":
        return f"{{type: constant, value: {_number(mean)}}}"
    kind = kind if kind in KEEP_TYPES else "gamma"
    return f"{{type: {kind}, mean: {_number(mean)}, std: {_number(std)}}}"


def _quantity(loaded: Loaded, now: Controls) -> list[tuple[str, Override]]:
    """Order-quantity overrides: every SKU whose policy takes a Q gets the EOQ (its Q and
    the default's unset) or today's Q (given, or the EOQ) × the factor."""
    if now.quantity_rule == "given" or loaded.scenario.locations is not None:
        return []
    out: list[tuple[str, Override]] = []
    with_q = [name for name, policy in loaded.derived.items()
              if policy.order_quantity is not None]
    if now.quantity_rule == "eoq":
        if loaded.scenario.policy.order_quantity is not None:
            out.append(("quantity_rule", Override("policy.order_quantity", "null")))
        for name in with_q:
            if loaded.scenario.skus[name].policy.order_quantity is not None:
                out.append(("quantity_rule", Override(f"skus.{name}.policy.order_quantity",
                                                      "null")))
        return out
    if now.quantity_rule != "multiplier":
        raise ValueError(f"unknown order-quantity rule {now.quantity_rule!r}; one of "
                         + ", ".join(QUANTITY_RULES))
    factor = now.quantity_factor
    if not _changed(factor, 1.0):
        return []
    for name in with_q:
        today = loaded.derived[name].order_quantity or 1
        scaled = max(1, round(today * factor)) if math.isfinite(factor) and factor > 0 \
            else factor  # the loader says what is wrong with it
        out.append(("quantity_factor", Override(f"skus.{name}.policy.order_quantity",
                                                str(scaled))))
    return out


def _segments(loaded: Loaded, now: Controls, problems: list[tuple[str, Problem]]
              ) -> list[tuple[str, Override]]:
    out: list[tuple[str, Override]] = []
    for i, (start, seg) in enumerate(zip(loaded.start.segments, now.segments, strict=True)):
        key = f"segments.{seg.name}"
        try:
            shares = reaction_shares(seg.weights)
        except ValueError as exc:
            problems.append((f"mix_{i}", Problem(loaded.source, f"{key}.reactions",
                                                 dict(seg.weights), str(exc))))
        else:
            before = reaction_shares(start.weights)
            if any(_changed(shares[r], before[r]) for r in REACTIONS):
                text = ", ".join(f"{r}: {_number(shares[r])}" for r in REACTIONS)
                out.append((f"mix_{i}", Override(f"{key}.reactions", f"{{{text}}}")))
        if _changed(seg.defect_increase, start.defect_increase):
            out.append((f"defect_{i}", Override(f"{key}.defect_increase_per_stockout",
                                                _number(seg.defect_increase))))
    return out


def scenario_overrides(loaded: Loaded, now: Controls
                       ) -> tuple[list[tuple[str, Override]], list[tuple[str, Problem]]]:
    """``([(control id, override)], [(control id, problem)])``: the overrides of every
    control moved from its start value, and the problems found before the loader (a
    reaction mix with no weight).  The run controls (horizon, replications) are not part
    of the scenario: :func:`apply_controls` applies them to both sides."""
    start = loaded.start
    out: list[tuple[str, Override]] = []
    problems: list[tuple[str, Problem]] = []
    if _changed(now.target, start.target):
        out.append(("target", Override("policy.service_target", _number(now.target))))
    if now.metric != start.metric:
        out.append(("metric", Override("policy.service_metric", now.metric)))
    if _changed(now.lead_time_mean, start.lead_time_mean) or \
            _changed(now.lead_time_std, start.lead_time_std):
        out.append(("lead_time", Override("supplier.lead_time_days", _lead_time(loaded, now))))
    out.extend(_quantity(loaded, now))
    out.extend(_segments(loaded, now, problems))
    if now.expedite != start.expedite:
        out.append(("expedite", Override("outbound.expedite.enabled",
                                         "true" if now.expedite else "false")))
    return out, problems


# --------------------------------------------------------------------------- editing


@dataclass(frozen=True)
class Edit:
    """The outcome of the controls: the edited scenario (as downloaded), both sides as run
    (the page's horizon applied), the overrides, and the problems per control id."""

    edited: Scenario | None
    today_run: Scenario | None
    edited_run: Scenario | None
    replications: int
    overrides: tuple[tuple[str, Override], ...]
    errors: Mapping[str, tuple[str, ...]]

    @property
    def ok(self) -> bool:
        return not self.errors and self.edited_run is not None


def problem_text(problem: Problem) -> str:
    """A problem in plain words: the key, the value and what is allowed (no file name: the
    page shows it next to the control)."""
    parts = [problem.key_path] if problem.key_path else []
    if problem.value is not NOT_SET:
        parts.append(f"value {show_value(problem.value)}")
    parts.append(problem.message)
    return ": ".join(parts)


def control_of(problem: Problem, overrides: Sequence[tuple[str, Override]]) -> str:
    """The control a problem concerns: the one whose override it came from, else the one
    whose key is the longest prefix of its key path, else :data:`GENERAL`."""
    for control, override in overrides:
        if problem.origin is not None and problem.origin == override.label:
            return control
    best, length = GENERAL, 0
    for control, override in overrides:
        key = override.key
        if (problem.key_path == key or problem.key_path.startswith(key + ".")) \
                and len(key) > length:
            best, length = control, len(key)
    if best == GENERAL and (problem.key_path == "run" or problem.key_path.startswith("run.")):
        return "horizon_days"
    return best


def errors_by_control(problems: Sequence[tuple[str, Problem]]) -> dict[str, tuple[str, ...]]:
    """``{control id: (message, ...)}`` in the order found."""
    out: dict[str, list[str]] = {}
    for control, problem in problems:
        out.setdefault(control, []).append(problem_text(problem))
    return {k: tuple(v) for k, v in out.items()}


def _replications(now: Controls, source: str) -> list[tuple[str, Problem]]:
    n = now.replications
    if isinstance(n, bool) or not isinstance(n, int) or \
            not MIN_REPLICATIONS <= n <= MAX_REPLICATIONS:
        return [("replications", Problem(
            source, "replications", n, f"must be a whole number from {MIN_REPLICATIONS} "
            f"(a paired CI needs two) to {MAX_REPLICATIONS} (a quick what-if)"))]
    return []


def apply_controls(loaded: Loaded, now: Controls, workers: int = 1) -> Edit:
    """The edited scenario and both sides as run, validated by the loader and checked by
    the size guard (3 scenarios: today, edited and the theory check's runs); problems are
    sorted to their controls (:class:`Edit`), nothing is raised."""
    overrides, problems = scenario_overrides(loaded, now)
    problems += _replications(now, loaded.source)
    edited = today_run = edited_run = None
    try:
        edited = with_overrides(loaded.scenario, [o for _, o in overrides], source=loaded.source)
    except ScenarioError as exc:
        problems += [(control_of(p, overrides), p) for p in exc.problems]
    horizon = [("horizon_days", Override("run.horizon_days", _number(now.horizon_days)))]
    try:
        today_run = with_overrides(loaded.scenario, [horizon[0][1]], source=loaded.source)
        if edited is not None:
            edited_run = with_overrides(edited, [horizon[0][1]], source=loaded.source)
    except ScenarioError as exc:
        problems += [(control_of(p, horizon), p) for p in exc.problems]
        today_run = edited_run = None
    if edited_run is not None and not problems:
        try:
            check_size(edited_run, now.replications, alternatives=3, workers=workers,
                       source=loaded.source,
                       option="servicesim compare --allow-large (not from this page)")
        except SizeError as exc:
            problems += [("horizon_days", p) for p in exc.problems]
    return Edit(edited, today_run, edited_run, now.replications, tuple(overrides),
                errors_by_control(problems))
