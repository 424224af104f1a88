"""The report of a what-if comparison (``servicesim compare``): ``report.html`` and
``report.xlsx`` in the compare folder, in the form of the sweep report — the finding in
words, what each scenario changes, one row per scenario with the key figures, the paired
differences to the reference with their 95 % intervals, the chart, the assumptions and
appendices (DOMAIN §6 for the paired comparison)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..files import atomic_write_bytes, atomic_write_text
from ..kpis import KEY_FIGURES, KPI_BY_KEY, KPIS
from .assumptions import assumption_tables, number, scenario_yaml
from .formatting import change_text, ci_text, finite, fmt, unit_text
from .html import e, figure, html_table, page, page_yaml, plain_table
from .report import figure_groups, one_replication_note
from .results import ComparisonResults, PlotError, load_comparison
from .workbook import (
    BEST_FILL,
    Sheet,
    assumptions_sheet,
    header_text,
    number_format,
    runs_sheet,
    write_workbook,
    yaml_sheet,
)

__all__ = ["compare_sentences", "scenario_changes", "write_compare_report"]

SENTENCE_FIGURES = ("roi", "operating_profit", "avg_inventory_value", "item_fill_rate")


def _number(value: Any) -> float:
    return float(value) if finite(value) else float("nan")


def _significant(row: dict[str, Any]) -> bool:
    low, high = _number(row.get("diff_ci_low")), _number(row.get("diff_ci_high"))
    return finite(low) and finite(high) and (low > 0 or high < 0)


def compare_sentences(result: ComparisonResults, currency: str | None) -> list[str]:
    """Per scenario, its paired differences to the reference in words (ROI with the 95 %
    CI of the difference, operating profit, inventory value, fill rate); then the scenario
    with the highest mean ROI."""
    out = []
    for label in result.labels[1:]:
        parts = []
        for key in SENTENCE_FIGURES:
            row = result.row(key, label)
            diff = _number(row.get("diff"))
            name = KPI_BY_KEY[key].label.split(" (")[0]
            text = f"{name[0].lower() + name[1:]} {change_text(key, diff, currency)}"
            if key == "roi":
                interval = ci_text(key, _number(row.get("diff_ci_low")),
                                   _number(row.get("diff_ci_high")), True)
                text = (f"ROI {fmt(key, result.row(key, result.reference)['mean'])} → "
                        f"{fmt(key, row['mean'])} ({change_text(key, diff)}, 95 % CI "
                        f"{interval})")
            if not _significant(row):
                text += " (not significant)"
            parts.append(text)
        out.append(f"“{label}” against “{result.reference}”: " + "; ".join(parts) + ".")
    best = max(result.labels, key=lambda x: _number(result.row("roi", x)["mean"]))
    out.append(f"The highest mean ROI: “{best}” "
               f"({fmt('roi', result.row('roi', best)['mean'])}). Differences marked not "
               "significant cannot be told apart from chance at the 95 % level.")
    return out


def _flat(data: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(data, dict):
        out: dict[str, Any] = {}
        for key, value in data.items():
            out.update(_flat(value, f"{prefix}{key}."))
        return out
    return {prefix[:-1]: data}


def _key_words(key: str) -> str:
    """A dotted key in words: ``supplier.lead_time_days.mean`` → "supplier › lead time
    days › mean"."""
    return " › ".join(part.replace("_", " ") for part in key.split("."))


def _shown(value: Any) -> str:
    if value is None:
        return "not set"
    return number(value) if finite(value) else str(value)


def scenario_changes(result: ComparisonResults) -> list[tuple[str, str]]:
    """Per scenario after the reference, the keys whose values differ from the reference's
    (``key: old → new``; name and description left out)."""
    try:
        scenarios = result.scenarios()
    except PlotError:
        return []
    base = _flat(scenarios[0].model_dump(mode="json"))
    out = []
    for label, scenario in zip(result.labels[1:], scenarios[1:], strict=False):
        other = _flat(scenario.model_dump(mode="json"))
        changed = [f"{_key_words(k)}: {_shown(base.get(k))} → {_shown(other.get(k))}"
                   for k in sorted(set(base) | set(other))
                   if k not in ("name", "description") and base.get(k) != other.get(k)]
        out.append((label, "; ".join(changed[:12]) + (" …" if len(changed) > 12 else "")
                    or "no change in the scenario"))
    return out


