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

import itertools
import math
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
    measured_all_reduce: CollectiveTable | None = None
    """A measured end-to-end all-reduce bus bandwidth (B/s by message size, latency included), where
    published (serving's :func:`all_reduce_serving` takes it as a candidate)."""

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


SWITCHED = ("nvlink", "xgmi")
"""Scale-up technologies where every rank reaches every peer at once (NVSwitch; xGMI's full mesh)."""


def all_reduce_serving(p: np.ndarray, nbytes: np.ndarray, tier: Tier) -> np.ndarray:
    """AllReduce as inference engines run it on a switched scale-up domain: the fastest of one-shot
    (every rank reads all p - 1 peers' buffers and reduces locally: alpha + (p-1) n / B; TensorRT-LLM's
    AllReduceStrategy ONESHOT, vLLM's custom all-reduce), the ring and, where the tier carries one, the
    measured NCCL all-reduce (2 (p-1)/p n / busbw(n), e.g. NVLS on NVSwitch). Elsewhere (tori, NICs)
    the ring."""
    ring = all_reduce(p, nbytes, tier)
    if not tier.link.technology.startswith(SWITCHED):
        return ring
    p = np.asarray(p, dtype=float)
    n = np.asarray(nbytes, dtype=float)
    best = np.minimum(ring, tier.latency_s + (p - 1) * n / tier.bus_bandwidth(n))
    if tier.measured_all_reduce is not None:
        best = np.minimum(best, 2 * (p - 1) / np.maximum(p, 1) * n / (tier.measured_all_reduce(n) * tier.share))
    return np.where((p > 1) & (n > 0), best, 0.0)


def all_reduce_tree(p: np.ndarray, nbytes: np.ndarray, tier: Tier) -> np.ndarray:
    """Pipelined (double binary) tree AllReduce: 2 ceil(log2 p) alpha + 2 n / B (reduce up, broadcast down)."""
    p = np.asarray(p, dtype=float)
    nbytes = np.asarray(nbytes, dtype=float)
    t = 2 * np.ceil(np.log2(np.maximum(p, 1))) * tier.latency_s + 2 * nbytes / tier.bus_bandwidth(nbytes)
    return np.where((p > 1) & (nbytes > 0), t, 0.0)


def all_to_all(p: np.ndarray, nbytes: np.ndarray, tier: Tier) -> np.ndarray:
    """Pairwise-exchange All-to-All: (p-1) alpha + (p-1)/p n / B, n = bytes one rank sends in all."""
    return _ring(p, nbytes, tier, 1.0)


def all_to_all_hierarchical(p: np.ndarray, per_domain: np.ndarray, nbytes: np.ndarray, up: Tier,
                            out: Tier) -> np.ndarray:
    """All-to-All with ``per_domain`` ranks per scale-up domain on a full-bisection network: the share
    for peers in the domain moves over scale-up while the rest leaves on each rank's NIC, concurrently."""
    p = np.asarray(p, dtype=float)
    g = np.minimum(np.asarray(per_domain, dtype=float), p)
    n = np.asarray(nbytes, dtype=float)
    local, remote = n * (g - 1) / np.maximum(p, 1), n * (p - g) / np.maximum(p, 1)
    steps = (p - 1) * np.maximum(up.latency_s, out.latency_s)
    t = steps + np.maximum(local / up.bus_bandwidth(local), remote / out.bus_bandwidth(remote))
    return np.where((p > 1) & (n > 0), t, 0.0)


def all_to_all_rail_only(p: np.ndarray, per_domain: np.ndarray, nbytes: np.ndarray, up: Tier,
                         out: Tier) -> np.ndarray:
    """All-to-All on a rail-only network (Wang et al. 2023 Sec. 5): bytes for another rail first hop
    over the scale-up domain to the GPU on the destination's rail, then cross that rail's network.
    The extra hop costs remote bytes / scale-up bandwidth: B_out / B_up of the network time, which is
    8-11 % for A100/H100 nodes, as Wang et al. report (8.2-11.2 %)."""
    p = np.asarray(p, dtype=float)
    g = np.minimum(np.asarray(per_domain, dtype=float), p)
    remote = np.asarray(nbytes, dtype=float) * (p - g) / np.maximum(p, 1)
    forward = np.where(remote > 0, remote / up.bus_bandwidth(remote), 0.0)
    return all_to_all_hierarchical(p, per_domain, nbytes, up, out) + forward


def algbw(nbytes: np.ndarray, seconds: np.ndarray) -> np.ndarray:
    """NCCL algorithm bandwidth: buffer size / time (nccl-tests doc/PERFORMANCE.md)."""
    return np.asarray(nbytes) / np.asarray(seconds)


BUSBW_FACTOR = {"all_reduce": lambda p: 2 * (p - 1) / p, "all_gather": lambda p: (p - 1) / p,
                "reduce_scatter": lambda p: (p - 1) / p, "all_to_all": lambda p: (p - 1) / p}


