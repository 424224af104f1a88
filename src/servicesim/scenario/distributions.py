"""Probability distributions used in scenarios.

Each distribution is a small validated, immutable object (Ciw's habit): it knows its
analytic ``mean`` and ``variance``, has a readable ``repr``, and builds a fast *sampler*
bound to one ``numpy.random.Generator``.  A sampler is a zero-argument callable that returns
one draw; it draws from the generator in blocks, so the SimPy model pays about 50 ns per
draw instead of a NumPy call.  The sequence of draws depends only on the generator's seed,
never on global state.

In YAML a distribution is a mapping with a ``type`` key, e.g.
``{type: exponential, mean: 2.5}``; a bare number means a constant.

Times (days) are never negative: draws of ``normal`` below zero are clamped to zero.
Integer quantities (units per line, lines per order) use :func:`integer_sampler`, which
rounds a draw and clamps it at a minimum (1 by default); :func:`integer_moments` gives the
exact mean and variance of that transformed quantity.
"""

from __future__ import annotations

import array
import functools
import itertools
import math
from collections.abc import Callable, Iterator
from typing import Annotated, Any, ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator


def _stats() -> Any:
    """``scipy.stats``, imported on first use: loading and validating a scenario needs none
    of it, and importing it takes most of a second."""
    from scipy import stats

    return stats


def _special() -> Any:
    """``scipy.special``, imported on first use (as :func:`_stats`)."""
    from scipy import special

    return special


Sampler = Callable[[], float]
"""A zero-argument callable returning one draw."""

BLOCK_SIZE = 1024
"""Draws fetched from NumPy per refill of a sampler's buffer (at most)."""

FIRST_BLOCK = 16
"""Draws in a sampler's first refill; each refill doubles it up to the block size, so the
thousands of samplers of a large item master (most SKUs draw a few values a month) cost
little to start, while busy ones soon draw full blocks.  NumPy's generators give the same
sequence whatever the block sizes."""


def block_sizes(block: int = BLOCK_SIZE, first: int = FIRST_BLOCK) -> Iterator[int]:
    """Refill sizes of a sampler: ``first`` (16), then doubling up to ``block``, then
    ``block`` for ever.  A sampler whose use is known in advance (a SKU's quantities over
    the horizon) asks for about that many at once: one NumPy call instead of several."""
    size = max(1, min(first, block))
    while True:
        yield size
        if size < block:
            size = min(2 * size, block)

NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]


_TYPECODES = {np.dtype(np.float64): "d", np.dtype(np.int64): "q"}


def as_draws(values: np.ndarray) -> array.array[Any] | list[Any]:
    """A block of draws as a sampler hands them out: a plain ``array.array`` of C doubles
    or 64-bit ints (a list for any other dtype).

    Iterating over it makes each Python float or int at the moment it is drawn, from the
    interpreter's free lists, where ``tolist`` would make them all at once, long before
    their use and by then out of the CPU's caches; and the garbage collector never walks
    an array as it walks a list.  The values, and their Python types, are those of
    ``values.tolist()``.
    """
    code = _TYPECODES.get(values.dtype)
    if code is None:
        return values.tolist()  # type: ignore[no-any-return]
    block = array.array(code)
    block.frombytes(np.ascontiguousarray(values).data.cast("B"))
    return block


def _blocked(fill: Callable[[int], np.ndarray], block: int, first: int = FIRST_BLOCK
             ) -> Sampler:
    """A sampler that refills a buffer from ``fill(n)`` (n growing up to ``block``).

    ``itertools.chain`` hands out the buffered draws (:func:`as_draws`) at C speed; Python
    runs only to refill.
    """
    blocks = (as_draws(fill(size)) for size in block_sizes(block, first))
    return itertools.chain.from_iterable(blocks).__next__


