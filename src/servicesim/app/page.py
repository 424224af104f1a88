"""The what-if page on Shiny for Python: controls in the sidebar, the figures of today and
the edited scenario side by side, the theory check and the quick ROI sweep.

The page's logic is in :mod:`.controls`, :mod:`.folder`, :mod:`.jobs` and :mod:`.tables`;
this module only lays it out and wires the reactive graph.  The controls are drawn again
for every scenario loaded, their ids ending in ``__<generation>`` so that values of an
earlier scenario never mix with a new one.  Problems are sent to the page as a message and
written next to their control (``.ctl-error[data-control=...]``).
"""

from __future__ import annotations

import atexit
import base64
import binascii
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from htmltools import HTML, Tag, TagList, tags
from shiny import App, Inputs, Outputs, Session, reactive, render, ui

from ..errors import NOT_SET, Problem, ScenarioError
from ..files import OutputError
from ..inputs.scenario_file import load_scenario
from ..scenario.serialise import MAX_FILE_BYTES, dump_scenario
from .controls import (
    GENERAL,
    MAX_REPLICATIONS,
    MIN_REPLICATIONS,
    QUANTITY_RULES,
    REACTIONS,
    Controls,
    Edit,
    Loaded,
    SegmentControls,
    apply_controls,
    problem_text,
    reaction_shares,
)
from .folder import load_confined, load_upload
from .jobs import (
    DONE,
    FAILED,
    RUNNING,
    Job,
    Runner,
    make_pool,
    quick_sweep,
    sweep_targets,
    what_if_work,
)
from .tables import THEORY_NOTE, figure_rows, theory_texts

STATIC = Path(__file__).with_name("static")
POLL_SECONDS = 0.2
MAX_THEORY_ROWS = 25
"""SKUs shown in the theory table (a large scenario's first ones)."""
DEFAULT_SCENARIO = Path("scenarios") / "baseline.yaml"


def first_scenario(path: str | None) -> Loaded:
    """The scenario the page opens with: ``path``, else ``scenarios/baseline.yaml``."""
    if path is None:
        if not DEFAULT_SCENARIO.is_file():
            raise ScenarioError([Problem("servicesim app", "", NOT_SET, "give a scenario "
                                         "file: servicesim app SCENARIO.yaml")])
        path = str(DEFAULT_SCENARIO)
    return Loaded.of(load_scenario(path), path)


# ------------------------------------------------------------------------------ layout


def _error_slot(control: str) -> Tag:
    return tags.div(class_="ctl-error", data_control=control, role="alert", hidden=True)


def _section(title: str, *children: Any) -> Tag:
    return tags.section(tags.h6(title, class_="section-title"), *children, class_="ctl-section")


def _target_slider(cid: str, start: Controls) -> Tag:
    low = min(0.5, math.floor(start.target * 200) / 200)
    return ui.input_slider(cid, "Service target (0.95 = 95 %)", min=low, max=0.995,
                           value=start.target, step=0.005)


def _segment_panel(i: int, seg: SegmentControls, gen: int) -> Any:
    shares = reaction_shares(seg.weights)
    sliders = [tags.div(
        ui.input_slider(f"w_{i}_{r}__{gen}", r, min=0, max=100,
                        value=round(100 * seg.weights[r], 1), step=0.1),
        tags.span(f"{100 * shares[r]:.1f} %", class_="share", id=f"share-{i}-{r}"),
        class_="mix-row") for r in REACTIONS]
    return ui.accordion_panel(
        seg.name,
        tags.p("Weights of the reactions to a stockout; the shares beside them always sum "
               "to 100 %.", class_="hint"),
        *sliders, _error_slot(f"mix_{i}"),
        ui.input_numeric(f"defect_{i}__{gen}", "Defection increase per stockout",
                         value=seg.defect_increase, min=0, max=1, step=0.005),
        _error_slot(f"defect_{i}"), value=f"seg-{i}")


