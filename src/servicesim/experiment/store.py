"""The results folder of a sweep, an optimisation or a comparison, in one place.

A results folder holds tidy rows (``runs.csv``: one row per alternative × replication, its
parameters, seed and every figure; habit 6 of STYLE), the scenario as run and a manifest
saying what was run and how far it got (``manifest.json`` of a sweep or a comparison,
``result.json`` of an optimisation).  This module owns what they share:

- run ids: the default id is a kind (``sweep``, ``optimize``, ``compare``) and 10 hex digits
  of a SHA-256 over what decides the rows, so the same run finds its folder again
  (:func:`content_id`); an id given by the user must be one safe folder name
  (:func:`check_run_id`);
- the manifest: read back (:meth:`ResultsFolder.read_manifest`) and written atomically,
  with a ``status`` of :data:`RUNNING`, :data:`INTERRUPTED`, :data:`FAILED` or
  :data:`COMPLETE`;
- ``runs.csv``: written atomically through :mod:`servicesim.files` (:class:`RunsFile`,
  :func:`runs_text`) and read back with typed cells (:func:`read_table`: every reader of
  result files uses it), a torn last line ignored; resume finds the rows already there by
  (alternative, replication) (:meth:`Table.by_key`);
- a lock (:meth:`ResultsFolder.lock`): one writer at a time; a second sweep, optimisation
  or comparison writing the same folder is refused at once with :class:`FolderLocked`;
- chart records (``chart_records.json``, :class:`ChartRecords`): what replication 0 of each
  alternative recorded beyond its figures (the order-cycle-time histogram, the units short
  by reaction), so that charts are drawn from files and never run the model again.

What must match for a folder to be continued or reused (the sweep's identity, the
optimisation's content id, the comparison's scenarios) stays with each kind of run: the
store reads and writes, the callers decide.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..files import (
    OutputError,
    atomic_write_text,
    csv_cell,
    csv_text,
    jsonable,
    name_problem,
    restored,
)
from ..kpis import SUMMARY_KEYS, location_columns
from ..scenario.schema import Scenario
from ..scenario.serialise import parse_yaml
from ..scenario.validation import scenario_from_dict

__all__ = [
    "is_kind_folder",
    "utc_now",
    "COMPLETE",
    "ComparisonTable",
    "FAILED",
    "INTERRUPTED",
    "RUNNING",
    "RUNS_FILE",
    "CHARTS_FILE",
    "ChartRecords",
    "SCENARIO_FILE",
    "FolderLocked",
    "ResultsFolder",
    "RunsFile",
    "Table",
    "has_rows",
    "check_run_id",
    "content_id",
    "csv_line",
    "figure_columns",
    "parse_cell",
    "read_chart_records",
    "read_scenario",
    "with_chart_records",
    "read_table",
    "runs_text",
]

RUNS_FILE, SCENARIO_FILE, CHARTS_FILE = "runs.csv", "scenario.yaml", "chart_records.json"
RUNNING, INTERRUPTED, FAILED, COMPLETE = "running", "interrupted", "failed", "complete"
"""The ``status`` of a manifest: still being written, stopped by Ctrl-C or SIGTERM (resume
continues it), stopped by an error, or done."""

Key = tuple[int, int]
"""(alternative, replication): the key of a row of ``runs.csv``."""


# --------------------------------------------------------------------------------- ids


def content_id(kind: str, identity: Any, compact: bool = True) -> str:
    """``<kind>-`` and 10 hex digits of a SHA-256 over ``identity`` (JSON, keys sorted).

    ``compact`` drops the blanks after separators; optimisations were always hashed with
    JSON's default separators, so they pass False to find their earlier folders again.
    """
    separators = (",", ":") if compact else None
    text = json.dumps(identity, sort_keys=True, separators=separators, allow_nan=False,
                      default=str)
    return f"{kind}-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:10]


def _shown(value: str) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def check_run_id(run_id: str, naming: str = "the id names the results folder",
                 error: type[OutputError] = OutputError) -> str:
    """``run_id`` if it is one safe folder name (:func:`servicesim.files.name_problem`),
    else ``error`` saying ``--id <id>: <naming>; <what is allowed>``."""
    problem = name_problem(run_id)
    if problem is not None:
        raise error(f"--id {_shown(run_id)}: {naming}; {problem}")
    return run_id


# ---------------------------------------------------------------------------- runs.csv


def csv_line(cells: Sequence[str]) -> str:
    """One line of CSV text (cells already rendered by :func:`servicesim.files.csv_cell`)."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(cells)
    return buffer.getvalue()