def _key_table(result: ComparisonResults, currency: str | None) -> str:
    header = ["Scenario"] + [_header(k, currency) for k in KEY_FIGURES]
    best = max(result.labels, key=lambda x: _number(result.row("roi", x)["mean"]))
    rows, classes = [], []
    for label in result.labels:
        rows.append([label + (" (reference)" if label == result.reference else "")]
                    + [fmt(k, result.row(k, label)["mean"]) for k in KEY_FIGURES])
        classes.append("best" if label == best else "today" if label == result.reference
                       else "")
    return html_table(header, rows, row_classes=classes, klass="figures",
                      group="Key figures by scenario (means over the replications)")


def _header(key: str, currency: str | None) -> str:
    unit = unit_text(key, currency)
    return KPI_BY_KEY[key].label if unit == "%" else f"{KPI_BY_KEY[key].label} ({unit})"


def _differences_table(result: ComparisonResults, currency: str | None) -> str:
    others = result.labels[1:]
    header = ["Figure"]
    for label in others:
        header += [f"{label}: change", "95 % CI"]
    rows = []
    for key in KEY_FIGURES:
        row = [_header(key, currency)]
        for label in others:
            r = result.row(key, label)
            diff = _number(r.get("diff"))
            mark = " *" if _significant(r) else ""
            shown = (f"{100 * diff:+,.1f} points" if KPI_BY_KEY[key].unit == "fraction"
                     else fmt(key, diff, signed=True))
            row += [shown + mark, ci_text(key, _number(r.get("diff_ci_low")),
                                          _number(r.get("diff_ci_high")), signed=True)]
        rows.append(row)
    return html_table(header, rows, group=f"Change against {result.reference}, paired over "
                      f"the {result.replications} common replications (* the 95 % CI "
                      "excludes 0)")


def _appendix(result: ComparisonResults, currency: str | None) -> str:
    out = []
    for title, keys in figure_groups():
        header = ["Scenario"] + [_header(k, currency) for k in keys]
        rows = []
        for label in result.labels:
            row = [e(label)]
            for k in keys:
                r = result.row(k, label)
                row.append(f"{e(fmt(k, r['mean']))}<span class=\"ci\">"
                           f"{e(ci_text(k, _number(r['ci_low']), _number(r['ci_high'])))}</span>")
            rows.append(row)
        out.append(html_table([e(h) for h in header], rows, raw=True,
                              group=f"{title}: mean and 95 % confidence interval"))
    return "".join(out)


def _chart(result: ComparisonResults) -> Path | None:
    path = result.directory / "compare.png"
    if not path.is_file():
        from .compare_chart import write_compare_chart

        path = write_compare_chart(result)["png"]
    return path


def _currency_and_scenario(result: ComparisonResults) -> tuple[str | None, Any]:
    try:
        reference = result.scenarios()[0]
    except PlotError:
        return None, None
    return reference.finance.currency, reference


def _html(result: ComparisonResults, sentences: list[str], currency: str | None,
          reference: Any) -> str:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    changes = scenario_changes(result)
    chart = _chart(result)
    shown = figure(chart, "Paired differences against the reference with their 95 % "
                          "intervals, one panel per key figure.") if chart else ""
    tables = "".join(plain_table(t) for t in assumption_tables(reference)) if reference else ""
    yaml_text = scenario_yaml(reference) if reference else "(the scenarios cannot be read)"
    body = f"""<h1>{e(result.reference)}: what-if comparison</h1>
<p class="meta">Report of the comparison in <code>{e(result.directory.name)}</code>;
{len(result.labels)} scenarios, {result.replications} replications each (common random
numbers, root seed {e(result.seed)}); written {e(stamp)}.</p>
<div class="summary" id="summary">{"".join(f"<p>{e(s)}</p>" for s in sentences)}</div>
{one_replication_note(result.replications)}
<h2>What is compared</h2>
{html_table(["Scenario", "Changes against the reference"], changes, klass="text")
 if changes else ""}
<h2>Figures by scenario</h2>
{_key_table(result, currency)}
{_differences_table(result, currency)}
<h2>Chart</h2>
{shown}
<h2>How to read this report</h2>
<ul><li>Every scenario was simulated for the same {result.replications} replications:
replication <em>r</em> uses the same random seed in every scenario (common random numbers),
so differences come from the scenarios, not from luck.</li>
<li>A change is the mean over the replications of (scenario − reference), with its 95 %
paired confidence interval; * marks a change whose interval excludes 0.</li>
<li>Fractions in %, changes of fractions in percentage points, money in
{e(currency or "the scenario’s currency")} (M = million) over the measured window; ROI is
annualised.</li></ul>
<h2>Assumptions of the reference</h2>
{tables}
<h2 class="appendix">Appendix A: every figure by scenario</h2>
{_appendix(result, currency)}
<h2 class="appendix">Appendix B: the reference scenario as run</h2>
<pre>{e(page_yaml(yaml_text))}</pre>
<footer>servicesim report · {e(result.directory)}</footer>"""
    return page(f"{result.reference}: what-if comparison", body)