def controls_panel(loaded: Loaded, gen: int) -> TagList:
    """The controls of ``loaded`` (ids end in ``__gen``), each with its error slot."""
    start = loaded.start

    def cid(name: str) -> str:
        return f"{name}__{gen}"

    is_network = loaded.scenario.locations is not None
    quantity = ui.input_radio_buttons(cid("quantity_rule"), "Order quantity",
                                      QUANTITY_RULES, selected=start.quantity_rule)
    return TagList(
        _error_slot(GENERAL),
        _section("Service policy",
                 _target_slider(cid("target"), start), _error_slot("target"),
                 ui.input_select(cid("metric"), "Service metric",
                                 {"fill_rate": "fill rate β", "cycle_service_level":
                                  "cycle service level α"}, selected=start.metric),
                 _error_slot("metric"),
                 quantity if not is_network else tags.p(
                     "Order quantity: as in the scenario (a network's)", class_="hint"),
                 _error_slot("quantity_rule"),
                 ui.input_numeric(cid("quantity_factor"), "Factor on today's Q",
                                  value=start.quantity_factor, min=0.1, max=10, step=0.1),
                 _error_slot("quantity_factor")),
        _section("Supply and delivery",
                 tags.div(ui.input_numeric(cid("lead_time_mean"), "Lead time, mean (days)",
                                           value=round(start.lead_time_mean, 3), min=0,
                                           step=0.5),
                          ui.input_numeric(cid("lead_time_std"), "spread, std (days)",
                                           value=round(start.lead_time_std, 3), min=0,
                                           step=0.5), class_="pair"),
                 _error_slot("lead_time"),
                 ui.input_switch(cid("expedite"), "Expedite backorders", start.expedite),
                 _error_slot("expedite")),
        _section("Customers",
                 ui.accordion(*[_segment_panel(i, seg, gen)
                                for i, seg in enumerate(start.segments)],
                              id=cid("segments"), open=False, multiple=True)),
        _section("Run (both sides)",
                 tags.div(ui.input_numeric(cid("horizon_days"), "Horizon (days)",
                                           value=start.horizon_days, min=1, step=30),
                          ui.input_numeric(cid("replications"), "Replications",
                                           value=start.replications, min=MIN_REPLICATIONS,
                                           max=MAX_REPLICATIONS, step=1), class_="pair"),
                 _error_slot("horizon_days"), _error_slot("replications")),
    )


def page_ui(folder: Path) -> Tag:
    """The page: the scenario box and the controls in the sidebar; status, figures,
    theory and sweep in the main area."""
    scenario_box = _section(
        "Scenario",
        tags.div(ui.output_ui("scenario_name"), class_="scenario-name"),
        tags.label("Upload a scenario (YAML)", for_="upload", class_="form-label"),
        tags.input(type="file", id="upload", accept=".yaml,.yml", class_="form-control",
                   data_limit=str(MAX_FILE_BYTES)),
        tags.div(ui.input_text("path", None, placeholder="path in the results folder"),
                 ui.input_action_button("load_path", "Load", class_="btn-sm"),
                 class_="path-row"),
        ui.output_ui("load_status"),
        ui.download_button("download", "Download the edited scenario (YAML)",
                           class_="btn-sm btn-outline-primary w-100"),
        tags.p(f"Results folder: {folder}", class_="hint folder"))
    sweep_box = ui.card(
        ui.card_header("ROI against the service target (quick sweep)"),
        tags.div(ui.input_numeric("sweep_from", "from", 0.85, min=0.5, max=0.999, step=0.01),
                 ui.input_numeric("sweep_to", "to", 0.99, min=0.5, max=0.999, step=0.01),
                 ui.input_numeric("sweep_points", "points", 8, min=3, max=25, step=1),
                 ui.input_action_button("run_sweep", "Run the sweep",
                                        class_="btn-primary btn-sm"),
                 class_="sweep-row"),
        ui.output_ui("sweep"))
    return ui.page_sidebar(
        ui.sidebar(scenario_box, ui.output_ui("controls"), width=350, open="always"),
        ui.head_content(tags.link(rel="stylesheet", href="servicesim/servicesim-app.css"),
                        tags.script(src="servicesim/servicesim-app.js")),
        ui.output_ui("status"),
        ui.card(ui.card_header(tags.div(ui.output_ui("figures_title"))), ui.output_ui("figures")),
        ui.card(ui.card_header("Theory beside the simulation (edited scenario)"),
                ui.output_ui("theory")),
        sweep_box,
        title=tags.span("servicesim", tags.small(" what-if: service level, cost and ROI")),
        window_title="servicesim what-if", fillable=False)


