"""The report printed to PDF by headless Chromium, on US letter and on A4: every
alternative and the best one are on paper, and no table is cut (a table's rows stay on one
page or its header repeats on every page it reaches).  Skipped where no browser exists
(.ci/run installs Chromium)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from servicesim.outputs.report import FIGURE_GROUPS, write_report
from servicesim.outputs.results import load_results
from test_report import run_sweep, write_today

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
TARGETS = [round(0.60 + 0.01 * i, 2) for i in range(40)]
"""40 alternatives: longer than a page, so the long tables must repeat their header."""

ROW = re.compile(r"^(#\d+|today) [\d.]+ %")
"""A row of a figures table as the PDF's text shows it: the alternative, then its target."""

pytestmark = pytest.mark.slow


def _browser() -> str | None:
    return next((path for path in map(shutil.which, BROWSERS) if path), None)


def _print(browser: str, page: Path, pdf: Path, profile: Path) -> None:
    command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
               "--no-first-run", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", f"--user-data-dir={profile}",
               f"--print-to-pdf={pdf}", "--no-pdf-header-footer", page.as_uri()]
    subprocess.run(command, capture_output=True, timeout=180, check=False)
    assert pdf.is_file() and pdf.stat().st_size > 0, f"{browser} printed no PDF"


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if _browser() is None:
        pytest.skip("no Chromium or Chrome on this machine (.ci/run installs one)")
    folder = run_sweep(tmp_path_factory.mktemp("pdf"), ",".join(map(str, TARGETS)), 2)
    results = load_results(folder)
    today = next(a.id for a in results.alternatives
                 if a.params["policy.service_target"] == 0.95)
    write_today(folder, today, (0.01, -0.02, 0.04))
    return folder


@pytest.fixture(scope="module", params=["letter", "A4"])
def pages(request: pytest.FixtureRequest, report: Path,
          tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    pypdf = pytest.importorskip("pypdf")
    browser = _browser()
    assert browser is not None
    out = tmp_path_factory.mktemp(request.param)
    page = write_report(report, out)["html"]
    if request.param == "A4":  # Chromium prints on US letter unless the page asks for A4
        text = page.read_text(encoding="utf-8")
        page.write_text(text.replace("</style>", "@page { size: A4; }</style>"),
                        encoding="utf-8")
    _print(browser, page, out / "report.pdf", out / "profile")
    return [p.extract_text() or "" for p in pypdf.PdfReader(out / "report.pdf").pages]


def _tables(pages: list[str]) -> list[str]:
    """The title rows of the figures tables, as they head their tables."""
    titles = [line for text in pages for line in text.splitlines()
              if line.startswith("Key figures by alternative")
              or line.endswith(": mean and 95 % confidence interval")]
    return list(dict.fromkeys(titles))


def test_every_alternative_and_the_best_are_printed(report: Path, pages: list[str]) -> None:
    results = load_results(report)
    assert 4 <= len(pages) <= 40
    text = "\n".join(pages)
    start = text.index("Key figures by alternative")
    key_rows = [line for line in text[start:text.index("Charts", start)].splitlines()
                if ROW.match(line)]
    printed = [line.split()[0] for line in key_rows]
    ordered = sorted(results.alternatives, key=lambda a: a.params["policy.service_target"])
    assert printed == ["today", *(f"#{a.id}" for a in ordered)]
    best = next(line for line in key_rows if line.startswith(f"#{results.best} "))
    assert best.endswith("best")  # the last column is on the page too
    assert "Appendix B: the scenario as run" in text and "name: one-sku" in text


def test_no_table_is_cut(pages: list[str]) -> None:
    titles = _tables(pages)
    assert len(titles) == 1 + len(FIGURE_GROUPS)  # the key figures and the appendix groups
    current, rows_per_table = None, dict.fromkeys(titles, 0)
    for number, text in enumerate(pages, start=1):
        headed = set()
        for line in text.splitlines():
            if line in titles:
                current = line
                headed.add(line)
            elif ROW.match(line):
                assert current is not None, f"page {number}: a row outside a table: {line}"
                assert current in headed, (f"page {number}: rows of '{current}' without its "
                                           "header: the table is cut")
                rows_per_table[current] += 1
    assert all(count == 1 + len(TARGETS) for count in rows_per_table.values()), rows_per_table