def busbw(kind: str, p: np.ndarray, nbytes: np.ndarray, seconds: np.ndarray) -> np.ndarray:
    """NCCL bus bandwidth = algbw x the collective's factor (comparable with the link rate)."""
    return algbw(nbytes, seconds) * BUSBW_FACTOR[kind](np.asarray(p, dtype=float))


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


# --- TPU ICI tori -------------------------------------------------------------------------------------------
# A group of chips spans ``extents[i]`` chips along torus axis i. Along an axis with its wraparound link the
# group is a ring and both links of the axis carry data (the bidirectional bandwidth); along an axis without it
# (a line) the far end is p - 1 hops away and one link's one-way bandwidth bounds the collective. A collective
# over several axes uses them all at once (jax-ml/scaling-book sharding.md, "AllGather over multiple axes":
# T = max(T_hop x sum(hops), V / (W x n_axes)); one axis without wraparound: T = (p-1) V/p / W_one-way, the
# v5e 4x4 worked example). AllReduce = ReduceScatter + AllGather.


def torus_placement(torus, slice_chips: int, inner: int) -> tuple[tuple[int, ...], tuple[bool, ...],
                                                                  tuple[int, ...], tuple[bool, ...]]:
    """Extents and wraparounds of the inner group (``inner`` chips, e.g. tensor parallel) and of the outer group
    (the rest of the slice, e.g. FSDP) on a slice of ``slice_chips``. The inner group fills whole axes first,
    shortest first, as XLA's device mesh gives the innermost mesh axis the nearest chips; the outer group takes
    what is left of each axis. A group has an axis's wraparound only where it spans the whole slice axis and
    that axis is a multiple of the torus's wraparound length."""
    shape = torus.slice_shape(slice_chips)
    inner_ext = _whole_axes(shape, max(int(inner), 1))
    if inner_ext is None:  # no set of whole axes holds it: fill the shortest axes first, the last one in part
        inner_ext, left = [1] * len(shape), max(int(inner), 1)
        for i in sorted(range(len(shape)), key=lambda i: shape[i]):
            take = min(shape[i], left) if left % min(shape[i], left) == 0 else 1
            inner_ext[i], left = take, left // take
    outer_ext = [shape[i] // inner_ext[i] for i in range(len(shape))]

    def wraps(ext: list[int]) -> tuple[bool, ...]:
        return tuple(e == s and e > 2 and s % torus.wraparound_multiple == 0 for e, s in zip(ext, shape, strict=True))

    return tuple(inner_ext), wraps(inner_ext), tuple(outer_ext), wraps(outer_ext)


def _whole_axes(shape: tuple[int, ...], chips: int) -> list[int] | None:
    """Extents of the fewest whole slice axes whose chips multiply to ``chips`` (shortest axes first), or None."""
    for count in range(1, len(shape) + 1):
        for axes in itertools.combinations(sorted(range(len(shape)), key=lambda i: shape[i]), count):
            if math.prod(shape[i] for i in axes) == chips:
                return [shape[i] if i in axes else 1 for i in range(len(shape))]
    return None


def torus_gather(extents: np.ndarray, wraps: np.ndarray, nbytes: np.ndarray, tier: Tier, torus) -> np.ndarray:
    """AllGather (or ReduceScatter) time of ``nbytes`` (the gathered size) over a group with ``extents`` (N, axes)
    chips per axis and ``wraps`` (N, axes) wraparounds: hops x per-hop latency + (p-1)/p n / (sum over the axes
    it spans of 2 links (ring) or 1 link (line)) at the link's one-way rate x the ICI busbw fraction."""
    ext = np.asarray(extents, dtype=float)
    ring = np.asarray(wraps, dtype=bool)
    n = np.asarray(nbytes, dtype=float)
    p = np.prod(ext, axis=-1)
    used = ext > 1
    links = np.sum(np.where(used, np.where(ring, 2.0, 1.0), 0.0), axis=-1)
    link_rate = tier.link.bandwidth_bytes_per_s / (2 * torus.axes)  # per direction per link
    bandwidth = np.maximum(links, 1.0) * link_rate * tier.table(n) * tier.share
    hops = np.sum(np.where(used, np.where(ring, np.floor(ext / 2), ext - 1), 0.0), axis=-1)
    t = hops * torus.hop_latency_s + (p - 1) / np.maximum(p, 1) * n / bandwidth
    return np.where((p > 1) & (n > 0), t, 0.0)


def torus_all_reduce(extents: np.ndarray, wraps: np.ndarray, nbytes: np.ndarray, tier: Tier, torus) -> np.ndarray:
    """AllReduce on a torus group: ReduceScatter + AllGather of ``nbytes``."""
    return 2 * torus_gather(extents, wraps, nbytes, tier, torus)
