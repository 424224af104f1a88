"""The documentation site builds in strict mode, and strict mode does catch broken links.

``mkdocs build --strict`` turns every warning into a failure: a link to a page or an anchor
that does not exist, a page left out of the navigation, an API reference (``::: name``) that
does not resolve.  The second and third tests break a copy of the docs on purpose, so this
file can fail when the configuration stops being strict.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _build(config: Path, site: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        # Not --quiet: it hides warnings from the counter that makes --strict fail.
        [sys.executable, "-m", "mkdocs", "build", "--strict",
         "--config-file", str(config), "--site-dir", str(site)],
        cwd=config.parent, capture_output=True, text=True, timeout=120,
    )


def _copy_docs(tmp_path: Path) -> Path:
    """A copy of docs/ and mkdocs.yml that reads the package from this checkout."""
    shutil.copytree(ROOT / "docs", tmp_path / "docs")
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    assert "paths: [src]" in config, "mkdocs.yml no longer reads the package from src/"
    config = config.replace("paths: [src]", f"paths: [{(ROOT / 'src').as_posix()!r}]")
    (tmp_path / "mkdocs.yml").write_text(config, encoding="utf-8")
    return tmp_path / "mkdocs.yml"


@pytest.mark.slow  # about 4 s: griffe reads the whole package for the API reference
def test_site_builds_in_strict_mode(tmp_path: Path) -> None:
    result = _build(ROOT / "mkdocs.yml", tmp_path / "site")
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{result.stderr}"
    reference = (tmp_path / "site" / "reference" / "index.html").read_text(encoding="utf-8")
    assert "run_replications" in reference and "load_scenario" in reference
    assert ":class:" not in reference, "Sphinx roles left in the rendered API reference"


def test_broken_link_and_anchor_fail_the_build(tmp_path: Path) -> None:
    config = _copy_docs(tmp_path)
    # The API reference page is the slow one and has nothing to do with links: keep it plain.
    (tmp_path / "docs" / "reference.md").write_text("# API reference\n", encoding="utf-8")
    with (tmp_path / "docs" / "index.md").open("a", encoding="utf-8") as page:
        page.write("\n[gone](no-such-page.md) and [moved](results.md#no-such-section)\n")
    result = _build(config, tmp_path / "site")
    assert result.returncode != 0, "a broken link did not fail the strict build"
    assert "no-such-page.md" in result.stderr
    assert "no-such-section" in result.stderr


def test_unresolved_api_reference_fails_the_build(tmp_path: Path) -> None:
    config = _copy_docs(tmp_path)
    (tmp_path / "docs" / "reference.md").write_text(
        "# API reference\n\n::: servicesim.no_such_function\n", encoding="utf-8")
    result = _build(config, tmp_path / "site")
    assert result.returncode != 0, "an unresolved API reference did not fail the build"
    assert "no_such_function" in result.stderr