class _Dist(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, validate_by_name=True, validate_by_alias=True,
        serialize_by_alias=True,
    )

    _DISCRETE: ClassVar[bool] = False

    @property
    def discrete(self) -> bool:
        """Whether draws are integer counts."""
        return self._DISCRETE

    @property
    def mean(self) -> float:  # pragma: no cover - overridden
        raise NotImplementedError

    @property
    def variance(self) -> float:  # pragma: no cover - overridden
        raise NotImplementedError

    @property
    def std(self) -> float:
        return math.sqrt(self.variance)

    def filler(self, rng: np.random.Generator) -> Callable[[int], np.ndarray]:
        """A function drawing ``n`` values at once from ``rng``."""
        raise NotImplementedError  # pragma: no cover

    def sampler(self, rng: np.random.Generator, block: int = BLOCK_SIZE,
                first: int = FIRST_BLOCK) -> Sampler:
        """A zero-argument callable returning one draw (buffered in blocks; ``first`` draws
        in the first, see :func:`block_sizes`)."""
        return _blocked(self.filler(rng), max(block, first), first)

    def scipy(self) -> Any:
        """The equivalent frozen ``scipy.stats`` distribution (before clamping)."""
        raise NotImplementedError  # pragma: no cover

    def __repr__(self) -> str:
        fields = ", ".join(
            f"{k}={v!r}" for k, v in self.model_dump().items() if k != "type"
        )
        return f"{type(self).__name__}({fields})"

    __str__ = __repr__


class Constant(_Dist):
    """Always ``value``."""

    type: Literal["constant"] = "constant"
    value: float = Field(allow_inf_nan=False)

    @property
    def mean(self) -> float:
        return self.value

    @property
    def variance(self) -> float:
        return 0.0

    def filler(self, rng: np.random.Generator) -> Callable[[int], np.ndarray]:
        value = self.value
        return lambda n: np.full(n, value)

    def sampler(self, rng: np.random.Generator, block: int = BLOCK_SIZE,
                first: int = FIRST_BLOCK) -> Sampler:
        return itertools.repeat(self.value).__next__

    def scipy(self) -> Any:
        return None  # degenerate: handled directly where needed


class Exponential(_Dist):
    """Exponential with the given ``mean`` (rate = 1/mean): Poisson arrivals."""

    type: Literal["exponential"] = "exponential"
    mean_: Positive = Field(alias="mean")

    @property
    def mean(self) -> float:
        return self.mean_

    @property
    def variance(self) -> float:
        return self.mean_**2

    def filler(self, rng: np.random.Generator) -> Callable[[int], np.ndarray]:
        scale = self.mean_
        return lambda n: rng.exponential(scale, n)

    def scipy(self) -> Any:
        return _stats().expon(scale=self.mean_)


class Uniform(_Dist):
    """Uniform on [low, high]."""

    type: Literal["uniform"] = "uniform"
    low: float = Field(allow_inf_nan=False)
    high: float = Field(allow_inf_nan=False)

    @model_validator(mode="after")
    def _check(self) -> Uniform:
        if self.high < self.low:
            raise ValueError(f"high ({self.high}) must be >= low ({self.low})")
        return self

    @property
    def mean(self) -> float:
        return (self.low + self.high) / 2

    @property
    def variance(self) -> float:
        return (self.high - self.low) ** 2 / 12

    def filler(self, rng: np.random.Generator) -> Callable[[int], np.ndarray]:
        low, high = self.low, self.high
        return lambda n: rng.uniform(low, high, n)

    def scipy(self) -> Any:
        return _stats().uniform(self.low, self.high - self.low)


class Triangular(_Dist):
    """Triangular with ``low`` <= ``mode`` <= ``high``."""

    type: Literal["triangular"] = "triangular"
    low: float = Field(allow_inf_nan=False)
    mode: float = Field(allow_inf_nan=False)
    high: float = Field(allow_inf_nan=False)

    @model_validator(mode="after")
    def _check(self) -> Triangular:
        if not (self.low <= self.mode <= self.high) or self.low == self.high:
            raise ValueError("need low <= mode <= high and low < high")
        return self

    @property
    def mean(self) -> float:
        return (self.low + self.mode + self.high) / 3

    @property
    def variance(self) -> float:
        a, c, b = self.low, self.mode, self.high
        return (a * a + b * b + c * c - a * b - a * c - b * c) / 18

    def filler(self, rng: np.random.Generator) -> Callable[[int], np.ndarray]:
        a, c, b = self.low, self.mode, self.high
        return lambda n: rng.triangular(a, c, b, n)

    def scipy(self) -> Any:
        width = self.high - self.low
        return _stats().triang((self.mode - self.low) / width, loc=self.low, scale=width)


class Normal(_Dist):
    """Normal(mean, std); as a time, draws below zero are clamped to zero."""

    type: Literal["normal"] = "normal"
    mean_: float = Field(alias="mean", allow_inf_nan=False)
    std_: NonNegative = Field(alias="std")

    @property
    def mean(self) -> float:
        return self.mean_

    @property
    def variance(self) -> float:
        return self.std_**2

    def filler(self, rng: np.random.Generator) -> Callable[[int], np.ndarray]:
        mu, sigma = self.mean_, self.std_
        return lambda n: np.maximum(rng.normal(mu, sigma, n), 0.0)

    def scipy(self) -> Any:
        return _stats().norm(self.mean_, self.std_)


