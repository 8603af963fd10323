"""Link media by length class and policy, and the bill of materials of a topology.

Length classes: in-rack (<= 2 m), adjacent racks (<= 7 m), row (<= 30 m), hall (<= 100 m). A link gets,
per policy:

- ``copper-first``: copper (DAC, then AEC) where it reaches, else DSP pluggable optics. Where the rack layout
  is known (:class:`RackLayout`: rack-scale systems), a switch whose nodes fit in its own rack is cabled
  in-rack, and one whose nodes span at most ``COPPER_SPAN_RACKS`` racks (its own and one each side) at
  adjacent-rack length: this holds for every topology's NIC-to-leaf links (a fat-tree leaf takes whole
  nodes, a rail leaf one NIC from each of many nodes) and for a dragonfly group's local links. Without a
  layout, a fat-tree or dragonfly leaf is taken to be top-of-rack on the longest-reach copper and rail
  leaves stay row length (a stated design rule, recorded in ``Bom.notes``);
- ``optics``: DSP pluggable optics everywhere (short-reach multimode first, then single-mode);
- ``lpo``: copper where it reaches (in the rack; across adjacent racks where a layout places links there),
  linear-drive pluggables where they reach, else DSP optics;
- ``cpo``: copper where it reaches as for ``lpo``, co-packaged optics at switch ends (the NIC end stays pluggable);
- ``auto``: the lowest-power medium that reaches (unknown power ranks last).

Media figures are per 800G module end; a slower link uses its share (a 400G link is half of a
twin-port 800G module). Parts whose power or price no source gives are counted and reported as
unknown: ``usd_known``/``watts`` cover the known parts only, and the totals (:meth:`Bom.totals`) are
None (unknown) while any part lacks its figure, naming those parts and counts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from flopwatt.errors import InputError
from flopwatt.fabric.topology import Topology
from flopwatt.specs.network import Medium, Nic, Switch

LENGTH_M = {"in-rack": 2.0, "adjacent-racks": 7.0, "row": 30.0, "hall": 100.0}
"""adjacent-racks: the cross-cabinet 2-7 m range AEC serves (ydfiberoptic.com/800g-osfp-aec-active-electrical-cable,
vendor blog, low confidence); the others as the topology's tiers state them."""
COPPER_SPAN_RACKS = 3
"""Racks one switch reaches at adjacent-rack length: its own and one neighbour on each side (a stated rule)."""
POLICIES = ("auto", "copper-first", "optics", "lpo", "cpo")
MEDIUM_RATE_BPS = 800e9


def _reaching(media: dict[str, Medium], length: float, kinds: tuple[str, ...]) -> list[Medium]:
    return [m for m in media.values() if m.kind in kinds and m.reach_m >= length]


def _lowest_power(options: list[Medium]) -> Medium:
    return min(options, key=lambda m: (m.power_w_per_end is None, m.power_w_per_end or 0.0, m.reach_m))


def choose_medium(length_class: str, policy: str, media: dict[str, Medium], switch_end: bool = True) -> Medium:
    """The medium for one link end of ``length_class`` under ``policy``."""
    if policy not in POLICIES:
        raise InputError("--media", f"one of {', '.join(POLICIES)}", policy)
    length = LENGTH_M[length_class]
    copper = sorted(_reaching(media, length, ("copper",)), key=lambda m: m.reach_m)
    optics = _reaching(media, length, ("optics",))
    dsp = sorted((m for m in optics if m.id.startswith(("sr-", "dr-"))), key=lambda m: m.reach_m)
    if policy == "auto":
        return _lowest_power(copper + optics)
    if copper and policy in ("copper-first", "lpo", "cpo"):
        return copper[0]
    if policy == "lpo":
        lpo = [m for m in optics if m.id.startswith("lpo-")]
        if lpo:
            return lpo[0]
    if policy == "cpo" and switch_end:
        cpo = _reaching(media, length, ("cpo",))
        if cpo:
            return cpo[0]
    if not dsp:
        raise InputError("links", f"a medium reaching {length:g} m ({length_class})")
    return dsp[0]


TOP_OF_RACK_KINDS = ("fat-tree", "dragonfly")
"""Topologies whose leaf (router) serves whole nodes, so it can sit in their rack (rail leaves cannot)."""


def _top_of_rack_copper(topo: Topology, tier: str, policy: str, media: dict[str, Medium]) -> Medium | None:
    """Under copper-first, the copper medium of longest reach for the endpoint links of a top-of-rack leaf."""
    if policy != "copper-first" or tier != "endpoints" or topo.kind not in TOP_OF_RACK_KINDS:
        return None
    copper = [m for m in media.values() if m.kind == "copper"]
    return max(copper, key=lambda m: m.reach_m) if copper else None


@dataclass(frozen=True, slots=True)
class RackLayout:
    """Where the endpoints sit: whole nodes per rack and NICs per node (from a rack-scale system)."""

    nodes_per_rack: int
    nics_per_node: int
    basis: str