def figure_columns(scenario: Scenario) -> tuple[str, ...]:
    """The figure columns of a row of ``runs.csv`` (and ``today.csv``): every summary figure,
    then for a network (DOMAIN §7) ``<location>.<figure>`` of each location in network order
    (upstream first), each with :data:`~servicesim.kpis.LOCATION_FIGURES` in order.  A
    scenario without ``locations`` has the summary figures alone."""
    if scenario.locations is None:
        return SUMMARY_KEYS
    return SUMMARY_KEYS + location_columns(scenario.network_order())


def runs_text(rows: Sequence[Mapping[str, Any]], columns: Sequence[str],
              extend: bool = False) -> str:
    """The text of ``runs.csv``: ``columns`` (and, with ``extend``, any other keys met)."""
    return csv_text(rows, columns, extend=extend)


def parse_cell(text: str) -> Any:
    """A cell as :func:`~servicesim.files.csv_cell` wrote it: empty is None, ``True`` and
    ``False`` booleans, numbers (``nan`` and ``inf`` too) and JSON as such, else text."""
    if text == "":
        return None
    if text.startswith("'"):
        return restored(text)
    if text in ("True", "False"):
        return text == "True"
    try:
        return json.loads(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


@dataclass(frozen=True)
class Table:
    """A CSV file of the folder as read (``runs.csv``, a sweep's ``summary.csv``): its
    header and the cells of every whole line after it."""

    path: Path
    columns: tuple[str, ...]
    lines: tuple[tuple[str, ...], ...]
    """The cells as written (lines with another number of cells than the header included:
    callers that check rows see them; :meth:`rows` leaves them out)."""

    def rows(self) -> list[dict[str, Any]]:
        """Every line with one cell per column, as ``{column: typed value}``."""
        width = len(self.columns)
        return [{c: parse_cell(v) for c, v in zip(self.columns, cells, strict=True)}
                for cells in self.lines if len(cells) == width]

    def by_key(self) -> dict[Key, dict[str, Any]]:
        """The first row of each (alternative, replication); rows without whole-number
        ``alternative`` and ``replication`` are left out."""
        found: dict[Key, dict[str, Any]] = {}
        for row in self.rows():
            alternative, replication = row.get("alternative"), row.get("replication")
            if type(alternative) is int and type(replication) is int:
                found.setdefault((alternative, replication), row)
        return found


def read_table(path: str | os.PathLike[str]) -> Table | None:
    """The CSV file at ``path``, such as ``runs.csv`` (None if there is none, or it is
    empty); :meth:`Table.rows` gives its rows with typed cells.

    Every line is written whole, ending with a newline: a last line without one was cut
    short (a writer killed while not writing atomically, a copy cut off) and is left out,
    as is anything after a line the CSV reader cannot parse.  An unreadable file raises
    :class:`~servicesim.files.OutputError` naming it.
    """
    target = Path(path)
    try:
        raw = target.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise OutputError(f"cannot read {target}: {exc.strerror or exc}") from None
    text = _csv_text(target, raw)
    if not text.endswith("\n"):  # every line is written whole: the last one was cut short
        text = text[: text.rfind("\n") + 1]
    reader = csv.reader(io.StringIO(text, newline=""))
    lines: list[tuple[str, ...]] = []
    try:
        header = next(reader, None)
        if header is None:
            return None
        lines.extend(tuple(cells) for cells in reader)
    except csv.Error:
        pass  # a torn last line: keep what was read
    return Table(target, tuple(header), tuple(lines))


_REPAIR = ("save it again as comma-separated CSV in UTF-8 with '.' as the decimal point, or "
           "restore it from a copy; or run again with a new --id (this folder is left as it is)")


def _csv_text(target: Path, raw: bytes) -> str:
    """The text of a result table, or an OutputError saying what is wrong with it and how
    to repair it.  A byte-order mark (a spreadsheet's "CSV UTF-8") is dropped."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise OutputError(f"{target} is not UTF-8 text (byte 0x{raw[exc.start]:02x} on line "
                          f"{line}): it was damaged, or saved in another encoding; "
                          f"{_REPAIR}") from None
    header = text.split("\n", 1)[0]
    if ";" in header and "," not in header:
        raise OutputError(f"{target} is separated by semicolons (a spreadsheet saved it in a "
                          f"regional format); {_REPAIR}")
    return text


def has_rows(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` exists with anything after its first line (the header)."""
    target = Path(path)
    try:
        with target.open("rb") as handle:
            handle.readline()
            return bool(handle.read(1))
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise OutputError(f"cannot read {target}: {exc}") from None


FLUSH_SECONDS = 1.0
"""How often at most :class:`RunsFile` rewrites a growing ``runs.csv`` (longer when the
rewrite itself takes long)."""


class RunsFile:
    """``runs.csv`` kept whole: rows held in memory by (alternative, replication), or the
    ``key`` columns given, the file rewritten atomically (sorted by key) when due, so a kill
    leaves only whole rows."""

    def __init__(self, path: Path, columns: Sequence[str],
                 rows: Mapping[Any, Mapping[str, Any]] | None = None,
                 interval: float = FLUSH_SECONDS,
                 before_write: Callable[[], None] | None = None,
                 key: Sequence[str] = ("alternative", "replication"),
                 keep_rows: bool = True) -> None:
        self.path, self.columns, self.key = path, list(columns), tuple(key)
        # a file of many small rows (one per stock point) keeps their lines only
        self.keep_rows = keep_rows
        # e.g. the chart records of the rows about to be written, so that no row in the
        # file stands without its record whenever the process is stopped
        self.before_write = before_write
        self.header = csv_line(self.columns)
        self.rows: dict[Any, Mapping[str, Any]] = dict(rows or {})
        self.lines: dict[Any, str] = {k: self._line(r) for k, r in self.rows.items()}
        self.n_initial = len(self.rows)
        self.n_written = len(self.rows)  # rows in the file as last written
        self.dirty = True
        self.last_write = -math.inf
        self.min_interval = self.interval = interval

    def _line(self, row: Mapping[str, Any]) -> str:
        return csv_line([csv_cell(row.get(column)) for column in self.columns])

    def add(self, row: Mapping[str, Any], write: bool = True) -> None:
        """Keep a finished row; the file is rewritten with the first new row (so it shows
        at once), then at most every ``interval`` seconds (never with ``write=False``: the
        rows of a file that another one's ``before_write`` writes)."""
        key = tuple(row[k] for k in self.key)
        self.lines[key] = self._line(row)
        self.rows[key] = row if self.keep_rows else {}
        self.dirty = True
        if not write:
            return
        first = len(self.rows) == self.n_initial + 1
        if first or time.monotonic() - self.last_write >= self.interval:
            self.write()

    def add_line(self, key: tuple[Any, ...], line: str) -> None:
        """Keep a row given as its finished line (``key``: its key columns' values), for a
        writer that renders many small rows faster than :meth:`add`; never writes."""
        self.lines[key] = line
        self.rows[key] = {}
        self.dirty = True

    def write(self) -> None:
        """Rewrite the file now (sorted by alternative, replication) if anything changed."""
        if not self.dirty:
            return
        start = time.monotonic()
        if self.before_write is not None:
            self.before_write()
        atomic_write_text(self.path, self.header + "".join(self.lines[k]
                                                           for k in sorted(self.lines)))
        self.n_written = len(self.lines)
        self.dirty = False
        self.last_write = time.monotonic()
        # a large file is rewritten less often, so that writing never dominates
        self.interval = max(self.min_interval, 5 * (self.last_write - start))


# ---------------------------------------------------------------------- the folder


class FolderLocked(OutputError):
    """Another servicesim run is writing the results folder; the message names it."""


def _lock_path(directory: Path) -> Path:
    """The lock file of a results folder: outside the folder (whose files are exactly the
    results), in a per-user folder of the temporary directory, named by a hash of the
    folder's absolute path."""
    where = os.path.realpath(os.path.abspath(directory))
    digest = hashlib.sha256(os.fsencode(where)).hexdigest()[:24]
    user = os.getuid() if hasattr(os, "getuid") else os.environ.get("USERNAME", "user")
    return Path(tempfile.gettempdir()) / f"servicesim-locks-{user}" / f"{digest}.lock"


@dataclass(frozen=True)
class ResultsFolder:
    """One results folder and the name of its manifest (``manifest.json`` of a sweep or a
    comparison, ``result.json`` of an optimisation); ``error`` is the exception its
    problems are raised as (a subclass of :class:`~servicesim.files.OutputError`)."""

    directory: Path
    manifest_name: str = "manifest.json"
    error: type[OutputError] = OutputError

    @property
    def runs_path(self) -> Path:
        return self.directory / RUNS_FILE

    @property
    def manifest_path(self) -> Path:
        return self.directory / self.manifest_name

    def read_runs(self) -> Table | None:
        """This folder's ``runs.csv`` (:func:`read_table`)."""
        try:
            return read_table(self.runs_path)
        except OutputError as exc:
            raise self.error(str(exc)) from None

    def has_rows(self) -> bool:
        """Whether ``runs.csv`` holds any row (a header alone is none)."""
        try:
            return has_rows(self.runs_path)
        except OutputError as exc:
            raise self.error(str(exc)) from None

    def read_manifest(self) -> dict[str, Any] | None:
        """The manifest (None if there is none); an unreadable one raises
        :class:`~servicesim.files.OutputError` naming it."""
        try:
            document = json.loads(self.manifest_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise self.error(f"cannot read {self.manifest_path}: {exc}; choose another "
                             "--id or --out") from None
        return document if isinstance(document, dict) else {}

    def write_manifest(self, document: Mapping[str, Any]) -> Path:
        """Write the manifest atomically: indented JSON, non-finite numbers as null."""
        return self.write_text(self.manifest_name, json.dumps(
            jsonable(document), indent=2, ensure_ascii=False, allow_nan=False) + "\n")

    def write_runs(self, rows: Sequence[Mapping[str, Any]], columns: Sequence[str],
                   extend: bool = False) -> Path:
        """Write ``runs.csv`` atomically from ``rows`` (in the order given)."""
        return self.write_text(RUNS_FILE, runs_text(rows, columns, extend))

    def write_text(self, name: str, text: str) -> Path:
        """Write one file of the folder atomically (:func:`servicesim.files.atomic_write_text`)."""
        return atomic_write_text(self.directory / name, text)

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Hold this folder for one writer: a second servicesim run that asks while the
        first holds it gets :class:`FolderLocked` at once (no waiting).

        The lock is an operating-system lock (``filelock``) on a file outside the folder,
        so it guards writers on this machine and goes with the process that held it, even
        one killed outright.
        """
        from filelock import FileLock, Timeout

        path = _lock_path(self.directory)
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            held = FileLock(path, timeout=0, is_singleton=False)
            held.acquire()
        except Timeout:
            raise FolderLocked(
                f"{self.directory} is being written by another servicesim run (it holds "
                "the folder's lock); wait until it ends, or choose another --id or --out"
            ) from None
        except OSError as exc:
            raise OutputError(f"cannot lock {self.directory} ({path}): "
                              f"{exc.strerror or exc}") from None
        try:
            yield
        finally:
            held.release()


# ---------------------------------------------------------------------- chart records


class ChartRecords:
    """The chart records of a results folder, by alternative, written atomically to
    ``chart_records.json`` right before the rows they belong to (:meth:`write`, which the
    writer of ``runs.csv`` calls), so that every row kept in ``runs.csv`` has its record
    however the process is stopped.  A record whose row a stop cut off describes the very
    simulation a resume repeats (the same seed), and is replaced by it.

    ``keep``: continue the records already in the folder (a resumed run); otherwise the
    folder's old records are removed, so that they never describe other rows."""

    def __init__(self, folder: ResultsFolder, keep: bool) -> None:
        self.folder = folder
        self.dirty = False
        self.records: dict[int, dict[str, Any]] = {}
        if keep:
            self.records = read_chart_records(folder.directory)
        else:
            try:
                (folder.directory / CHARTS_FILE).unlink(missing_ok=True)
            except OSError as exc:
                raise folder.error(f"cannot remove {folder.directory / CHARTS_FILE}: "
                                   f"{exc.strerror or exc}") from None

    def add(self, alternative: int, record: Mapping[str, Any]) -> None:
        """Keep ``alternative``'s record (written with the next :meth:`write`)."""
        self.records[int(alternative)] = dict(record)
        self.dirty = True

    def write(self) -> None:
        """Rewrite the file if a record came since the last write."""
        if not self.dirty:
            return
        document = {"alternatives": {str(k): self.records[k] for k in sorted(self.records)}}
        self.folder.write_text(CHARTS_FILE, json.dumps(
            jsonable(document), ensure_ascii=False, allow_nan=False) + "\n")
        self.dirty = False


def read_chart_records(directory: str | os.PathLike[str]) -> dict[int, dict[str, Any]]:
    """The chart records of a results folder by alternative ({} when it has none: a folder
    written before runs recorded them); an unreadable file raises
    :class:`~servicesim.files.OutputError` naming it."""
    path = Path(directory) / CHARTS_FILE
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        return {int(k): v for k, v in document["alternatives"].items()}
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise OutputError(f"cannot read {path}: {exc}; run the sweep or optimisation "
                          "again to record it") from None



def with_chart_records(rows: Mapping[Key, Any], records: Mapping[int, Any]) -> dict[Key, Any]:
    """``rows`` less the replication-0 rows whose chart record is missing (the record's
    write failed, or an older servicesim wrote the folder): a resumed run simulates them
    again, which gives the same row and records what the charts need."""
    return {key: row for key, row in rows.items() if key[1] != 0 or key[0] in records}

def read_scenario(directory: str | os.PathLike[str]) -> Scenario:
    """The scenario as run (``scenario.yaml`` of a results folder), validated; a missing or
    unreadable file raises :class:`~servicesim.files.OutputError` naming it, an invalid one
    :class:`~servicesim.errors.ScenarioError`."""
    path = Path(directory) / SCENARIO_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise OutputError(f"{path} is missing") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise OutputError(f"cannot read {path}: {exc}") from None
    return scenario_from_dict(parse_yaml(text, str(path)), str(path))


# ------------------------------------------------------------------- comparisons


class ComparisonTable:
    """What a comparison and its reader (:class:`servicesim.outputs.results.
    ComparisonResults`) share: the scenarios' labels, the first being the reference, and
    the table of one row per figure × scenario."""

    labels: Sequence[str]
    table: list[dict[str, Any]]

    @property
    def reference(self) -> str:
        return self.labels[0]

    def row(self, figure: str, label: str) -> dict[str, Any]:
        """The table row of one figure and scenario (by label)."""
        for row in self.table:
            if row["figure"] == figure and row["label"] == label:
                return row
        raise KeyError(f"no row for figure {figure!r} and scenario {label!r}")


def utc_now() -> str:
    """The time now in UTC, to the second, as a manifest's sessions record it."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def is_kind_folder(directory: str | os.PathLike[str], summary_file: str, kind: str) -> bool:
    """Whether a folder holds the results of a command of ``kind``: its ``summary_file``,
    or a manifest of that kind (a run still going, interrupted or failed)."""
    folder = Path(directory)
    if (folder / summary_file).is_file():
        return True
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and manifest.get("kind") == kind