class NormalRounded(Normal):
    """Normal(mean, std) rounded to the nearest integer (a count)."""

    type: Literal["normal_rounded"] = "normal_rounded"  # type: ignore[assignment]
    _DISCRETE: ClassVar[bool] = True

    def filler(self, rng: np.random.Generator) -> Callable[[int], np.ndarray]:
        mu, sigma = self.mean_, self.std_
        return lambda n: np.rint(rng.normal(mu, sigma, n))


class Lognormal(_Dist):
    """Lognormal given by the ``mean`` and ``std`` of the variable itself."""

    type: Literal["lognormal"] = "lognormal"
    mean_: Positive = Field(alias="mean")
    std_: Positive = Field(alias="std")

    @property
    def mean(self) -> float:
        return self.mean_

    @property
    def variance(self) -> float:
        return self.std_**2

    def _params(self) -> tuple[float, float]:
        sigma2 = math.log1p((self.std_ / self.mean_) ** 2)
        return math.log(self.mean_) - sigma2 / 2, math.sqrt(sigma2)

    def filler(self, rng: np.random.Generator) -> Callable[[int], np.ndarray]:
        mu, sigma = self._params()
        return lambda n: rng.lognormal(mu, sigma, n)

    def scipy(self) -> Any:
        mu, sigma = self._params()
        return _stats().lognorm(sigma, scale=math.exp(mu))


class Gamma(_Dist):
    """Gamma given by its ``mean`` and ``std`` (shape = (mean/std)², scale = std²/mean)."""

    type: Literal["gamma"] = "gamma"
    mean_: Positive = Field(alias="mean")
    std_: Positive = Field(alias="std")

    @property
    def mean(self) -> float:
        return self.mean_

    @property
    def variance(self) -> float:
        return self.std_**2

    def _params(self) -> tuple[float, float]:
        return (self.mean_ / self.std_) ** 2, self.std_**2 / self.mean_

    def filler(self, rng: np.random.Generator) -> Callable[[int], np.ndarray]:
        shape, scale = self._params()
        return lambda n: rng.gamma(shape, scale, n)

    def scipy(self) -> Any:
        shape, scale = self._params()
        return _stats().gamma(shape, scale=scale)


class Poisson(_Dist):
    """Poisson count with the given ``mean``."""

    type: Literal["poisson"] = "poisson"
    mean_: NonNegative = Field(alias="mean")
    _DISCRETE: ClassVar[bool] = True

    @property
    def mean(self) -> float:
        return self.mean_

    @property
    def variance(self) -> float:
        return self.mean_

    def filler(self, rng: np.random.Generator) -> Callable[[int], np.ndarray]:
        lam = self.mean_
        return lambda n: rng.poisson(lam, n)

    def scipy(self) -> Any:
        return _stats().poisson(self.mean_)


class NegativeBinomial(_Dist):
    """Negative binomial count given by ``mean`` and ``std`` (overdispersed: std² > mean)."""

    type: Literal["negative_binomial"] = "negative_binomial"
    mean_: Positive = Field(alias="mean")
    std_: Positive = Field(alias="std")
    _DISCRETE: ClassVar[bool] = True

    @model_validator(mode="after")
    def _check(self) -> NegativeBinomial:
        if self.std_**2 <= self.mean_:
            raise ValueError(
                f"std**2 ({self.std_**2:g}) must exceed mean ({self.mean_:g}); "
                "use poisson when variance equals the mean"
            )
        return self

    @property
    def mean(self) -> float:
        return self.mean_

    @property
    def variance(self) -> float:
        return self.std_**2

    def _params(self) -> tuple[float, float]:
        var = self.std_**2
        return self.mean_**2 / (var - self.mean_), self.mean_ / var

    def filler(self, rng: np.random.Generator) -> Callable[[int], np.ndarray]:
        n_, p = self._params()
        return lambda n: rng.negative_binomial(n_, p, n)

    def scipy(self) -> Any:
        n_, p = self._params()
        return _stats().nbinom(n_, p)


