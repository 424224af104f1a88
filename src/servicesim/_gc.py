"""Garbage-collector pauses around allocation-heavy work: model building and policy
derivation freeze the objects that exist already, runs turn the collector off."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

_freezing = False
"""Whether :func:`older_objects_frozen` holds a freeze in this process now."""


@contextlib.contextmanager
def older_objects_frozen() -> Iterator[None]:
    """Keep the garbage collector's full passes off the objects that exist already (the
    scenario, whatever the caller holds) while a model is built or policies derived.

    Both allocate many objects, and now and then the collector walks every
    object of the process: with the scenario of a 1,000-SKU item master loaded, one such
    walk cost as much as building the model.  ``gc.freeze`` moves the existing objects out
    of its sight and ``gc.unfreeze`` puts them back when the block ends, so nothing escapes
    collection for longer than that.  A process that froze objects itself (before forking,
    say) or turned the collector off is left as it is.
    """
    global _freezing
    # nested inside another such block: its freeze holds already (and counting the frozen
    # objects walks all of them: some 40 ms per call with a network's policies in memory)
    if _freezing or not gc.isenabled() or gc.get_freeze_count():
        yield
        return
    gc.freeze()
    _freezing = True
    try:
        yield
    finally:
        _freezing = False
        gc.unfreeze()


@contextlib.contextmanager
def collector_off() -> Iterator[None]:
    """Run a simulation with the garbage collector off, and turn it back on afterwards.

    A run makes no cyclic garbage: every object it drops is freed by reference counting
    (``tests/test_scale.py`` checks this on every shipped and test scenario), so during a
    run the collector has nothing to find, only the run's live objects to walk, a few
    per cent of a 1,000-SKU run.  A process that turned the collector off is left as it is.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
