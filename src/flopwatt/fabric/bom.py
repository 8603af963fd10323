"""Link media by length class and policy, and the bill of materials of a topology.

Length classes: in-rack (<= 2 m), row (<= 30 m), hall (<= 100 m). A link gets, per policy:

- ``copper-first``: copper (DAC, then AEC) where it reaches, else DSP pluggable optics; in a fat-tree or
  dragonfly the NIC-to-leaf links go to a top-of-rack leaf on the longest-reach copper (a stated design
  rule, recorded in ``Bom.notes``: it holds when each leaf's endpoints sit in racks within that reach);
  rail-aligned leaves gather one NIC from many nodes across racks, so their endpoint links stay row length;
- ``optics``: DSP pluggable optics everywhere (short-reach multimode first, then single-mode);
- ``lpo``: copper in the rack, linear-drive pluggables where they reach, else DSP optics;
- ``cpo``: copper in the rack, co-packaged optics at switch ends (the NIC end stays pluggable);
- ``auto``: the lowest-power medium that reaches (unknown power ranks last).

Media figures are per 800G module end; a slower link uses its share (a 400G link is half of a
twin-port 800G module). Parts whose power or price no source gives are counted and reported as
unknown: ``usd_known``/``watts`` cover the known parts only, and the totals (:meth:`Bom.totals`) are
None (unknown) while any part lacks its figure, naming those parts and counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flopwatt.errors import InputError
from flopwatt.fabric.topology import Topology
from flopwatt.specs.network import Medium, Nic, Switch

LENGTH_M = {"in-rack": 2.0, "row": 30.0, "hall": 100.0}
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
                      policy: str) -> Bom:
    """Switches, NICs and link media of ``topo`` with total $ and W of the known parts."""
    bom = Bom()
    bom.add(switch.id, topo.switches, switch.power_w, switch.price_usd)
    if nic is not None:
        bom.add(nic.id, topo.endpoints, nic.power_w, nic.price_usd)
    share = topo.port_rate_bps / MEDIUM_RATE_BPS
    for tier in topo.tiers:
        if tier.links_up == 0:
            continue
        top_of_rack = _top_of_rack_copper(topo, tier.name, policy, media)
        if top_of_rack is not None:
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