class Empirical(_Dist):
    """A discrete table: ``values`` with ``probabilities`` (which must sum to 1)."""

    type: Literal["empirical"] = "empirical"
    values: list[float] = Field(min_length=1)
    probabilities: list[Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]]

    @model_validator(mode="after")
    def _check(self) -> Empirical:
        if len(self.values) != len(self.probabilities):
            raise ValueError(
                f"values ({len(self.values)}) and probabilities "
                f"({len(self.probabilities)}) must have the same length"
            )
        if any(not math.isfinite(v) for v in self.values):
            raise ValueError("values must be finite numbers")
        total = sum(self.probabilities)
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"probabilities must sum to 1 (they sum to {total:g})")
        return self

    @property
    def discrete(self) -> bool:
        return all(float(v).is_integer() for v in self.values)

    @property
    def mean(self) -> float:
        return float(np.dot(self.values, self.probabilities))

    @property
    def variance(self) -> float:
        v = np.asarray(self.values)
        return float(np.dot((v - self.mean) ** 2, self.probabilities))

    def filler(self, rng: np.random.Generator) -> Callable[[int], np.ndarray]:
        values = np.asarray(self.values, dtype=float)
        cum = np.cumsum(self.probabilities)
        cum[-1] = 1.0
        return lambda n: values[np.searchsorted(cum, rng.random(n), "right")]

    def scipy(self) -> Any:
        return _stats().rv_discrete(values=(self.values, self.probabilities)) if self.discrete \
            else None


Distribution = Annotated[
    Constant
    | Exponential
    | Uniform
    | Triangular
    | Normal
    | NormalRounded
    | Lognormal
    | Gamma
    | Poisson
    | NegativeBinomial
    | Empirical,
    Field(discriminator="type"),
]
"""Any scenario distribution, chosen by its ``type`` key."""

DISTRIBUTION_TYPES = (
    "constant", "exponential", "uniform", "triangular", "normal", "normal_rounded",
    "lognormal", "gamma", "poisson", "negative_binomial", "empirical",
)


def coerce_distribution(value: Any) -> Any:
    """Let a bare number stand for a constant distribution (a pydantic before-validator)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return {"type": "constant", "value": value}
    return value


MAX_COUNT = 1_000_000
"""Largest count a quantity distribution (units per line, lines per order) may reach at its
1 − 10⁻¹² quantile.  What a draw costs is bounded by it: the policy derivation sums the
distribution point by point up to that quantile (8 bytes a point), and one line of a
billion units would swamp the stock, backorders and money of every other line.  A
heavy-tailed lognormal of mean 10 and std 1,000 reaches 1.8 × 10⁸ there and is refused;
the item-master fits (Poisson, negative binomial, normal) of real order lines stay far
below."""


def count_ceiling(dist: _Dist) -> float:
    """The 1 − 10⁻¹² quantile of ``dist`` as a count (what :func:`integer_pmf` sums up to):
    closed forms for constants, tables and normals, a cheap bound for Poisson and negative
    binomial counts, SciPy's quantile otherwise."""
    if isinstance(dist, Constant):
        return float(dist.value)
    if isinstance(dist, Empirical):
        return float(max(dist.values))
    if isinstance(dist, Normal):
        return dist.mean_ + 7.1 * dist.std_
    if isinstance(dist, Poisson | NegativeBinomial):
        bound = dist.mean + 14.0 * math.sqrt(dist.variance) + 10.0
        if bound <= MAX_COUNT:
            return bound
    return float(dist.scipy().ppf(1 - 1e-12))


def check_count(dist: _Dist) -> _Dist:
    """``dist`` if it is a count of at most :data:`MAX_COUNT` at its 1 − 10⁻¹² quantile,
    else ``ValueError`` saying so (a pydantic validator's check)."""
    ceiling = count_ceiling(dist)
    if not ceiling <= MAX_COUNT:
        raise ValueError(
            f"its 1 - 1e-12 quantile is {ceiling:.3g}, over the {MAX_COUNT:,} a count may "
            "reach (one draw would cost that much memory and swamp every other line); "
            "lower the std or the mean, or use a lighter-tailed distribution (gamma, "
            "negative_binomial)")
    return dist