# ----------------------------------------------------------------------------- workbook


def _workbook(result: ComparisonResults, sentences: list[str], currency: str | None,
              reference: Any) -> bytes:
    summary = Sheet("Summary", ["Item", "Value"],
                    [["Reference", result.reference], ["Results folder", str(result.directory)],
                     *(["Finding", s] for s in sentences),
                     *([f"Changes: {label}", text] for label, text in scenario_changes(result)),
                     ["Replications", result.replications], ["Root seed", result.seed],
                     ["Currency", currency or "not stated"]],
                    widths=[30, 110], table=False)
    header = ["Scenario"]
    formats: list[str | None] = [None]
    for kpi in KPIS:
        header += [header_text(kpi.key, currency),
                   header_text(kpi.key, currency, ", 95 % CI low"),
                   header_text(kpi.key, currency, ", 95 % CI high")]
        formats += [number_format(kpi.key)] * 3
    rows = [[label] + [r for k in KPIS for r in (result.row(k.key, label)["mean"],
                                                  result.row(k.key, label)["ci_low"],
                                                  result.row(k.key, label)["ci_high"])]
            for label in result.labels]
    best = max(range(len(result.labels)),
               key=lambda i: _number(result.row("roi", result.labels[i])["mean"]))
    scenarios = Sheet("Scenarios", header, rows, formats, {best: BEST_FILL},
                      widths=[24] + [16] * (3 * len(KPIS)))
    diff_rows, cell_formats = [], {}
    for key in (k.key for k in KPIS):
        for label in result.labels[1:]:
            r = result.row(key, label)
            diff_rows.append([KPI_BY_KEY[key].label, unit_text(key, currency), label,
                              result.row(key, result.reference)["mean"], r["mean"], r["diff"],
                              r["diff_ci_low"], r["diff_ci_high"], r["p_value"],
                              "yes" if _significant(r) else "no"])
            for column in range(3, 8):
                fmt_ = number_format(key)
                if fmt_:
                    cell_formats[(len(diff_rows) - 1, column)] = fmt_
            cell_formats[(len(diff_rows) - 1, 8)] = "0.0000"
    differences = Sheet("Differences", ["Figure", "Unit", "Scenario", f"{result.reference} "
                                        "(reference), mean", "Scenario, mean",
                                        "Change (scenario − reference)", "Change, 95 % CI low",
                                        "Change, 95 % CI high", "p-value",
                                        "Significant (95 %)"], diff_rows,
                        widths=[30, 10, 22, 18, 16, 18, 18, 18, 10, 12],
                        cell_formats=cell_formats, freeze="D2")
    runs = runs_sheet(result.runs, [("scenario", "Scenario #"), ("label", "Scenario")],
                      currency, lambda r: (int(r["scenario"]), int(r["replication"])))
    sheets = [summary, scenarios, differences, runs]
    if reference is not None:
        sheets += [assumptions_sheet(assumption_tables(reference)),
                   yaml_sheet(scenario_yaml(reference))]
    return write_workbook(sheets)


def write_compare_report(results_dir: str | Path, out_dir: str | Path | None = None
                         ) -> dict[str, Path]:
    """``report.html`` and ``report.xlsx`` of a compare folder into ``out_dir`` (default:
    the folder); a PlotError for a folder that is not one."""
    result = load_comparison(results_dir)
    folder = Path(out_dir) if out_dir is not None else result.directory
    folder.mkdir(parents=True, exist_ok=True)
    currency, reference = _currency_and_scenario(result)
    sentences = compare_sentences(result, currency)
    document = _html(result, sentences, currency, reference)
    workbook = _workbook(result, sentences, currency, reference)
    html_path = atomic_write_text(folder / "report.html", document)
    xlsx_path = atomic_write_bytes(folder / "report.xlsx", workbook)
    return {"html": Path(html_path), "xlsx": Path(xlsx_path)}
