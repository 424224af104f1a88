"""Seeds of replications: one root seed spawns an independent child per replication, so
every run is reproducible from (scenario, seed) in any executor (DOMAIN §6)."""

from __future__ import annotations

import numpy as np


def replication_seeds(seed: int, n: int) -> list[np.random.SeedSequence]:
    """The child seeds of replications 0..n-1 of root ``seed``."""
    return np.random.SeedSequence(seed).spawn(n)