def integer_pmf(dist: _Dist, min_value: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Support and probabilities of ``max(min_value, round(X))`` for ``X ~ dist``; a
    support longer than :data:`MAX_COUNT` points is refused (``ValueError``)."""
    if isinstance(dist, Constant):
        return np.array([max(min_value, round(dist.value))]), np.array([1.0])
    if isinstance(dist, Empirical):
        vals = np.maximum(min_value, np.rint(dist.values)).astype(int)
        support = np.unique(vals)
        probs = np.array([sum(p for v, p in zip(vals, dist.probabilities, strict=True) if v == s)
                          for s in support])
        return support, probs
    frozen = dist.scipy()
    hi = int(math.ceil(frozen.ppf(1 - 1e-12))) + 1
    hi = max(hi, min_value)
    if not hi - min_value <= MAX_COUNT:
        check_count(dist)
        raise ValueError(f"{dist!r} spans more than {MAX_COUNT:,} counts")
    support = np.arange(min_value, hi + 1)
    if dist.discrete and not isinstance(dist, NormalRounded):
        probs = frozen.pmf(support)
        probs[0] = frozen.cdf(min_value)  # mass at or below the minimum
    else:
        edges = np.append(support - 0.5, support[-1] + 0.5)
        cdf = frozen.cdf(edges)
        probs = np.diff(cdf)
        probs[0] = cdf[1]
    probs = probs / probs.sum()
    return support, probs


def integer_moments(dist: _Dist, min_value: int = 1) -> tuple[float, float]:
    """Mean and variance of ``max(min_value, round(X))``: what the model really draws.

    Poisson and negative binomial counts clamped at 0 or 1 have closed forms
    (E[max(1, X)] = E[X] + P(X = 0), E[max(1, X)²] = E[X²] + P(X = 0)): O(1), so deriving the
    policies of thousands of SKUs with their own quantity distributions stays fast.  Other
    distributions go through :func:`integer_pmf` (cached per distribution).
    """
    if isinstance(dist, Poisson | NegativeBinomial) and min_value in (0, 1):
        mean, var = dist.mean, dist.variance
        if min_value == 0:
            return float(mean), float(var)
        if isinstance(dist, Poisson):
            p_zero = math.exp(-mean)
        else:
            n, p = dist._params()
            p_zero = math.exp(n * math.log(p))
        clamped_mean = mean + p_zero
        second = var + mean * mean + p_zero
        return float(clamped_mean), float(max(second - clamped_mean * clamped_mean, 0.0))
    if isinstance(dist, Normal) and 0 < dist.std_ <= 10_000 and min_value >= 0:
        return _rounded_normal_moments(dist.mean_, dist.std_, min_value)
    try:
        return _cached_moments(dist, min_value)
    except TypeError:  # an unhashable distribution (a table with list fields)
        return _pmf_moments(dist, min_value)


@functools.lru_cache(maxsize=65_536)
def _rounded_normal_moments(mean: float, std: float, min_value: int) -> tuple[float, float]:
    """Moments of max(min_value, round(X)), X ~ N(mean, std²), over mean ± 9 std (the mass
    below goes to the lowest point kept, as the clamp does): vectorised, no scipy frozen
    distribution, and cached (the hundreds of normal quantities of an item master are
    asked for by the policy derivation and by every model built)."""
    low = max(min_value, math.floor(mean - 9.0 * std))
    high = max(low, math.ceil(mean + 9.0 * std))
    support = np.arange(low, high + 1)
    upper = _special().ndtr((support + 0.5 - mean) / std)
    probs = np.diff(np.concatenate(([0.0], upper)))
    probs[-1] += 1.0 - upper[-1]  # the (negligible) mass above the last point
    probs = probs / probs.sum()
    first = float(np.dot(support, probs))
    return first, float(np.dot((support - first) ** 2, probs))


def _pmf_moments(dist: _Dist, min_value: int) -> tuple[float, float]:
    support, probs = integer_pmf(dist, min_value)
    mean = float(np.dot(support, probs))
    return mean, float(np.dot((support - mean) ** 2, probs))


@functools.lru_cache(maxsize=4096)
def _cached_moments(dist: _Dist, min_value: int) -> tuple[float, float]:
    return _pmf_moments(dist, min_value)


def integer_sampler(dist: _Dist, rng: np.random.Generator, min_value: int = 1,
                    first: int = FIRST_BLOCK) -> Callable[[], int]:
    """A sampler of ``max(min_value, round(X))`` as Python ints (``first`` draws in the
    first block, see :func:`block_sizes`)."""
    if isinstance(dist, Constant):
        return itertools.repeat(max(min_value, round(dist.value))).__next__
    fill = dist.filler(rng)
    blocks = (as_draws(np.maximum(np.rint(fill(size)), min_value).astype(np.int64))
              for size in block_sizes(max(BLOCK_SIZE, first), first))
    return itertools.chain.from_iterable(blocks).__next__
