"""Power of a cluster from its device count: devices at board power, hosts (node maximum input power less
the devices), the scale-out fabric's switches and links (fabric bill of materials), and the facility at
a PUE. The same per-device figures the capacity plan uses (:mod:`flopwatt.energy.power`,
:mod:`flopwatt.fabric.bom`, :mod:`flopwatt.energy.facility`); the sanity anchors compare them with
published clusters (tests/test_capacity_anchors.py).
"""

from __future__ import annotations

import math

from flopwatt.energy import power
from flopwatt.fabric.bom import Bom
from flopwatt.fabric.design import design
from flopwatt.fabric.network import Fabric, FabricSpec
from flopwatt.specs import System


def cluster_fabric(system: System, devices: int, topology: str | None) -> tuple[Fabric, Bom] | None:
    """The scale-out fabric of ``devices`` devices in ``topology`` (catalog default parts), or None."""
    if topology is None or devices <= system.scale_up_domain_devices:
        return None
    return design(FabricSpec(topology=topology), devices, system.devices_per_node)


def cluster_power_w(system: System, devices: int, topology: str | None, pue: float) -> dict[str, float]:
    """Peak IT power by part and facility power of a cluster (W); raises ValueError without a board power."""
    acc = system.accelerator
    if acc.board_power_w is None:
        raise ValueError(f"{acc.id} has no published board power")
    fabric = cluster_fabric(system, devices, topology)
    parts = {"devices_w": devices * acc.board_power_w,
             "hosts_w": math.ceil(devices / system.devices_per_node) * power.host_power_w(system),
             "network_w": fabric[1].watts if fabric else 0.0}
    parts["it_w"] = sum(parts.values())
    parts["facility_w"] = parts["it_w"] * pue
    return parts