# ------------------------------------------------------------------------------ server


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) \
        else None


def read_controls(input: Inputs, loaded: Loaded, gen: int) -> tuple[Controls, dict[str, str]]:
    """The controls' values (an unbound control stops the calculation until it is there),
    and ``{control: message}`` for empty number fields."""
    def get(name: str) -> Any:
        return input[f"{name}__{gen}"]()

    start, missing = loaded.start, {}

    def number(name: str, fallback: float, control: str | None = None) -> float:
        value = _float(get(name))
        if value is None:
            missing[control or name] = "enter a number"
            return fallback
        return value

    segments = []
    for i, seg in enumerate(start.segments):
        weights = {r: number(f"w_{i}_{r}", 100 * seg.weights[r], f"mix_{i}") for r in REACTIONS}
        segments.append(SegmentControls(seg.name, weights,
                                        number(f"defect_{i}", seg.defect_increase,
                                               f"defect_{i}")))
    is_network = loaded.scenario.locations is not None
    replications = _float(get("replications"))
    if replications is None:
        missing["replications"] = "enter a whole number"
    now = Controls(
        target=float(get("target")), metric=str(get("metric")),
        lead_time_mean=number("lead_time_mean", start.lead_time_mean, "lead_time"),
        lead_time_std=number("lead_time_std", start.lead_time_std, "lead_time"),
        quantity_rule="given" if is_network else str(get("quantity_rule")),
        quantity_factor=number("quantity_factor", 1.0),
        segments=tuple(segments), expedite=bool(get("expedite")),
        horizon_days=number("horizon_days", start.horizon_days),
        replications=int(replications) if replications is not None and
        float(replications).is_integer() else start.replications)
    if replications is not None and not float(replications).is_integer():
        missing["replications"] = f"value {replications:g}: must be a whole number"
    return now, missing


def make_app(scenario: str | None, results_dir: str | os.PathLike[str]) -> App:
    """The Shiny app serving the page for ``scenario`` (see :func:`first_scenario`), reading
    and writing only inside ``results_dir``."""
    folder = Path(results_dir).resolve()
    first = first_scenario(scenario)
    pool = make_pool()
    atexit.register(pool.stop)

    def server(input: Inputs, output: Outputs, session: Session) -> None:
        _server(input, output, session, first, folder, pool)

    return App(page_ui(folder), server, static_assets={"/servicesim": STATIC})


class _State:
    """One browser session's state: the loaded scenario and its generation, the runners
    and their jobs (the latest, and the latest finished for the views)."""

    def __init__(self, first: Loaded, pool: Any) -> None:
        self.loaded = reactive.value(first)
        self.gen = reactive.value(1)
        self.load_message = reactive.value("")
        self.whatif_runner, self.sweep_runner = Runner(pool), Runner(pool)
        self.whatif_job: reactive.Value[Job | None] = reactive.value(None)
        self.sweep_job: reactive.Value[Job | None] = reactive.value(None)
        self.whatif_done: reactive.Value[Job | None] = reactive.value(None)
        self.sweep_done: reactive.Value[Job | None] = reactive.value(None)
        self.tick = reactive.value(0)

    def use(self, new: Loaded, message: str) -> None:
        """Show ``new``: its controls are drawn again and every result is cleared."""
        self.loaded.set(new)
        self.gen.set(self.gen() + 1)
        self.load_message.set(message)
        self.whatif_done.set(None)
        self.sweep_done.set(None)


def _server(input: Inputs, output: Outputs, session: Session, first: Loaded, folder: Path,
            pool: Any) -> None:
    state = _State(first, pool)
    session.on_ended(state.whatif_runner.cancel)
    session.on_ended(state.sweep_runner.cancel)

    @reactive.calc
    def edit() -> tuple[Edit | None, dict[str, str]]:
        now, missing = read_controls(input, state.loaded(), state.gen())
        if missing:
            return None, missing
        return apply_controls(state.loaded(), now, workers=2), {}

    _scenario_outputs(input, state, folder, edit)
    _run_effects(input, session, state, folder, edit)
    _result_outputs(state, edit)


EditCalc = Callable[[], tuple[Edit | None, dict[str, str]]]


