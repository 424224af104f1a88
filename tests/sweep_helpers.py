"""What the sweep, fault and Dask tests share: a tiny scenario, and running the CLI in a
subprocess of its own process group (so a test can signal all of it)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from servicesim.scenario.schema import Scenario

TINY: dict[str, Any] = {
    "name": "tiny",
    "run": {"horizon_days": 120, "warmup_days": 20, "replications": 3, "seed": 7},
    "skus": {"A": {"unit_cost": 10, "price": 15}},
    "policy": {"service_target": 0.9},
    "segments": {"s": {"customers": 20,
                       "order_interval_days": {"type": "exponential", "mean": 1.0},
                       "reactions": {"backorder": 0.5, "switch": 0.5}}},
}
"""One SKU, one segment, 120 days: a run takes milliseconds."""

BASE = Scenario.model_validate(TINY)


def write_tiny(folder: Path) -> Path:
    """TINY as ``folder/tiny.yaml``."""
    path = folder / "tiny.yaml"
    path.write_text(yaml.safe_dump(TINY, sort_keys=False), encoding="utf-8")
    return path


def data_rows(path: Path) -> int:
    """Rows under the header of a CSV file (0 if it does not exist)."""
    try:
        return max(len(path.read_bytes().splitlines()) - 1, 0)
    except FileNotFoundError:
        return 0


def start(args: list[str], cwd: Path) -> subprocess.Popen[str]:
    """``python -m servicesim`` in its own process group."""
    return subprocess.Popen([sys.executable, "-m", "servicesim", *args], cwd=cwd,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def group_gone(pgid: int, timeout: float = 10) -> bool:
    """Whether every process of the group has ended within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False
