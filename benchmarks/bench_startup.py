"""Start-up time of the ``servicesim`` command against a bare ``python -c pass``.

The case (issue #14, item 20): ``servicesim --version`` and ``--help`` must answer within
0.3 s and ``servicesim validate scenarios/baseline.yaml`` within 1 s, each counted as its
wall time minus that of ``python -c pass`` measured in the same run (the interpreter's own
start-up is not servicesim's to save).  Each command runs in a fresh interpreter
(``python -m servicesim ...``, the servicesim this script imports), the commands interleaved
``--repeats`` times after one untimed round that writes the bytecode caches; the median of
each is used, and the best is printed beside it (other work on a shared machine only ever
adds time).  The script exits 1 when a target is missed or a command fails.

Run:  python benchmarks/bench_startup.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import servicesim  # lazy: this imports only the version

ROOT = Path(__file__).resolve().parents[1]
SOURCES = Path(servicesim.__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"

COMMANDS: dict[str, tuple[list[str], float | None]] = {
    "python -c pass": (["-c", "pass"], None),
    "servicesim --version": (["-m", "servicesim", "--version"], 0.3),
    "servicesim --help": (["-m", "servicesim", "--help"], 0.3),
    "servicesim validate baseline": (["-m", "servicesim", "validate", str(BASELINE)], 1.0),
}
"""What is timed: interpreter arguments and the target in seconds over ``python -c pass``."""


def _environment() -> dict[str, str]:
    """This process's environment with the servicesim it imports first on the path."""
    env = dict(os.environ)
    path = env.get("PYTHONPATH")
    env["PYTHONPATH"] = str(SOURCES) + (os.pathsep + path if path else "")
    return env


def time_once(arguments: list[str], env: dict[str, str]) -> float:
    """Wall time of one fresh interpreter running ``arguments``; a failure stops the run."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, *arguments], env=env, cwd=ROOT,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"bench_startup: {' '.join(arguments)} failed (exit "
                         f"{done.returncode}): {done.stderr.decode(errors='replace')[-500:]}")
    return elapsed


def measure(repeats: int) -> dict[str, list[float]]:
    """Wall times of every command, interleaved, after one untimed warm-up round."""
    env = _environment()
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for round_ in range(repeats + 1):
        for name, (arguments, _) in COMMANDS.items():
            elapsed = time_once(arguments, env)
            if round_:
                times[name].append(elapsed)
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7,
                        help="timed runs of each command (default 7)")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be >= 1")
    times = measure(args.repeats)
    base = statistics.median(times["python -c pass"])
    base_best = min(times["python -c pass"])
    print(f"servicesim start-up benchmark ({servicesim.__version__} from {SOURCES}; "
          f"median and best of {args.repeats}, Python {sys.version.split()[0]})")
    print(f"  {'python -c pass':<30} {base:6.3f} s  (best {base_best:.3f} s)")
    missed = 0
    for name, (_, target) in COMMANDS.items():
        if target is None:
            continue
        median = statistics.median(times[name]) - base
        best = min(times[name]) - base_best
        met = median <= target
        missed += not met
        print(f"  {name:<30} {median:+6.3f} s  (best {best:+.3f} s)  over python -c pass; "
              f"target <= {target:.1f} s: {'met' if met else 'NOT met'}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