def _scenario_outputs(input: Inputs, state: _State, folder: Path, edit: EditCalc) -> None:
    """The controls, the scenario's name, loading (upload, path) and the download."""

    @render.ui
    def controls() -> Any:
        return controls_panel(state.loaded(), state.gen())

    @render.ui
    def scenario_name() -> Any:
        current = state.loaded()
        return TagList(tags.strong(current.scenario.name), tags.br(),
                       tags.span(current.source, class_="hint"))

    @reactive.effect
    @reactive.event(input.upload_text)
    def _upload() -> None:
        sent = input.upload_text()
        name = str(sent.get("name") or "scenario.yaml") if isinstance(sent, dict) \
            else "scenario.yaml"
        try:
            scenario, path = load_upload(folder, name, _upload_bytes(sent))
        except (ScenarioError, OutputError) as exc:
            state.load_message.set(_problems_text(exc))
            return
        state.use(Loaded.of(scenario, f"upload {name}"), f"loaded {name} (saved as {path})")

    @reactive.effect
    @reactive.event(input.load_path)
    def _load_path() -> None:
        typed = input.path() or ""
        try:
            scenario = load_confined(folder, typed)
        except ScenarioError as exc:
            state.load_message.set(_problems_text(exc))
            return
        state.use(Loaded.of(scenario, typed), f"loaded {typed}")

    @render.ui
    def load_status() -> Any:
        text = state.load_message()
        if not text:
            return None
        kind = "ok" if text.startswith("loaded ") else "ctl-error load-error"
        return tags.div(text, class_=kind, id="load-message", role="status")

    @render.download_button(filename=lambda: f"{state.loaded().scenario.name}-edited.yaml",
                            media_type="application/yaml")
    def download() -> Any:
        result, _ = edit()
        if result is not None and result.edited is not None:
            yield dump_scenario(result.edited)
        else:
            yield "# the edited scenario has problems; fix them on the page first\n"


def _run_effects(input: Inputs, session: Session, state: _State, folder: Path,
                 edit: EditCalc) -> None:
    """Every change starts a what-if (cancelling the running one and any sweep); the sweep
    button starts a sweep; a poll follows the running jobs."""

    @reactive.effect
    async def _launch() -> None:
        result, missing = edit()
        errors = {k: (v,) for k, v in missing.items()} if result is None else \
            dict(result.errors)
        await session.send_custom_message("servicesim-update", {
            "errors": {k: "; ".join(v) for k, v in errors.items()},
            "shares": _shares(state.loaded(), input, state.gen())})
        state.sweep_runner.cancel()
        if result is None or not result.ok:
            state.whatif_runner.cancel()
            state.whatif_job.set(None)
            return
        assert result.today_run is not None and result.edited_run is not None
        job = state.whatif_runner.start("what-if", what_if_work(
            result.today_run, result.edited_run, result.replications))
        job.meta["edits"] = tuple(o for _, o in result.overrides)
        state.whatif_job.set(job)

    @reactive.effect
    @reactive.event(input.run_sweep)
    def _sweep() -> None:
        result, _ = edit()
        if result is None or result.edited_run is None:
            state.sweep_job.set(None)
            return
        try:
            targets = sweep_targets(float(input.sweep_from() or 0), float(input.sweep_to() or 0),
                                    int(input.sweep_points() or 0))
        except ValueError as exc:
            state.sweep_done.set(None)
            state.sweep_job.set(_failed("sweep", str(exc)))
            return
        edited, n = result.edited_run, result.replications
        state.sweep_job.set(state.sweep_runner.start("sweep", lambda job, executor: quick_sweep(
            edited, targets, n, folder, job, executor)))

    @reactive.effect
    def _poll() -> None:
        jobs = ((state.whatif_job(), state.whatif_done), (state.sweep_job(), state.sweep_done))
        for job, done in jobs:
            if job is not None and job.finished.is_set():
                with reactive.isolate():
                    if done() is not job and job.state in (DONE, FAILED):
                        done.set(job)
        if any(job is not None and not job.finished.is_set() for job, _ in jobs):
            reactive.invalidate_later(POLL_SECONDS)
        with reactive.isolate():
            state.tick.set(state.tick() + 1)


