"""Collective times by the alpha-beta model, vectorised over plans.

p ranks, n bytes (NCCL's size convention: the whole buffer), alpha = per-step latency, and the
achieved bus bandwidth B = link bandwidth x busbw fraction(n) from the efficiency tables:

    AllReduce (ring)        2 (p-1) alpha + 2 (p-1)/p n / B
    AllGather / ReduceScatter (ring)   (p-1) alpha + (p-1)/p n / B
    P2P                     alpha + n / B

(Thakur, Rabenseifner & Gropp 2005, as in MPICH's cost comments; NCCL's busbw = algbw x 2(p-1)/p
for AllReduce and (p-1)/p for AllGather/ReduceScatter, so B is directly comparable with
nccl-tests' busbw.) A group of p = 1 costs nothing.

Hierarchical AllReduce over g ranks per scale-up domain and p/g domains (each rank with its own
scale-out NIC): ReduceScatter inside the domain, AllReduce of 1/g of the data across domains on
every NIC in parallel, AllGather inside the domain.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flopwatt.catalog.efficiency import CollectiveTable
from flopwatt.specs import Link


@dataclass(frozen=True, slots=True)
class Tier:
    """A link with its efficiency table: what a collective on that tier sees.

    ``share`` scales the bandwidth (e.g. 1 / oversubscription where a group climbs above its leaf)
    and ``extra_latency_s`` adds switch traversals to each step; both broadcast over plans.
    """

    link: Link
    table: CollectiveTable
    share: np.ndarray | float = 1.0
    extra_latency_s: np.ndarray | float = 0.0

    def bus_bandwidth(self, nbytes: np.ndarray) -> np.ndarray:
        return self.link.bandwidth_bytes_per_s * self.table(nbytes) * self.share

    @property
    def latency_s(self) -> np.ndarray | float:
        return self.link.latency_s + self.extra_latency_s


def _ring(p: np.ndarray, nbytes: np.ndarray, tier: Tier, factor: float) -> np.ndarray:
    p = np.asarray(p, dtype=float)
    nbytes = np.asarray(nbytes, dtype=float)
    steps = factor * (p - 1)
    t = steps * tier.latency_s + factor * (p - 1) / np.maximum(p, 1) * nbytes / tier.bus_bandwidth(nbytes)
    return np.where((p > 1) & (nbytes > 0), t, 0.0)


def all_reduce(p: np.ndarray, nbytes: np.ndarray, tier: Tier) -> np.ndarray:
    """Ring AllReduce time (s) of ``nbytes`` over ``p`` ranks."""
    return _ring(p, nbytes, tier, 2.0)


def all_gather(p: np.ndarray, nbytes: np.ndarray, tier: Tier) -> np.ndarray:
    """Ring AllGather time (s); ``nbytes`` is the gathered (total) size."""
    return _ring(p, nbytes, tier, 1.0)


def reduce_scatter(p: np.ndarray, nbytes: np.ndarray, tier: Tier) -> np.ndarray:
    """Ring ReduceScatter time (s); ``nbytes`` is the input (total) size."""
    return _ring(p, nbytes, tier, 1.0)


def p2p(nbytes: np.ndarray, tier: Tier) -> np.ndarray:
    """Point-to-point send time (s)."""
    nbytes = np.asarray(nbytes, dtype=float)
    return np.where(nbytes > 0, tier.latency_s + nbytes / tier.bus_bandwidth(nbytes), 0.0)


def hierarchical(kind: str, p: np.ndarray, per_domain: np.ndarray, nbytes: np.ndarray,
                 up: Tier, out: Tier) -> np.ndarray:
    """A collective over ``p`` ranks placed ``per_domain`` to a scale-up domain (``kind``: ar, ag, rs).

    The scale-out phase moves 1/per_domain of the data on each rank's own NIC, in parallel.
    """
    p = np.asarray(p, dtype=float)
    g = np.minimum(np.asarray(per_domain, dtype=float), p)
    domains = np.maximum(p / g, 1.0)
    shard = np.asarray(nbytes, dtype=float) / g
    if kind == "ar":
        inner = reduce_scatter(g, nbytes, up) + all_gather(g, nbytes, up)
        return inner + all_reduce(domains, shard, out)
    if kind in ("ag", "rs"):
        return all_gather(g, nbytes, up) + all_gather(domains, shard, out)
    raise ValueError(f"unknown collective kind {kind!r}")