def _nodes_under_switch(topo: Topology, tier: str, nics_per_node: int) -> float | None:
    """Nodes whose NICs one switch above ``tier`` collects (None where the rule does not apply)."""
    if tier == "router" and topo.kind == "dragonfly":  # local links join the routers of one group
        return topo.endpoints / int(topo.notes["groups"]) / nics_per_node
    if tier != "endpoints" or topo.kind == "torus":
        return None
    leaf = next(t for t in topo.tiers if t.name != "endpoints")
    if topo.kind == "dragonfly" or leaf.links_up == 0:  # routers, or a single switch tier: endpoints spread evenly
        per_leaf = -(-topo.endpoints // max(leaf.switches, 1))
    else:  # a full leaf: its downlink ports (oversubscription = down / up, down + up = radix)
        r = topo.oversubscription
        per_leaf = min(round(topo.radix * r / (r + 1)), topo.endpoints)
    rail_aligned = topo.kind in ("rail-optimized", "rail-only")  # one NIC from each node
    return per_leaf if rail_aligned else per_leaf / nics_per_node


def _placed_class(topo: Topology, tier: str, layout: RackLayout | None) -> tuple[str | None, str, float, int]:
    """(length class of ``tier``'s links from the rack layout, or None to keep the tier's own; a note; the
    nodes under one switch; the racks they span)."""
    if layout is None:
        return None, "", 0.0, 0
    nodes = _nodes_under_switch(topo, tier, layout.nics_per_node)
    if nodes is None:
        return None, "", 0.0, 0
    span = math.ceil(math.ceil(nodes) / layout.nodes_per_rack)
    return (*_span_class(tier, nodes, span, layout), nodes, span)


def _span_class(tier: str, nodes: float, span: int, layout: RackLayout) -> tuple[str | None, str]:
    where = f"{tier} links: a switch's {nodes:g} nodes span {span} rack(s) of {layout.nodes_per_rack} ({layout.basis})"
    if span <= 1:
        return "in-rack", where + ": in-rack"
    if span <= COPPER_SPAN_RACKS:
        return "adjacent-racks", where + f": within {COPPER_SPAN_RACKS} adjacent racks"
    return None, where + f": beyond {COPPER_SPAN_RACKS} adjacent racks, so the tier's own length"


@dataclass
class Bom:
    """Parts by type and count with known totals; ``unknown`` lists parts lacking power or price."""

    parts: dict[str, int] = field(default_factory=dict)
    usd: float = 0.0
    watts: float = 0.0
    unknown_power: dict[str, int] = field(default_factory=dict)
    unknown_price: dict[str, int] = field(default_factory=dict)
    pj_per_bit: dict[str, float] = field(default_factory=dict)
    """Link energy per bit by length class (both ends' media), plus the switch ASIC per traversal."""
    notes: list[str] = field(default_factory=list)
    """Design rules the media choice rests on."""
    placement: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Per tier placed by a rack layout: nodes under one switch, racks they span, the length class used."""

    def totals(self) -> dict[str, Any]:
        """Whole-fabric $ and W: None while any part's figure is unpublished (``unpriced_parts`` /
        ``unpowered_parts`` count them), so a partial sum never passes for the total."""
        return {"usd_total": None if self.unknown_price else self.usd,
                "w_total": None if self.unknown_power else self.watts,
                "unpriced_parts": sum(self.unknown_price.values()),
                "unpowered_parts": sum(self.unknown_power.values())}

    def add(self, name: str, count: float, watts: float | None, usd: float | None) -> None:
        if count <= 0:
            return
        self.parts[name] = self.parts.get(name, 0) + int(round(count))
        if watts is None:
            self.unknown_power[name] = self.parts[name]
        else:
            self.watts += count * watts
        if usd is None:
            self.unknown_price[name] = self.parts[name]
        else:
            self.usd += count * usd


def bill_of_materials(topo: Topology, switch: Switch, nic: Nic | None, media: dict[str, Medium],
                      policy: str, layout: RackLayout | None = None) -> Bom:
    """Switches, NICs and link media of ``topo`` with total $ and W of the known parts; ``layout`` (where known)
    places each tier's links in-rack, across adjacent racks or at the tier's own length."""
    bom = Bom()
    bom.add(switch.id, topo.switches, switch.power_w, switch.price_usd)
    if nic is not None:
        bom.add(nic.id, topo.endpoints, nic.power_w, nic.price_usd)
    share = topo.port_rate_bps / MEDIUM_RATE_BPS
    for tier in topo.tiers:
        if tier.links_up == 0:
            continue
        placed, where, nodes, span = _placed_class(topo, tier.name, layout)
        top_of_rack = None if layout is not None else _top_of_rack_copper(topo, tier.name, policy, media)
        if where:
            bom.notes.append(where)
            bom.placement[tier.name] = {"nodes_per_switch": nodes, "racks": span,
                                        "length_class": placed or tier.length_class}
        if placed is not None:
            far = choose_medium(placed, policy, media, switch_end=True)
            near = choose_medium(placed, policy, media, switch_end=tier.name != "endpoints")
        elif top_of_rack is not None:
            near = far = top_of_rack
            bom.notes.append(f"copper-first: endpoint links to top-of-rack leaves on {top_of_rack.id} (reach "
                             f"{top_of_rack.reach_m:g} m; holds when each leaf's endpoints sit within it)")
        else:
            far = choose_medium(tier.length_class, policy, media, switch_end=True)
            near = choose_medium(tier.length_class, policy, media, switch_end=tier.name != "endpoints")
        for end in (near, far):
            power = None if end.power_w_per_end is None else end.power_w_per_end * share
            price = None if end.price_usd_per_end is None else end.price_usd_per_end * share
            bom.add(end.id, tier.links_up, power, price)
        known = [e.power_w_per_end for e in (near, far) if e.power_w_per_end is not None]
        if len(known) == 2:
            bom.pj_per_bit[tier.length_class] = sum(known) * share / topo.port_rate_bps * 1e12
    if switch.power_w is not None:
        bom.pj_per_bit["switch traversal"] = switch.power_w / (switch.ports * switch.port_rate_bps) * 1e12
    return bom