def _result_outputs(state: _State, edit: EditCalc) -> None:
    """The status line, the figures, the theory check and the sweep."""

    @render.ui
    def status() -> Any:
        state.tick()
        return _status(state.whatif_job(), edit()[0])

    @render.ui
    def figures_title() -> Any:
        job = state.whatif_done()
        if job is None or job.state != DONE:
            return "Key figures: today and the edited scenario"
        comparison = job.result.comparison
        return TagList(tags.div("Key figures: today and the edited scenario"),
                       tags.div(f"mean and 95 % CI over {comparison.replications} "
                                f"replications × {_days(comparison)} days, paired under "
                                f"common random numbers (seed {comparison.seed})",
                                class_="muted subtitle"))

    @render.ui
    def figures() -> Any:
        return _figures(state.whatif_done())

    @render.ui
    def theory() -> Any:
        job = state.whatif_done()
        if job is None or job.state != DONE:
            return tags.p("Waiting for the first what-if…", class_="hint")
        return _theory(job)

    @render.ui
    def sweep() -> Any:
        state.tick()
        return _sweep_view(state.sweep_job(), state.sweep_done())


def _upload_bytes(sent: Any) -> bytes:
    """The bytes of an upload sent by the page's script (base64; ``None`` above the size
    limit, which the loader's check then refuses by size)."""
    if not isinstance(sent, dict):
        raise ScenarioError([Problem("upload", "", NOT_SET, "the upload could not be read")])
    text = sent.get("data")
    size = sent.get("size")
    if text is None:
        limit = MAX_FILE_BYTES / 2**20
        shown = f"{float(size) / 2**20:.1f} MB" if isinstance(size, int | float) else "too large"
        raise ScenarioError([Problem(f"upload {sent.get('name')}", "", NOT_SET,
                                     f"file is too large ({shown}; the limit is {limit:g} MB)")])
    try:
        return base64.b64decode(str(text), validate=True)
    except (binascii.Error, ValueError):
        raise ScenarioError([Problem(f"upload {sent.get('name')}", "", NOT_SET,
                                     "the upload could not be read")]) from None


def _problems_text(exc: Exception) -> str:
    if isinstance(exc, ScenarioError):
        return "; ".join(f"{p.file}: {problem_text(p)}" for p in exc.problems[:8])
    return str(exc)


def _shares(loaded: Loaded, input: Inputs, gen: int) -> dict[str, str]:
    """``{"share-<segment>-<reaction>": "15.0 %"}`` for the weights now set."""
    out = {}
    for i, _ in enumerate(loaded.start.segments):
        weights = {r: _float(input[f"w_{i}_{r}__{gen}"]()) or 0.0 for r in REACTIONS}
        try:
            shares = reaction_shares(weights)
        except ValueError:
            shares = {r: math.nan for r in REACTIONS}
        out.update({f"share-{i}-{r}": "–" if math.isnan(v) else f"{100 * v:.1f} %"
                    for r, v in shares.items()})
    return out


def _failed(kind: str, message: str) -> Job:
    job = Job(kind)
    job.state, job.error = FAILED, message
    job.finished.set()
    return job


def _days(comparison: Any) -> str:
    return f"{comparison.scenarios[0].run.horizon_days:,.0f}"


def _progress(job: Job, what: str) -> Tag:
    percent = 100 * job.fraction
    return tags.div(
        tags.div(class_="progress-bar progress-bar-striped progress-bar-animated",
                 role="progressbar", style=f"width: {percent:.0f}%"),
        class_="progress", title=f"{what}: {job.done} of {job.total or '?'} replications")


def _status(job: Job | None, result: Edit | None) -> Tag:
    if job is None:
        text = "Fix the marked controls to run the what-if." if result is None or \
            not result.ok else "Starting…"
        return tags.div(text, class_="status warn", id="status")
    if job.state == RUNNING:
        return tags.div(_progress(job, "what-if"),
                        tags.span(f"Simulating today and the edited scenario: {job.done} of "
                                  f"{job.total} replications…"),
                        class_="status running", id="status", data_state="running")
    if job.state == FAILED:
        return tags.div(job.error, class_="status warn", id="status", data_state="failed")
    if job.state == DONE:
        return tags.div(f"Up to date: answered in {job.seconds:.1f} s "
                        f"({job.total} simulations, cancelled and restarted on every change).",
                        class_="status done", id="status", data_state="done",
                        data_job=str(job.id))
    return tags.div("Replaced by a newer request…", class_="status running", id="status",
                    data_state="cancelled")


