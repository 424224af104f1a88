"""Child seed sequences made in bulk, bit-identical to NumPy's.

A model keys each random stream by the run's root ``SeedSequence`` and the names of the
source and of the SKU (``model._stream``): the child's spawn key is the root's plus the
CRC-32 of both names.  Made one at a time, a ``SeedSequence`` and the ``PCG64`` state it
generates cost about 30 µs, which for the two streams of each of 1,000 SKUs is a tenth of a
two-year run.  :func:`keyed_seeds` computes the same 128-bit ``PCG64`` seeds for many names
at once with NumPy array arithmetic (the hash and mixing steps of ``numpy.random.
SeedSequence``, after M. E. O'Neill's ``seed_seq`` replacement), and hands each out as a
small :class:`ISeedSequence` that ``PCG64`` accepts directly.  ``tests/test_seeds.py``
checks the states and draws against ``SeedSequence`` itself.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np
from numpy.random.bit_generator import ISeedSequence

_MASK32 = 0xFFFFFFFF
_POOL_SIZE = 4
# the constants of numpy.random.SeedSequence's hash and mix
_INIT_A, _MULT_A = 0x43B0D7E5, 0x931E8875
_INIT_B, _MULT_B = 0x8B51F9DD, 0x58F38DED
_MIX_MULT_L, _MIX_MULT_R = 0xCA01F9DD, 0x4973F715
_XSHIFT = 16


class FixedSeed(ISeedSequence):
    """A seed sequence whose state is known: ``generate_state(4, uint64)`` returns it
    (what ``PCG64`` asks for); any other request is refused."""

    __slots__ = ("state",)

    def __init__(self, state: np.ndarray) -> None:
        self.state = state

    def generate_state(self, n_words: int, dtype: object = np.uint32) -> np.ndarray:
        if n_words != len(self.state) or np.dtype(dtype) != self.state.dtype:  # type: ignore[call-overload]
            raise ValueError(f"a fixed seed holds {len(self.state)} words of "
                             f"{self.state.dtype}, not {n_words} of {dtype}")
        return self.state


def _uint32_words(value: object) -> list[int] | None:
    """``value`` (a non-negative int) as little-endian 32-bit words, as SeedSequence splits
    it ([0] for 0); None for anything else (left to SeedSequence itself)."""
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 0:
        return None
    value = int(value)
    words = [value & _MASK32]
    value >>= 32
    while value:
        words.append(value & _MASK32)
        value >>= 32
    return words


class _Hash:
    """SeedSequence's ``hashmix``: xor with a running multiplier, which then steps (times
    ``mult``, modulo 2³²), multiply by it, fold the high half in.  The pool is mixed with
    one (``INIT_A``, ``MULT_A``), the output words are drawn from it with another."""

    def __init__(self, init: int = _INIT_A, mult: int = _MULT_A) -> None:
        self.const, self.mult = init, mult

    def mix(self, value: np.ndarray) -> np.ndarray:
        value = value ^ np.uint32(self.const)
        self.const = (self.const * self.mult) & _MASK32
        value = value * np.uint32(self.const)
        return value ^ (value >> np.uint32(_XSHIFT))


def _mix(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    result: np.ndarray = np.uint32(_MIX_MULT_L) * x - np.uint32(_MIX_MULT_R) * y
    return result ^ (result >> np.uint32(_XSHIFT))


def _pcg64_states(entropy: list[np.ndarray]) -> np.ndarray:
    """The ``generate_state(4, uint64)`` of SeedSequences with the given assembled entropy
    words (each an array over the children), as an (n, 4) uint64 array."""
    n = len(entropy[0])
    hashing = _Hash()
    pool = [hashing.mix(entropy[i] if i < len(entropy) else np.zeros(n, np.uint32))
            for i in range(_POOL_SIZE)]
    for src in range(_POOL_SIZE):
        for dst in range(_POOL_SIZE):
            if src != dst:
                pool[dst] = _mix(pool[dst], hashing.mix(pool[src]))
    for word in entropy[_POOL_SIZE:]:
        for dst in range(_POOL_SIZE):
            pool[dst] = _mix(pool[dst], hashing.mix(word))
    out = np.empty((n, 2 * _POOL_SIZE), dtype=np.uint32)
    drawing = _Hash(_INIT_B, _MULT_B)
    for i in range(2 * _POOL_SIZE):
        out[:, i] = drawing.mix(pool[i % _POOL_SIZE])
    # pairs of 32-bit words, low word first, as SeedSequence assembles 64-bit words
    return out[:, 0::2].astype(np.uint64) | (out[:, 1::2].astype(np.uint64) << np.uint64(32))


def crc32(text: str) -> int:
    """The key word of a name in a stream's spawn key."""
    return zlib.crc32(text.encode())


def keyed_seeds(root: np.random.SeedSequence, source: str, names: Sequence[str]
                ) -> list[ISeedSequence]:
    """Seeds of the streams (``source``, name) for each of ``names``: equivalent to
    ``SeedSequence(root.entropy, spawn_key=root.spawn_key + (crc32(source), crc32(name)))``
    for ``PCG64`` (the same state, hence the same draws).

    A root with entropy other than a non-negative int, or a pool size other than 4, gets
    NumPy's own ``SeedSequence`` per name."""
    key = tuple(root.spawn_key) + (crc32(source),)
    run = _uint32_words(root.entropy)
    spawn = [_uint32_words(k) for k in key]
    if run is None or root.pool_size != _POOL_SIZE or any(w is None for w in spawn):
        return [np.random.SeedSequence(root.entropy, spawn_key=key + (crc32(name),),
                                       pool_size=root.pool_size) for name in names]
    # the assembled entropy: run entropy padded to the pool size (a spawn key follows),
    # then the spawn key's words; only the last word differs between the names
    common = run + [0] * max(0, _POOL_SIZE - len(run))
    for words in spawn:
        common += words or []
    n = len(names)
    last = np.fromiter((crc32(name) for name in names), dtype=np.uint32, count=n)
    entropy = [np.full(n, w, dtype=np.uint32) for w in common] + [last]
    return [FixedSeed(row) for row in _pcg64_states(entropy)]
