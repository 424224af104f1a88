"""Garbage-collector pauses around allocation-heavy work (model building and runs, policy
derivation)."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def older_objects_frozen() -> Iterator[None]:
    """Keep the garbage collector's full passes off the objects that exist already (the
    scenario, whatever the caller holds) while a model is built and run, or policies derived.

    Building and running allocate many objects, and now and then the collector walks every
    object of the process: with the scenario of a 1,000-SKU item master loaded, one such
    walk cost as much as building the model.  ``gc.freeze`` moves the existing objects out
    of its sight and ``gc.unfreeze`` puts them back when the block ends, so nothing escapes
    collection for longer than that.  A process that froze objects itself (before forking,
    say) or turned the collector off is left as it is.
    """
    if gc.get_freeze_count() or not gc.isenabled():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
