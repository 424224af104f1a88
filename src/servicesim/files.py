"""Writing files safely: atomic writes (a crash never leaves half a file), names that are safe
as folder names, and CSV/JSON cells.
"""

from __future__ import annotations

import csv
import io
import json
import math
import numbers
import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from contextlib import suppress
from pathlib import Path
from typing import Any


class OutputError(Exception):
    """A result file could not be written; the message names the path and the reason."""


# ------------------------------------------------------------------------ atomic files


def _umask() -> int:
    """The process umask, read without changing it (Linux), else the usual 0o022."""
    with suppress(OSError, ValueError):
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    return 0o022


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically, creating parent folders; the path written.

    Raises :class:`OutputError` (naming the path) on permission, disk-full or other
    operating-system errors; the previous file, if any, is then left untouched.
    """
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            mode = target.stat().st_mode & 0o7777
        except FileNotFoundError:
            mode = 0o666 & ~_umask()
        fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.",
                                    suffix=".tmp")
        try:
            _write_temp(fd, data)
            os.chmod(temp, mode)
            os.replace(temp, target)
        except BaseException:
            with suppress(OSError):
                os.unlink(temp)
            raise
        _sync_folder(target.parent)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise OutputError(f"cannot write {target}: {reason}") from exc
    return target


def _write_temp(fd: int, data: bytes) -> None:
    """Write ``data`` to the open temporary file ``fd``, flush it to disk and close it."""
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def atomic_write_text(path: str | os.PathLike[str], text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_write_bytes`)."""
    return atomic_write_bytes(path, text.encode(encoding))


def _sync_folder(folder: Path) -> None:
    """Make a rename durable (POSIX); a no-op where folders cannot be opened."""
    flags = getattr(os, "O_DIRECTORY", None)
    if flags is None:
        return
    with suppress(OSError):
        fd = os.open(folder, os.O_RDONLY | flags)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# ----------------------------------------------------------------------- run outputs



def safe_folder_name(name: str) -> str:
    """``name`` as one folder name; a ValueError (saying why, see :func:`name_problem`) if it
    is not one safe name."""
    problem = name_problem(name)
    if problem is not None:
        raise ValueError(f"{name!r} cannot be used as a folder name: {problem}")
    return name



FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet read a text cell as a formula."""


def neutralised(text: str) -> str:
    """``text`` safe as a spreadsheet cell: text that a spreadsheet would take for a formula
    (starting with ``= + - @``, a tab or a carriage return, after any apostrophes) gets a
    leading apostrophe, as OWASP advises against CSV injection; :func:`restored` takes it
    off again, so every text reads back exactly."""
    return "'" + text if _reads_as_formula(text) else text


def restored(text: str) -> str:
    """The text :func:`neutralised` was given."""
    return text[1:] if text.startswith("'") and _reads_as_formula(text) else text


def _reads_as_formula(text: str) -> bool:
    return text.lstrip("'").startswith(FORMULA_START)


def csv_cell(value: Any) -> str:
    """A CSV cell: floats at full (round-trip) precision, integers exact, None empty,
    mappings and lists as compact JSON, text :func:`neutralised`."""
    if value is None:
        return ""
    if isinstance(value, str):
        return neutralised(value)
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        return repr(float(value))
    if isinstance(value, Mapping | list | tuple):
        return json.dumps(jsonable(value), separators=(",", ":"), ensure_ascii=False)
    return str(value)


def csv_text(rows: Sequence[Mapping[str, Any]], first: Sequence[str] = (),
             extend: bool = True) -> str:
    """Tidy CSV text: the ``first`` columns, then (with ``extend``) any other keys met."""
    columns = list(first)
    if extend:
        known = set(columns)
        for row in rows:
            for key in row:
                if key not in known:
                    columns.append(key)
                    known.add(key)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([csv_cell(row.get(column)) for column in columns])
    return buffer.getvalue()

def jsonable(value: Any) -> Any:
    """Plain JSON data: non-finite numbers become null, NumPy scalars Python numbers."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        number = float(value)
        return number if math.isfinite(number) else None
    if hasattr(value, "tolist"):
        return jsonable(value.tolist())
    return str(value)


# ------------------------------------------------------------------- safe path names

WINDOWS_RESERVED_NAMES = frozenset(
    ["CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(10)),
     *(f"LPT{i}" for i in range(10))])
"""Device names Windows will not use as a file or folder name (with any extension)."""


SAFE_NAME_RULE = ("1 to 100 letters, digits, '_', '.' or '-', starting with a letter or digit, "
                  "not ending with '.', without '..', and not a Windows device name (CON, "
                  "PRN, AUX, NUL, COM1-9, LPT1-9)")
"""What :func:`name_problem` allows, in words for a message."""

_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}\Z")


def name_problem(name: object) -> str | None:
    """Why ``name`` cannot be one file or folder name on every system, or None if it can.

    Allowed: :data:`SAFE_NAME_RULE` -- so no path separators, ``..``, control characters,
    absolute paths, trailing dots or spaces, or names Windows reserves.
    """
    if not isinstance(name, str) or not _SAFE_NAME.match(name):
        return f"a name is {SAFE_NAME_RULE}"
    if ".." in name:
        return "a name must not contain '..'"
    if name.endswith("."):
        return "a name must not end with '.' (Windows drops it)"
    if name.split(".")[0].upper() in WINDOWS_RESERVED_NAMES:
        return f"{name.split('.')[0]} is a device name on Windows, not a file name"
    return None


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def safe_child(folder: str | os.PathLike[str], name: object, option: str = "name") -> Path:
    """``folder / name``, after checking that ``name`` is one safe file or folder name and
    that the path stays inside ``folder`` (symbolic links resolved).

    ``folder`` is the results folder the user chose (any path); ``name`` is a name the
    program or the user gives inside it (a scenario name, a sweep id).  Raises
    :class:`OutputError` naming ``option``, the value and what is allowed.
    """
    problem = name_problem(name)
    if problem is not None:
        raise OutputError(f"{option} {_shown(name)}: {problem}")
    base = Path(folder)
    if "\0" in os.fspath(base):
        raise OutputError(f"{option}: the folder {_shown(os.fspath(base))} contains a NUL "
                          "character")
    child = base / str(name)
    try:
        inside = child.resolve().is_relative_to(base.resolve())
    except (OSError, RuntimeError) as exc:  # e.g. a symbolic-link loop
        raise OutputError(f"{option} {_shown(name)}: cannot resolve {child}: {exc}") from None
    if not inside:
        raise OutputError(f"{option} {_shown(name)}: {child} leads outside {base} "
                          "(a symbolic link?); choose another name or folder")
    return child
