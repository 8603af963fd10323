"""A scale-out fabric as the training model sees it: which collectives cross which tiers.

Data-parallel and pipeline traffic in Megatron-style layouts is rail-aligned: the peers of a
device hold the same local index on other nodes, so they hang off the same rail. A group that
fits under one leaf (per rail) crosses one switch at full NIC bandwidth; a larger one climbs to
the spine and shares its uplinks at 1 / oversubscription (Wang et al. 2023 Sec. 3; NVIDIA DGX
SuperPOD rail-optimised design). Rail-only networks carry the same rail-aligned traffic without a
spine; only cross-rail patterns (all-to-all) pay a forwarding hop through the scale-up domain.
Dragonfly groups share a/2 x h global links per group-pair side: traffic leaving a group sees
global bisection / (endpoints / 2) of the injection bandwidth.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from flopwatt.errors import InputError
from flopwatt.fabric import topology as topo
from flopwatt.specs.network import Switch

TOPOLOGIES = ("fat-tree", "rail-optimized", "rail-only", "dragonfly", "torus")


@dataclass(frozen=True, kw_only=True, slots=True)
class Fabric:
    """A built topology plus what the training model needs from it."""

    topology: topo.Topology
    switch: Switch
    media_policy: str
    rails: int
    switch_latency_s: float
    """Per-switch traversal latency added to the NCCL step latency."""

    def group_factor(self, group_nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(bandwidth factor, switch hops) of a rail-aligned group spanning ``group_nodes`` nodes."""
        t = self.topology
        nodes = np.asarray(group_nodes, dtype=float)
        if t.kind == "torus":  # rings map onto torus dimensions: neighbour links at full rate
            return np.ones_like(nodes), np.ones_like(nodes)
        if t.kind == "dragonfly":
            groups = int(t.notes["groups"])
            nodes_per_group = t.endpoints / groups / self.rails
            crosses = nodes > nodes_per_group
            share = min(t.bisection_bps / (t.endpoints / 2 * t.port_rate_bps), 1.0)
            return np.where(crosses, share, 1.0), np.where(crosses, 3, 1)
        down, _ = topo.leaf_ports(t.radix, t.oversubscription) if t.tiers[-1].name != "leaf" else (t.radix, 0)
        # a plain fat-tree puts all of a node's NICs on one leaf; rail designs give each rail its leaves
        nodes_per_leaf = down / self.rails if t.kind == "fat-tree" else down
        crosses = nodes > nodes_per_leaf
        return np.where(crosses, 1.0 / t.oversubscription, 1.0), np.where(crosses, t.diameter_switch_hops, 1)


@dataclass(frozen=True, kw_only=True, slots=True)
class FabricSpec:
    """What a user asks for: topology kind, switch part, media policy and shape options."""

    topology: str
    switch: str = "eth-51t2-400g"
    media: str = "auto"
    oversubscription: float = 1.0
    rails: int | None = None
    """NICs per node on separate rails (default: the system's devices per node)."""
    radix: int | None = None
    """Switch ports, overriding the part's (what-if); must be even."""
    dragonfly: tuple[int, int, int] | None = None
    torus: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if self.topology not in TOPOLOGIES:
            raise InputError("--topology", f"one of {', '.join(TOPOLOGIES)}", self.topology)
        if not self.oversubscription >= 1:
            raise InputError("--oversubscription", "a ratio >= 1 (downlink : uplink)", self.oversubscription)


def build(spec: FabricSpec, endpoints: int, switch: Switch, rails: int, switch_latency_s: float = 0.0) -> Fabric:
    """Build ``spec`` for ``endpoints`` NICs with ``switch`` parts (radix = its port count)."""
    k, rate, r = spec.radix or switch.ports, switch.port_rate_bps, spec.oversubscription
    if spec.topology == "fat-tree":
        built = topo.clos(endpoints, k, r, rate)
    elif spec.topology == "rail-optimized":
        built = topo.rail_optimized(endpoints, k, rails, r, rate)
    elif spec.topology == "rail-only":
        built = topo.rail_only(endpoints, k, rails, r, rate)
    elif spec.topology == "dragonfly":
        p, a, h = spec.dragonfly or balanced_dragonfly(k)
        if p + a - 1 + h > k:
            raise InputError("dragonfly", f"a shape P,A,H whose router ports P+A-1+H fit the switch's {k}",
                             f"{p},{a},{h} ({p + a - 1 + h} ports)")
        built = topo.dragonfly(endpoints, p, a, h, rate)
    else:
        if spec.torus is not None and math.prod(spec.torus) != endpoints:
            raise InputError("torus", f"dimensions whose product is the {endpoints:,} endpoints",
                             "x".join(map(str, spec.torus)))
        built = topo.torus(spec.torus or cube_dims(endpoints), rate)
    return Fabric(topology=built, switch=switch, media_policy=spec.media, rails=rails,
                  switch_latency_s=switch_latency_s)


def balanced_dragonfly(k: int) -> tuple[int, int, int]:
    """Kim et al.'s balanced shape for radix k: a = 2p = 2h with p + a - 1 + h <= k."""
    h = max((k + 1) // 4, 1)
    return h, 2 * h, h


def cube_dims(endpoints: int) -> tuple[int, int, int]:
    """The most cubic 3-D torus holding exactly ``endpoints`` nodes."""
    best = None
    for x in range(1, int(round(endpoints ** (1 / 3))) + 2):
        if endpoints % x:
            continue
        rest = endpoints // x
        for y in range(x, int(rest**0.5) + 1):
            if rest % y == 0:
                z = rest // y
                if z >= y and (best is None or z - x < best[2] - best[0]):
                    best = (x, y, z)
    if best is None:
        raise InputError("endpoints", "a node count that factors into a 3-D torus", endpoints)
    return best
