"""Design a fabric for N endpoints: topology + parts -> counts, bill of materials, bandwidth, hops."""

from __future__ import annotations

from typing import Any

from flopwatt import catalog
from flopwatt.errors import unknown_id
from flopwatt.fabric.bom import Bom, RackLayout, bill_of_materials
from flopwatt.fabric.network import Fabric, FabricSpec, build

SWITCH_LATENCY_S = 0.0
"""Switch traversal latency is not in our sources for most parts (QM9700 '< 150 ns' is a bound);
the NCCL step latency of each system's links already includes a typical path."""


def design(spec: FabricSpec, endpoints: int, rails: int, nic_id: str | None = None,
           layout: RackLayout | None = None) -> tuple[Fabric, Bom]:
    """Build ``spec`` for ``endpoints`` NICs and price it; ``layout`` (nodes per rack, where known) decides
    which links stay in a rack or between adjacent racks (:func:`flopwatt.fabric.bom.bill_of_materials`)."""
    parts = catalog.network_parts()
    if spec.switch not in parts["switch"]:
        raise unknown_id("switch", spec.switch, parts["switch"])
    nic = None
    if nic_id is not None:
        if nic_id not in parts["nic"]:
            raise unknown_id("nic", nic_id, parts["nic"])
        nic = parts["nic"][nic_id]
    switch = parts["switch"][spec.switch]
    fabric = build(spec, endpoints, switch, spec.rails or rails, SWITCH_LATENCY_S)
    return fabric, bill_of_materials(fabric.topology, switch, nic, parts["medium"], spec.media, layout)


def rack_layout(system, rails: int) -> RackLayout | None:
    """The rack layout of ``system`` with ``rails`` NICs per node where the catalog knows it (rack-scale systems:
    :func:`flopwatt.energy.facility.nodes_per_rack`), else None."""
    from flopwatt.energy.facility import nodes_per_rack

    per_rack, basis = nodes_per_rack(system)
    return None if per_rack is None else RackLayout(nodes_per_rack=per_rack, nics_per_node=rails, basis=basis)


def summary(fabric: Fabric, bom: Bom) -> dict[str, Any]:
    """Plain values for printing and JSON."""
    t = fabric.topology
    return {
        "topology": t.kind, "endpoints": t.endpoints, "radix": t.radix, "port_rate_bps": t.port_rate_bps,
        "media_policy": fabric.media_policy, "switch": fabric.switch.id,
        "tiers": [{"name": x.name, "switches": x.switches, "links_up": x.links_up, "length_class": x.length_class}
                  for x in t.tiers],
        "switches": t.switches, "switch_links": t.switch_links, "endpoint_links": t.endpoint_links,
        "bisection_bps": t.bisection_bps, "diameter_switch_hops": t.diameter_switch_hops,
        "oversubscription": t.oversubscription, "notes": dict(t.notes),
        "bom": {"parts": bom.parts, "usd_known": bom.usd, "w_known": bom.watts,
                "unknown_price": bom.unknown_price, "unknown_power": bom.unknown_power,
                "pj_per_bit": bom.pj_per_bit, **bom.totals(), "notes": bom.notes,
                **({"placement": bom.placement} if bom.placement else {})},
    }
