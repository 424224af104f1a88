"""Seeds made in bulk (servicesim._seeds) equal NumPy's SeedSequence children."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from servicesim._seeds import FixedSeed, crc32, keyed_seeds

ROOTS = [
    np.random.SeedSequence(7),
    np.random.SeedSequence(0),
    np.random.SeedSequence(7).spawn(4)[3],
    np.random.SeedSequence(2**100 + 12345, spawn_key=(3, 2**40)),
    np.random.SeedSequence(2**200 + 1),  # run entropy longer than the pool
]
NAMES = ["SKU-1", "", "Ünïcode ✓", "a" * 300] + [f"S{i:05d}" for i in range(200)]


def _numpy_child(root: np.random.SeedSequence, source: str, name: str
                 ) -> np.random.SeedSequence:
    return np.random.SeedSequence(
        root.entropy, spawn_key=tuple(root.spawn_key) + (crc32(source), crc32(name)))


@pytest.mark.parametrize("root", ROOTS, ids=range(len(ROOTS)))
def test_bulk_seeds_give_numpy_states_and_draws(root: np.random.SeedSequence) -> None:
    seeds = keyed_seeds(root, "sku_quantity", NAMES)
    assert len(seeds) == len(NAMES)
    for seed, name in zip(seeds, NAMES, strict=True):
        assert isinstance(seed, FixedSeed)
        expected = _numpy_child(root, "sku_quantity", name)
        np.testing.assert_array_equal(seed.generate_state(4, np.uint64),
                                      expected.generate_state(4, np.uint64))
    for seed, name in zip(seeds[:5], NAMES[:5], strict=True):
        ours = np.random.Generator(np.random.PCG64(seed)).random(50)
        theirs = np.random.Generator(np.random.PCG64(_numpy_child(root, "sku_quantity",
                                                                  name))).random(50)
        np.testing.assert_array_equal(ours, theirs)


@settings(max_examples=60, deadline=None)
@given(entropy=st.integers(0, 2**130), spawn=st.lists(st.integers(0, 2**70), max_size=3),
       source=st.text(max_size=12), names=st.lists(st.text(max_size=12), min_size=1,
                                                   max_size=5))
def test_bulk_seeds_match_numpy_for_any_key(entropy: int, spawn: list[int], source: str,
                                            names: list[str]) -> None:
    root = np.random.SeedSequence(entropy, spawn_key=spawn)
    for seed, name in zip(keyed_seeds(root, source, names), names, strict=True):
        np.testing.assert_array_equal(
            seed.generate_state(4, np.uint64),
            _numpy_child(root, source, name).generate_state(4, np.uint64))


def test_roots_outside_the_bulk_rule_get_numpy_seed_sequences() -> None:
    for root in (np.random.SeedSequence([1, 2, 3]),
                 np.random.SeedSequence(5, pool_size=8)):
        seeds = keyed_seeds(root, "lead_time", ["A", "B"])
        assert all(isinstance(s, np.random.SeedSequence) for s in seeds)
        assert seeds[1].spawn_key == tuple(root.spawn_key) + (crc32("lead_time"), crc32("B"))


def test_a_fixed_seed_refuses_other_requests() -> None:
    seed = keyed_seeds(np.random.SeedSequence(1), "x", ["y"])[0]
    with pytest.raises(ValueError, match="4 words of uint64"):
        seed.generate_state(8, np.uint32)
