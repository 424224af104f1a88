"""A client-ready report of a sweep or an optimisation: one HTML file and one Excel workbook.

``write_report("results/baseline/sweep-...")`` reads the folder (:func:`servicesim.outputs.plots.
load_results`) and writes, into that folder by default:

- ``report.html`` — one self-contained file (no external assets): the scenario's name, a
  plain-language summary sentence computed from the results (:func:`summary_sentence`), every
  chart of :func:`servicesim.outputs.plots.plot_all` embedded as a base64 PNG, a table of every
  summary figure (mean and 95 % confidence interval per alternative), the scenario as run and
  how to read it all;
- ``report.xlsx`` — the same tables for Excel: sheets ``Summary``, ``Alternatives``, ``Runs``
  and ``Scenario``.

The charts are taken from ``<folder>/charts/*.png`` when every chart is there and newer than
``runs.csv`` (as ``sweep`` and ``optimize`` leave them), and drawn otherwise.  Both files are
written atomically.  Like :mod:`servicesim.outputs.plots`, this module only reads results.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import numbers
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..experiment.store import RUNS_FILE
from ..files import atomic_write_bytes, atomic_write_text
from ..kpis import KPI_BY_KEY, KPIS, SUMMARY_KEYS
from .plots import CHARTS, is_target_key, plot_all
from .results import Alternative, PlotError, Results, load_results

__all__ = ["ReportError", "summary_sentence", "write_report"]


class ReportError(PlotError):
    """A folder that holds no sweep or optimisation results; the message says why."""


# ----------------------------------------------------------------------------- formatting


def _unit(key: str) -> str:
    kpi = KPI_BY_KEY.get(key)
    return kpi.unit if kpi else ""


def _pct(value: float, decimals: int = 1) -> str:
    return f"{100 * value:,.{decimals}f} %"


def fmt(key: str, value: Any) -> str:
    """One figure for people: fractions in %, money with thousands separators."""
    if not isinstance(value, numbers.Real) or not math.isfinite(float(value)):
        return "n/a"
    value = float(value)
    unit = _unit(key)
    if unit == "fraction":
        return _pct(value)
    if unit == "money":
        return f"{value:,.0f}"
    if unit == "money/unit":
        return f"{value:,.2f}"
    if unit == "days":
        return f"{value:.2f}"
    return f"{value:,.1f}"


def _param_is_fraction(key: str, value: Any) -> bool:
    leaf = key.rsplit(".", 1)[-1]
    return (isinstance(value, numbers.Real) and not isinstance(value, bool)
            and 0 <= float(value) <= 1
            and any(w in leaf for w in ("target", "rate", "fraction", "level", "share")))


def _param_text(key: str, value: Any) -> str:
    if _param_is_fraction(key, value):
        return f"{100 * value:.1f} %"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        if isinstance(value, dict | list):
            return json.dumps(value, ensure_ascii=False)
        return str(value)
    return f"{value:g}"


def _params_text(params: dict[str, Any]) -> str:
    return ", ".join(f"{k} = {_param_text(k, v)}" for k, v in params.items()) or "(base)"


def _ci_text(key: str, low: float, high: float) -> str:
    if _unit(key) == "fraction":
        if not (math.isfinite(low) and math.isfinite(high)):
            return "n/a"
        return f"{100 * low:,.1f}–{100 * high:,.1f} %"
    return f"{fmt(key, low)}–{fmt(key, high)}"


def _difference_text(key: str, diff: float) -> str:
    """The size of a change in a figure (no sign)."""
    if _unit(key) == "fraction":
        return f"{100 * abs(diff):,.1f} percentage points"
    return fmt(key, abs(diff))


# ----------------------------------------------------------------------------- summary


def _service_metric(results: Results) -> str:
    """``fill_rate`` or ``cycle_service_level``: the metric the targets are stated in."""
    for key, value in results.best_alternative.params.items():
        if key.endswith("service_metric") and isinstance(value, str):
            return value
    try:
        return str(results.scenario().policy.service_metric or "fill_rate")
    except Exception:  # noqa: BLE001 - the scenario file is optional for the sentence
        return "fill_rate"


def _varying(results: Results) -> list[str]:
    return [k for k in results.keys
            if len({json.dumps(a.params.get(k), sort_keys=True, default=str)
                    for a in results.alternatives}) > 1]


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _main_key(results: Results, varying: Sequence[str]) -> str | None:
    numeric = [k for k in varying if all(_is_number(a.params.get(k))
                                         for a in results.alternatives)]
    targets = [k for k in numeric if is_target_key(k)]
    choices: list[str | None] = [*targets, *numeric, None]
    return choices[0]


def _line(results: Results, key: str) -> list[Alternative]:
    """The alternatives that differ from the best only in ``key``, in order of ``key``."""
    best = results.best_alternative
    others = {k: v for k, v in best.params.items() if k != key}
    same = [a for a in results.alternatives
            if all(json.dumps(a.params.get(k), sort_keys=True, default=str)
                   == json.dumps(v, sort_keys=True, default=str) for k, v in others.items())]
    return sorted(same, key=lambda a: (float(a.params[key]), a.id))


def _level_text(key: str, value: Any, metric: str) -> str:
    text = _param_text(key, value)
    if is_target_key(key):
        name = "fill-rate" if metric == "fill_rate" else "cycle-service-level"
        article = "an" if text.startswith(("8", "11 ", "11.", "18")) else "a"
        return f"{article} {text} {name} target"
    return f"{key} = {text}"


def summary_sentence(results: Results) -> str:
    """The plain-language finding: where the objective peaks, with the achieved service and
    its confidence interval, which levels are not significantly worse, and what moving away
    from the optimum costs.  Honest about an optimum at the edge of the range and about a
    single alternative."""
    objective = results.objective
    label = KPI_BY_KEY[objective].label.split(" (")[0]
    name = label if label.isupper() else label[0].lower() + label[1:]  # mid-sentence
    best = results.best_alternative
    metric = _service_metric(results)
    service_key = "item_fill_rate" if metric == "fill_rate" else "cycle_service_level"
    service_name = "fill rate" if metric == "fill_rate" else "cycle service level"
    mean, low, high = best.interval(service_key)
    o_mean, o_low, o_high = best.interval(objective)
    achieved = (f"achieved {service_name} {_pct(mean)}, 95 % CI {_ci_text(service_key, low, high)}"
                f"; {name} {fmt(objective, o_mean)}, 95 % CI "
                f"{_ci_text(objective, o_low, o_high)}")
    if len(results.alternatives) == 1:
        return (f"Only one alternative was simulated ({_params_text(best.params)}): "
                f"{achieved}. There is nothing to compare it with; sweep a range of values to "
                "find where the optimum lies.")
    varying = _varying(results)
    key = _main_key(results, varying)
    if key is None:  # categorical alternatives only
        worse = len(results.alternatives) - len(results.not_worse)
        return (f"{label} is highest at {_params_text(best.params)} ({achieved}); "
                f"{len(results.not_worse) - 1} of the other {len(results.alternatives) - 1} "
                f"alternatives are not significantly worse and {worse} are.")
    line = _line(results, key)
    sentences = [f"{label} peaks at {_level_text(key, best.params[key], metric)}"
                 + (f" (with {_params_text({k: v for k, v in best.params.items() if k != key})})"
                    if len(varying) > 1 else "")
                 + f" ({achieved})"]
    not_worse = [a for a in line if a.id in results.not_worse and a.id != best.id]
    if not not_worse:
        sentences[0] += "; every other level tried is significantly worse."
    else:
        levels = [a for a in line if a.id in results.not_worse]
        values = [_param_text(key, a.params[key]) for a in levels]
        positions = [line.index(a) for a in levels]
        contiguous = positions == list(range(positions[0], positions[-1] + 1))
        if contiguous:
            span = f"levels from {values[0]} to {values[-1]} are"
        else:
            span = f"the levels {', '.join(values[:-1])} and {values[-1]} are"
        sentences[0] += f"; {span} not significantly worse."
    if len(line) > 1:
        index = line.index(best)
        at_top, at_bottom = index == len(line) - 1, index == 0
        other = line[0] if at_top else line[-1]
        if at_top:
            sentences.append("The optimum is the highest level tried, so a higher one may be "
                             "better still: widen the range.")
        elif at_bottom:
            sentences.append("The optimum is the lowest level tried, so a lower one may be "
                             "better still: widen the range.")
        inventory = other.mean("avg_inventory_value") - best.mean("avg_inventory_value")
        change = other.mean(objective) - best.mean(objective)
        moves = "adds" if inventory >= 0 else "frees"
        direction = "lowers" if change <= 0 else "raises"
        sentences.append(
            f"Going from {_param_text(key, best.params[key])} to "
            f"{_param_text(key, other.params[key])} {moves} "
            f"{fmt('avg_inventory_value', abs(inventory))} of average inventory value and "
            f"{direction} {name} by {_difference_text(objective, change)}.")
    others = len([i for i in results.not_worse if i not in {a.id for a in line}])
    if others:
        sentences.append(f"{others} alternative{'s' if others > 1 else ''} with other values "
                         f"of {', '.join(k for k in varying if k != key)} "
                         f"{'are' if others > 1 else 'is'} not significantly worse either.")
    return " ".join(sentences)


# ----------------------------------------------------------------------------- charts


def _chart_files(results: Results) -> list[Path]:
    """PNG of every chart: the ones in ``charts/`` when complete and up to date, else drawn."""
    folder = results.directory / "charts"
    files = [folder / f"{stem}.png" for stem in CHARTS]
    runs_time = (results.directory / RUNS_FILE).stat().st_mtime
    if all(f.is_file() and f.stat().st_mtime >= runs_time for f in files):
        return files
    return [p for p in plot_all(results.directory, out_dir=folder, formats=("png",),
                                objective=results.objective) if p.suffix == ".png"]


# ----------------------------------------------------------------------------- HTML

CSS = """
:root { --ink: #1d2430; --muted: #5a6372; --line: #d9dee5; --accent: #0072B2;
        --best: #fff4d6; --nw: #eef6fb; }
* { box-sizing: border-box; }
body { font: 15px/1.5 -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
       color: var(--ink); max-width: 1180px; margin: 2rem auto; padding: 0 1.25rem; }
h1 { font-size: 1.9rem; margin: 0 0 .2rem; }
h2 { font-size: 1.3rem; margin: 2.2rem 0 .6rem; border-bottom: 2px solid var(--line);
     padding-bottom: .2rem; }
.meta { color: var(--muted); margin: 0 0 1.2rem; }
.summary { font-size: 1.12rem; background: #f3f7fb; border-left: 5px solid var(--accent);
           padding: .9rem 1.1rem; margin: 1rem 0; }
figure { margin: 1.2rem 0 2rem; page-break-inside: avoid; break-inside: avoid; }
figure img { width: 100%; height: auto; border: 1px solid var(--line); }
figcaption { color: var(--muted); font-size: .9rem; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; font-size: .85rem; font-variant-numeric: tabular-nums; }
th, td { border-bottom: 1px solid var(--line); padding: .3rem .55rem; text-align: right;
         vertical-align: top; white-space: nowrap; }
th:first-child, td:first-child { text-align: left; white-space: normal; min-width: 14rem; }
thead th { background: #f5f6f8; position: sticky; top: 0; }
td.best, th.best { background: var(--best); }
td.nw, th.nw { background: var(--nw); }
.ci { display: block; color: var(--muted); font-size: .78rem; }
.unit { color: var(--muted); font-weight: normal; }
pre { background: #f7f7f9; border: 1px solid var(--line); padding: .8rem; overflow-x: auto;
      font-size: .82rem; }
.legend span { display: inline-block; padding: 0 .5rem; margin-right: .6rem; }
footer { color: var(--muted); font-size: .8rem; margin-top: 3rem; }
@media print {
  body { max-width: none; margin: 0; font-size: 10.5pt; }
  h2 { page-break-after: avoid; break-after: avoid; }
  .table-wrap { overflow: visible; }
  table { font-size: 7.5pt; }
  thead th { position: static; }
  pre { white-space: pre-wrap; font-size: 7.5pt; }
  figure img { max-height: 9.5cm; width: auto; max-width: 100%; }
}
"""

_UNIT_TEXT = {"fraction": "%", "days": "days", "units": "units", "customers": "customers",
              "money": "money", "money/unit": "money per unit"}


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _figures_table(results: Results) -> str:
    alternatives = results.alternatives
    nw = set(results.not_worse)

    def klass(a: Alternative) -> str:
        return "best" if a.id == results.best else "nw" if a.id in nw else ""

    head = ["<th>Figure</th>"]
    for a in alternatives:
        title = "<br>".join(_e(f"{k.rsplit('.', 1)[-1]} {_param_text(k, v)}")
                            for k, v in a.params.items()) or "base"
        head.append(f'<th class="{klass(a)}">#{a.id}<br>{title}</th>')
    rows = []
    for kpi in KPIS:
        cells = [f'<td title="{_e(kpi.definition)}">{_e(kpi.label)} '
                 f'<span class="unit">({_e(_UNIT_TEXT.get(kpi.unit, kpi.unit))})</span></td>']
        for a in alternatives:
            mean, low, high = a.interval(kpi.key)
            cells.append(f'<td class="{klass(a)}">{_e(fmt(kpi.key, mean))}'
                         f'<span class="ci">{_e(_ci_text(kpi.key, low, high))}</span></td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return ('<div class="table-wrap"><table class="figures"><thead><tr>' + "".join(head)
            + "</tr></thead><tbody>" + "\n".join(rows) + "</tbody></table></div>")


def _how_to_read(results: Results) -> str:
    objective = KPI_BY_KEY[results.objective].label
    if results.kind == "sweep":
        test = ("one-sided paired t-tests of each alternative against the best on the common "
                f"replications, Holm-corrected at α = {results.alpha:g}")
    else:
        test = (f"the optimiser's paired comparisons with the best (Holm-corrected, "
                f"α = {results.alpha:g})")
    items = [
        f"Each alternative was simulated for up to {results.replications} replications. "
        "<strong>Common random numbers</strong>: replication <em>r</em> of every alternative "
        "uses the same random seed, so every alternative meets the same customers, order "
        "quantities and lead times. Differences between alternatives therefore come from the "
        "alternatives, not from luck.",
        "Every figure is the mean over the replications; the small line below it is its "
        "<strong>95 % confidence interval</strong>: if the whole experiment were repeated "
        "with fresh random numbers, intervals built this way would contain the true long-run "
        "mean 95 times in 100. More replications give narrower intervals.",
        f"The <strong>best</strong> alternative (highlighted in yellow) has the highest mean "
        f"{_e(objective)}. Alternatives highlighted in blue are <strong>not significantly "
        f"worse</strong> ({_e(test)}): the data cannot tell them apart from the best, so "
        "choose among them on other grounds (risk, simplicity, the client's preference).",
        "Two overlapping intervals do not mean that two alternatives are equal: under common "
        "random numbers the paired test is much sharper than a comparison of intervals.",
        "Fractions are shown in %, money in the scenario's currency with thousands "
        "separators; money is summed over the measured window (after the warm-up), ROI is "
        "annualised.",
    ]
    return "<ul>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>"


def _caption(stem: str) -> str:
    chart = CHARTS.get(stem)
    doc = (chart.__doc__ or "").strip().split("\n\n")[0] if chart else ""
    doc = re.sub(r":\w+:`~?([^`]+)`", lambda m: m.group(1).rsplit(".", 1)[-1], doc)
    return " ".join(doc.replace("``", "").split())


EMBED_WIDTH = 1800
"""Embedded charts are scaled down to this width in pixels (the 300 dpi files stay)."""


def _embedded_png(path: Path) -> bytes:
    """The chart's PNG, scaled down for the page (about 240 dpi on A4) and reduced to 256
    colours (about a tenth of the bytes) when Pillow, which matplotlib requires, can do it;
    the file as it is otherwise."""
    data = path.read_bytes()
    try:
        from PIL import Image

        with Image.open(io.BytesIO(data)) as image:
            if image.width <= EMBED_WIDTH:
                return data
            height = round(image.height * EMBED_WIDTH / image.width)
            small = image.convert("RGB").resize((EMBED_WIDTH, height), Image.Resampling.LANCZOS)
            small = small.quantize(256, method=Image.Quantize.MEDIANCUT)  # flat chart colours
            buffer = io.BytesIO()
            small.save(buffer, format="PNG", optimize=True)
            return buffer.getvalue()
    except Exception:  # noqa: BLE001 - an unreadable image is embedded unchanged
        return data


def _html(results: Results, sentence: str, charts: Sequence[Path], yaml_text: str) -> str:
    name = results.scenario_name or results.directory.name
    best = results.best_alternative
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    kind = "sweep" if results.kind == "sweep" else "optimisation"
    figures = []
    for path in charts:
        data = base64.b64encode(_embedded_png(path)).decode("ascii")
        figures.append(f'<figure><img alt="{_e(path.stem)}" src="data:image/png;base64,{data}">'
                       f"<figcaption>{_e(_caption(path.stem))}</figcaption></figure>")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(name)}: service level versus ROI</title>
<style>{CSS}</style>
</head>
<body>
<h1>{_e(name)}: service level versus ROI</h1>
<p class="meta">Report of the {_e(kind)} in <code>{_e(results.directory.name)}</code>;
{len(results.alternatives)} alternatives, up to {results.replications} replications each;
objective {_e(KPI_BY_KEY[results.objective].label)}; written {_e(stamp)}.</p>
<p class="summary" id="summary">{_e(sentence)}</p>
<p>Best alternative: <strong>#{best.id}</strong> ({_e(_params_text(best.params))}).
Not significantly worse: {_e(", ".join(f"#{i}" for i in results.not_worse))}.</p>

<h2>How to read this report</h2>
{_how_to_read(results)}

<h2>Charts</h2>
{"".join(figures) or "<p>No charts could be drawn.</p>"}

<h2>Figures by alternative</h2>
<p class="legend"><span style="background:var(--best)">best</span>
<span style="background:var(--nw)">not significantly worse</span>
Each cell: mean, and below it the 95 % confidence interval.</p>
{_figures_table(results)}

<h2>Scenario</h2>
<p>The base scenario as run (<code>scenario.yaml</code>); each alternative sets the swept
keys on top of it.</p>
<pre>{_e(yaml_text)}</pre>

<footer>servicesim report · {_e(results.directory)}</footer>
</body>
</html>
"""


# ----------------------------------------------------------------------------- Excel


def _excel_value(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _number_format(key: str) -> str | None:
    unit = _unit(key)
    if unit == "fraction":
        return "0.00%"
    if unit == "money":
        return "#,##0"
    if unit == "money/unit":
        return "#,##0.00"
    if unit == "days":
        return "0.00"
    if unit in ("units", "customers"):
        return "#,##0.0"
    return None


def _sheet(workbook: Any, title: str, header: Sequence[str], rows: Sequence[Sequence[Any]],
           formats: Sequence[str | None] = (), widths: Sequence[float] = ()) -> Any:
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    sheet = workbook.create_sheet(title)
    sheet.append(list(header))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for row in rows:
        sheet.append([_excel_value(v) for v in row])
    for cells in sheet.iter_rows():
        for cell in cells:
            if cell.data_type == "f":  # text that reads as a formula stays text
                cell.data_type = "s"
    sheet.freeze_panes = "A2"
    for column, name in enumerate(header, start=1):
        letter = get_column_letter(column)
        number_format = formats[column - 1] if column - 1 < len(formats) else None
        if number_format:
            for (cell,) in sheet.iter_rows(min_row=2, min_col=column, max_col=column):
                cell.number_format = number_format
        width = widths[column - 1] if column - 1 < len(widths) else None
        if width is None:
            longest = max([len(str(name))] + [len(str(r[column - 1])) for r in rows[:200]
                                              if column - 1 < len(r)], default=8)
            width = min(max(10, longest + 2), 60)
        sheet.column_dimensions[letter].width = width
    return sheet


def _workbook(results: Results, sentence: str, yaml_text: str) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment

    workbook = Workbook()
    workbook.remove(workbook.active)
    best = results.best_alternative
    objective = results.objective
    o_mean, o_low, o_high = best.interval(objective)
    summary_rows = [
        ("Scenario", results.scenario_name),
        ("Results folder", str(results.directory)),
        ("Kind", results.kind),
        ("Summary", sentence),
        ("Objective", KPI_BY_KEY[objective].label),
        ("Best alternative", best.id),
        *((f"Best {k}", v) for k, v in best.params.items()),
        (f"Best {objective} (mean)", o_mean),
        (f"Best {objective} (95 % CI low)", o_low),
        (f"Best {objective} (95 % CI high)", o_high),
        ("Best item fill rate (mean)", best.mean("item_fill_rate")),
        ("Best average inventory value (mean)", best.mean("avg_inventory_value")),
        ("Not significantly worse", ", ".join(str(i) for i in results.not_worse)),
        ("Alternatives", len(results.alternatives)),
        ("Replications (up to)", results.replications),
        ("Root seed", results.seed),
    ]
    sheet = _sheet(workbook, "Summary", ["Item", "Value"], summary_rows, widths=(36, 100))
    formats = {f"Best {objective} (mean)": _number_format(objective),
               f"Best {objective} (95 % CI low)": _number_format(objective),
               f"Best {objective} (95 % CI high)": _number_format(objective),
               "Best item fill rate (mean)": "0.00%",
               "Best average inventory value (mean)": "#,##0"}
    for label, value in sheet.iter_rows(min_row=2):
        if formats.get(label.value):
            value.number_format = formats[label.value]
        value.alignment = Alignment(wrap_text=True, vertical="top", horizontal="left")

    keys = list(results.keys)
    header = ["alternative", *keys, "best", "not_worse"]
    columns_format: list[str | None] = [None] * len(header)
    for key in SUMMARY_KEYS:
        header += [f"{key} mean", f"{key} ci_low", f"{key} ci_high"]
        columns_format += [_number_format(key)] * 3
    rows = []
    nw = set(results.not_worse)
    for a in results.alternatives:
        row: list[Any] = [a.id, *(a.params.get(k) for k in keys), a.id == results.best,
                          a.id in nw]
        for key in SUMMARY_KEYS:
            row += list(a.interval(key))
        rows.append(row)
    _sheet(workbook, "Alternatives", header, rows, columns_format,
           widths=[12] + [max(12, len(k) + 2) for k in keys] + [8, 11]
           + [16] * (3 * len(SUMMARY_KEYS)))

    columns = list(results.runs[0]) if results.runs else []
    run_formats = [_number_format(c) for c in columns]
    _sheet(workbook, "Runs", columns, [[r.get(c) for c in columns] for r in results.runs],
           run_formats, widths=[max(10, min(len(c) + 2, 30)) for c in columns])
    _sheet(workbook, "Scenario", ["scenario.yaml"], [[line] for line in yaml_text.splitlines()],
           widths=(110,))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# ----------------------------------------------------------------------------- entry point


def write_report(results_dir: str | Path, out_dir: str | Path | None = None
                 ) -> dict[str, Path]:
    """Write ``report.html`` and ``report.xlsx`` of a sweep or optimisation folder into
    ``out_dir`` (default: the folder itself); returns ``{"html": path, "xlsx": path}``.

    Raises :class:`ReportError` for a folder that holds no results.
    """
    try:
        results = load_results(results_dir)
    except PlotError as exc:
        raise ReportError(str(exc)) from None
    folder = Path(out_dir) if out_dir is not None else results.directory
    folder.mkdir(parents=True, exist_ok=True)
    sentence = summary_sentence(results)
    charts = _chart_files(results)
    scenario_file = results.scenario_file
    yaml_text = (scenario_file.read_text(encoding="utf-8") if scenario_file.is_file()
                 else "(scenario.yaml is missing from the results folder)")
    html_path = atomic_write_text(folder / "report.html",
                                  _html(results, sentence, charts, yaml_text))
    xlsx_path = atomic_write_bytes(folder / "report.xlsx",
                                   _workbook(results, sentence, yaml_text))
    return {"html": Path(html_path), "xlsx": Path(xlsx_path)}
