#!/usr/bin/env python3
"""Quick start without any setup: creates ./.venv, installs servicesim into it, runs a task.

    python3 tasks.py run     # the main job: find the ROI-maximising service level of the
                             # default scenario and how it moves with customer behaviour
                             # (--sensitivity); charts, tables and files in results/
    python3 tasks.py test    # run the test suite
    python3 tasks.py bench   # the speed benchmarks in benchmarks/
    python3 tasks.py app     # the interactive what-if page (http://127.0.0.1:8050/);
                             # extra arguments go to `servicesim app`, e.g. --port 8060

Needs only Python 3.11+ and access to PyPI.  The environment is reinstalled when
pyproject.toml changes.  Extra arguments are passed on, e.g.
``python3 tasks.py run scenarios/theory_basestock_backorder.yaml`` (that scenario's
service-target search), or any servicesim command: ``python3 tasks.py servicesim run
scenarios/baseline.yaml``.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".servicesim-installed"


def ensure_environment() -> None:
    """Create the virtual environment and install the project with its test extras."""
    if sys.version_info < (3, 11):  # noqa: UP036 - this script may run on an older Python
        sys.exit(f"servicesim needs Python 3.11 or newer (this is {sys.version.split()[0]})")
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text().strip() == wanted and PYTHON.exists():
        return
    if not PYTHON.exists():
        print(f"creating {VENV} ...", file=sys.stderr)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print("installing servicesim and its dependencies (one time) ...", file=sys.stderr)
    pip = [str(PYTHON), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "-e", f"{ROOT}[test]"], check=True)
    STAMP.write_text(wanted)


def main(argv: list[str]) -> int:
    task, rest = (argv[0], argv[1:]) if argv else ("run", [])
    ensure_environment()
    os.chdir(ROOT)
    if task == "run":
        scenario = rest[0] if rest else "scenarios/baseline.yaml"
        cmd = [str(PYTHON), "-m", "servicesim", "optimize", scenario, "--param",
               "policy.service_target", "--bounds", "0.80", "0.999", "--max-replications",
               "20", "--sensitivity", *rest[1:]]
    elif task == "app":
        cmd = [str(PYTHON), "-m", "servicesim", "app", *rest]
    elif task == "servicesim":
        cmd = [str(PYTHON), "-m", "servicesim", *rest]
    elif task == "test":
        # Test files run in parallel, one process per core (pytest-xdist), each file whole
        # in one process so that its module-level fixtures (the validation runs) are
        # simulated once; give -n 0 to run serially.
        parallel = [] if any(a == "-n" or a.startswith(("-n", "--numprocesses")) for a in rest) \
            else ["-n", "auto", "--dist", "loadfile"]
        cmd = [str(PYTHON), "-m", "pytest", *parallel, *rest]
    elif task == "bench":  # every benchmark runs; the status says whether any target failed
        failed = []
        for script in sorted((ROOT / "benchmarks").glob("bench_*.py")):
            print(f"== {script.name}", flush=True)
            if subprocess.run([str(PYTHON), str(script), *rest]).returncode:
                failed.append(script.name)
        if failed:
            print(f"targets not met in: {', '.join(failed)}", file=sys.stderr)
        return 1 if failed else 0
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return subprocess.run(cmd).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