def _figures(job: Job | None) -> Any:
    if job is None or job.state != DONE:
        return tags.p("Waiting for the first what-if…", class_="hint")
    rows = figure_rows(job.result.comparison)
    head = tags.thead(tags.tr(
        tags.th("Figure"), tags.th("Unit"), tags.th("Today", class_="num"),
        tags.th("95 % CI", class_="ci"), tags.th("Edited", class_="num"),
        tags.th("95 % CI", class_="ci"), tags.th("Change", class_="num"),
        tags.th("95 % CI of the change", class_="ci")))
    body = tags.tbody(*[tags.tr(
        tags.td(r.label), tags.td(r.unit, class_="unit"),
        tags.td(r.today, class_="num"), tags.td(r.today_ci, class_="ci"),
        tags.td(r.edited, class_="num"), tags.td(r.edited_ci, class_="ci"),
        tags.td(r.change + (" ●" if r.significant else ""),
                class_="num sig" if r.significant else "num"),
        tags.td(r.change_ci, class_="ci"), data_figure=r.key) for r in rows])
    edits = [f"{o.key} = {o.value}" for o in job.meta.get("edits", ())]
    note = ("● the 95 % CI of the paired change excludes 0. Changes of percentages are in "
            "percentage points. ")
    note += ("Edits: " + "; ".join(edits)) if edits else "No edits yet: both sides are the " \
        "loaded scenario, so every change is 0."
    return TagList(tags.table(head, body, class_="table table-sm figures", id="figures-table"),
                   tags.p(note, class_="hint"))


def _theory(job: Job) -> Any:
    rows = theory_texts(job.result.theory)[:MAX_THEORY_ROWS]
    head = tags.thead(tags.tr(tags.th("SKU"), tags.th("Target", class_="num"),
                              tags.th("Predicted", class_="num"),
                              tags.th("Simulated", class_="num"), tags.th("95 % CI", class_="ci"),
                              tags.th("Gap", class_="num")))
    body = tags.tbody(*[tags.tr(
        tags.td(r.sku), tags.td(r.target, class_="num"), tags.td(r.predicted, class_="num"),
        tags.td(r.simulated, class_="num"), tags.td(r.simulated_ci, class_="ci"),
        tags.td(r.gap, class_="num" + ("" if r.within else " sig"))) for r in rows])
    metric = rows[0].metric if rows else ""
    more = len(job.result.theory) - len(rows)
    table = TagList(tags.p(f"Service measured: {metric}; bold: the prediction lies outside "
                           "the simulated 95 % CI.", class_="hint"),
                    tags.table(head, body, class_="table table-sm theory", id="theory-table"),
                    tags.p(f"… and {more:,} more SKUs", class_="hint") if more > 0 else None)
    return ui.layout_columns(table, tags.p(THEORY_NOTE, class_="hint theory-note"),
                             col_widths=(7, 5))


def _sweep_view(job: Job | None, done: Job | None) -> Any:
    parts: list[Any] = []
    if job is not None and job.state == RUNNING:
        parts.append(tags.div(_progress(job, "sweep"), tags.span(
            f"Sweeping: {job.done} of {job.total} replications…"), class_="status running"))
    elif job is not None and job.state == FAILED:
        parts.append(tags.div(job.error, class_="ctl-error", id="sweep-error"))
    if done is not None and done.state == DONE:
        chart = done.result
        encoded = base64.b64encode(chart.png).decode("ascii")
        worse = ", ".join(f"{100 * t:.1f} %" for t in chart.not_worse)
        parts += [tags.img(src=f"data:image/png;base64,{encoded}", class_="chart",
                           alt="ROI against the service target", id="sweep-chart"),
                  tags.p(HTML(f"Optimum <strong>{100 * chart.best:.1f} %</strong>; not "
                              f"significantly worse: {worse or 'none'}. The diamond is the "
                              f"edited scenario's own target. Files: {chart.directory}"),
                         class_="hint")]
    elif job is None:
        parts.append(tags.p("Run the sweep to see where ROI peaks for the edited scenario "
                            "(the same replications and horizon).", class_="hint"))
    return TagList(*parts)
