"""The SimPy model of one replication: customers, stock points, stockout reactions, fulfilment
and accounting (DOMAIN §2-§4).
"""

from .results import ReplicationResult
from .simulation import simulate

__all__ = ["ReplicationResult", "simulate"]
