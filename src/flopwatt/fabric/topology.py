"""Scale-out topologies as counts: switches, links and ports per tier, bisection, diameter.

Folded Clos / fat-tree (Al-Fares et al., SIGCOMM 2008) from switch radix k and leaf
oversubscription r (downlink : uplink bandwidth). A leaf gives d = k r / (r + 1) ports to endpoints
and u = k / (r + 1) to the tier above; every tier above the leaves is non-blocking (half its ports
down, half up) except the top, whose ports all face down. t tiers reach d k (k/2)^(t-2) endpoints:
k^2/2 for two tiers and k^3/4 for three when r = 1 (k = 64: 2,048 and 65,536 endpoints with 96 and
5,120 switches).

- rail-optimised: the same Clos, with NIC i of every node on a rail-i leaf (NVIDIA DGX SuperPOD).
- rail-only (Wang et al. 2023, arXiv:2307.12169): one Clos per rail over the N / rails same-rail NICs,
  no tier joining rails; cross-rail traffic is forwarded through the scale-up domain.
- Dragonfly (Kim, Dally, Scott & Abts, ISCA 2008): p endpoints per router, a routers per group, h
  global links per router; g = a h + 1 groups at most, N = a p (a h + 1), radix p + a - 1 + h,
  minimal routes local-global-local (3 router hops).
- Torus (TPU ICI): N = product of dims, 2 links per dimension per node, diameter sum floor(d/2),
  bisection 2 N / max(d) links (cut across the longest dimension).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from flopwatt.errors import InputError


@dataclass(frozen=True, slots=True)
class Tier:
    """One level of switches (or of endpoint links): counts and the link length class above it."""

    name: str
    switches: int
    links_up: int
    """Links from this tier to the next one up (endpoint links for the ``endpoints`` tier)."""
    length_class: str
    """Length class of those links: in-rack, row or hall."""


@dataclass(frozen=True, slots=True)
class Topology:
    kind: str
    endpoints: int
    radix: int
    port_rate_bps: float
    tiers: tuple[Tier, ...]
    bisection_bps: float
    diameter_switch_hops: int
    oversubscription: float
    notes: dict[str, str] = field(default_factory=dict)

    @property
    def switches(self) -> int:
        return sum(t.switches for t in self.tiers)

    @property
    def switch_links(self) -> int:
        """Links between switches (endpoint links excluded)."""
        return sum(t.links_up for t in self.tiers if t.name != "endpoints")

    @property
    def endpoint_links(self) -> int:
        return sum(t.links_up for t in self.tiers if t.name == "endpoints")


def _check_radix(k: int) -> None:
    if k < 4 or k % 2:
        raise InputError("radix", "an even switch port count >= 4", k)


def leaf_ports(k: int, oversubscription: float) -> tuple[int, int]:
    """(endpoint ports, uplink ports) of a leaf with oversubscription r."""
    if not oversubscription >= 1:
        raise InputError("oversubscription", "a ratio >= 1 (downlink : uplink)", oversubscription)
    up = max(int(round(k / (oversubscription + 1))), 1)
    return k - up, up


def clos_capacity(k: int, tiers: int, oversubscription: float = 1.0) -> int:
    """Endpoints a ``tiers``-level folded Clos of radix k can reach."""
    if tiers == 1:
        return k
    down, _ = leaf_ports(k, oversubscription)
    return down * k * (k // 2) ** (tiers - 2)


def clos(endpoints: int, k: int, oversubscription: float = 1.0, port_rate_bps: float = 400e9,
         max_tiers: int = 4, kind: str = "fat-tree") -> Topology:
    """The smallest folded Clos that connects ``endpoints`` with radix-k switches."""
    _check_radix(k)
    if endpoints < 1:
        raise InputError("endpoints", "an integer >= 1", endpoints)
    tiers = next((t for t in range(1, max_tiers + 1) if clos_capacity(k, t, oversubscription) >= endpoints), None)
    if tiers is None:
        reach = clos_capacity(k, max_tiers, oversubscription)
        raise InputError("endpoints", f"at most {reach:,} for radix {k} in {max_tiers} tiers", endpoints)
    if tiers == 1:
        levels = (Tier("endpoints", 0, endpoints, "row"), Tier("leaf", 1, 0, "hall"))
        return Topology(kind, endpoints, k, port_rate_bps, levels, endpoints * port_rate_bps / 2, 1, 1.0)
    down, up = leaf_ports(k, oversubscription)
    leaves = math.ceil(endpoints / down)
    uplinks = leaves * up
    levels = [Tier("endpoints", 0, endpoints, "row"), Tier("leaf", leaves, uplinks, "hall")]
    for level in range(2, tiers):
        levels.append(Tier(f"tier{level}", math.ceil(uplinks / (k // 2)), uplinks, "hall"))
    levels.append(Tier("spine" if tiers == 2 else "core", math.ceil(uplinks / k), 0, "hall"))
    r = down / up
    bisection = endpoints * port_rate_bps / 2 / max(r, 1.0)
    return Topology(kind, endpoints, k, port_rate_bps, tuple(levels), bisection, 2 * tiers - 1, r)


def rail_optimized(endpoints: int, k: int, rails: int, oversubscription: float = 1.0,
                   port_rate_bps: float = 400e9) -> Topology:
    """Fat-tree with NIC i of every node on a rail-i leaf: the same counts, rail-aligned wiring.

    Same-rail traffic stays under one leaf while a rail fits it; the spine carries the rest.
    """
    if endpoints % rails:
        raise InputError("endpoints", f"a multiple of the rails ({rails})", endpoints)
    topo = clos(endpoints, k, oversubscription, port_rate_bps, kind="rail-optimized")
    notes = {"rails": str(rails), "same-rail": "one leaf hop while a rail fits under a leaf"}
    return Topology("rail-optimized", endpoints, k, port_rate_bps, topo.tiers, topo.bisection_bps,
                    topo.diameter_switch_hops, topo.oversubscription, notes)


def rail_only(endpoints: int, k: int, rails: int, oversubscription: float = 1.0,
              port_rate_bps: float = 400e9) -> Topology:
    """One Clos per rail, no spine joining rails (Wang et al. 2023)."""
    if endpoints % rails:
        raise InputError("endpoints", f"a multiple of the rails ({rails})", endpoints)
    per_rail = clos(endpoints // rails, k, oversubscription, port_rate_bps)
    levels = tuple(Tier(t.name, t.switches * rails, t.links_up * rails, t.length_class) for t in per_rail.tiers)
    notes = {"cross-rail": "traffic between rails is forwarded through the scale-up domain"}
    return Topology("rail-only", endpoints, k, port_rate_bps, levels, per_rail.bisection_bps * rails,
                    per_rail.diameter_switch_hops, per_rail.oversubscription, notes)


def dragonfly(endpoints: int, p: int, a: int, h: int, port_rate_bps: float = 400e9) -> Topology:
    """Dragonfly with p endpoints per router, a routers per group, h global links per router."""
    for name, value in (("p", p), ("a", a), ("h", h)):
        if value < 1:
            raise InputError(name, "an integer >= 1", value)
    max_groups = a * h + 1
    reach = a * p * max_groups
    if endpoints > reach:
        raise InputError("endpoints", f"at most a*p*(a*h+1) = {reach:,} for p={p}, a={a}, h={h}", endpoints)
    groups = math.ceil(endpoints / (a * p))
    routers = groups * a
    local = groups * a * (a - 1) // 2
    global_links = groups * a * h // 2
    levels = (Tier("endpoints", 0, endpoints, "row"), Tier("router", routers, local, "row"),
              Tier("global", 0, global_links, "hall"))
    bisection = min(global_links / 2, endpoints / 2) * port_rate_bps
    notes = {"radix": str(p + a - 1 + h), "groups": str(groups)}
    return Topology("dragonfly", endpoints, p + a - 1 + h, port_rate_bps, levels, bisection, 3, 1.0, notes)


def torus(dims: tuple[int, ...], port_rate_bps: float) -> Topology:
    """Direct torus of ``dims`` (e.g. TPU v4 4x4x4 cubes joined into slices)."""
    if not dims or any(d < 1 for d in dims):
        raise InputError("dims", "positive torus dimensions, e.g. 16x16x16", dims)
    n = math.prod(dims)
    links = sum(n if d > 2 else n // 2 if d == 2 else 0 for d in dims)  # 2 per node per dim, each shared
    levels = (Tier("endpoints", 0, 0, "in-rack"), Tier("torus", 0, links, "row"))
    bisection = 2 * n / max(dims) * port_rate_bps
    diameter = sum(d // 2 for d in dims)
    return Topology("torus", n, 2 * len(dims), port_rate_bps, levels, bisection, diameter, 1.0,
                    {"dims": "x".join(map(str, dims))})
