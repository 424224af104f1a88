"""Every figure of the recorded runs (``tests/figures.py``) equals, to the bit, what was
recorded in ``tests/data/figures.json``: a refactor must not move a single figure."""

from __future__ import annotations

import json
from typing import Any

import pytest

import figures

RECORDED: dict[str, Any] = json.loads(figures.FIGURES_PATH.read_text(encoding="utf-8"))
RUNS = dict(figures.runs())


def test_every_recorded_run_is_still_run() -> None:
    assert sorted(RUNS) == sorted(RECORDED)


@pytest.mark.parametrize("name", sorted(RUNS))
def test_figures_are_bit_identical(name: str) -> None:
    now = json.loads(json.dumps(RUNS[name]()))
    before = RECORDED[name]
    for part in before:
        assert now.get(part) == before[part], f"{name}: {part} moved"
    assert sorted(now) == sorted(before)
