"""Random streams of one replication and the sizes of their first draw blocks.

Every stochastic source gets its own generator keyed by the *names* of the source and of the
SKU or segment (common random numbers, STYLE habit 4); streams a run may never use are made
on their first draw, their first block sized to the draws expected over the horizon.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .._seeds import crc32, keyed_seeds
from ..policies.derivation import DerivedPolicy
from ..policies.registry import policy_family
from ..scenario.distributions import as_draws, block_sizes, integer_moments
from ..scenario.schema import Scenario


def stream(root: np.random.SeedSequence, source: str, name: str = "") -> np.random.Generator:
    """An independent generator for one stochastic source.

    The stream is keyed by the *names* of the source and of the SKU/segment, not by position,
    so adding a SKU or a segment does not reshuffle the random numbers of the others
    (common random numbers, STYLE habit 4).
    """
    key = (crc32(source), crc32(name))
    return generator(np.random.SeedSequence(root.entropy,
                                            spawn_key=tuple(root.spawn_key) + key))


def generator(seed: Any) -> np.random.Generator:
    """The generator of one stream: PCG64 seeded by a child ``SeedSequence`` (or the
    equal :class:`~servicesim._seeds.FixedSeed` of :func:`~servicesim._seeds.keyed_seeds`)."""
    return np.random.Generator(np.random.PCG64(seed))


class PerSku(dict[int, Callable[[], Any]]):
    """The samplers of one stochastic source of a segment, one stream per SKU, keyed by the
    names of the source, the segment and the SKU: ``samplers[i]()`` draws for the SKU at
    position ``i``, so what one SKU draws never depends on how often the others drew nor on
    where they are listed (common random numbers, DOMAIN §2).

    A SKU's stream is made at its first draw (most never draw: these sources serve
    stockouts), the seeds of all of them together at the segment's first draw
    (:func:`~servicesim._seeds.keyed_seeds`); ``make`` builds a sampler on a generator."""

    __slots__ = ("_key", "_names", "_make", "_seeds")

    def __init__(self, root: np.random.SeedSequence, source: str, owner: str,
                 names: list[str], make: Callable[[np.random.Generator], Callable[[], Any]]
                 ) -> None:
        super().__init__()
        self._key = (root, source, owner)
        self._names = names
        self._make = make
        self._seeds: list[Any] | None = None

    def __missing__(self, i: int) -> Callable[[], Any]:
        seeds = self._seeds
        if seeds is None:
            root, source, owner = self._key
            within = np.random.SeedSequence(root.entropy, pool_size=root.pool_size,
                                            spawn_key=tuple(root.spawn_key) + (crc32(source),))
            seeds = self._seeds = keyed_seeds(within, owner, self._names)
        sampler = self[i] = self._make(generator(seeds[i]))
        return sampler


def on_first_use(owner: Any, attribute: str, make: Callable[[], Callable[[], Any]]) -> None:
    """Set ``owner.attribute`` to a sampler that ``make()`` builds on the first draw.

    The first call builds the sampler, puts it in place of itself (later calls go straight
    to it) and returns its first draw; the draws are those of ``make()`` whenever it runs.
    """

    def first_draw() -> Any:
        sampler = make()
        setattr(owner, attribute, sampler)
        return sampler()

    setattr(owner, attribute, first_draw)


def uniforms(rng: np.random.Generator) -> Any:
    """Uniform [0, 1) draws, buffered in blocks (see :func:`block_sizes`)."""
    blocks = (as_draws(rng.random(size)) for size in block_sizes())
    return itertools.chain.from_iterable(blocks).__next__


def expected_lines(sc: Scenario) -> np.ndarray:
    """Order lines of each SKU expected over the horizon (initial customers, all segments)."""
    lines = np.zeros(len(sc.skus))
    for name, seg in sc.segments.items():
        if seg.customers == 0:
            continue
        weights = np.asarray(sc.sku_weights(name), dtype=float)
        per_order = integer_moments(seg.lines_per_order, 1)[0]
        lines += seg.customers / seg.order_interval_days.mean * per_order * weights \
            / weights.sum()
    return lines * sc.run.horizon_days


def purchase_orders_expected(pol: DerivedPolicy, lines: float, horizon: float) -> float:
    """Purchase orders of a SKU expected over the horizon (for sizing its lead-time draws)."""
    return policy_family(pol.type).purchase_orders_expected(pol, lines, horizon)


def first_block(expected: float) -> int:
    """First block of a sampler expected to give about ``expected`` draws: that many and a
    margin of 3 standard deviations (Poisson), between 16 and 65,536."""
    if not expected < 65_536:  # also NaN
        return 65_536
    return max(16, int(expected + 3.0 * math.sqrt(expected) + 8.0))
