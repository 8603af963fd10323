"""Facility overhead: PUE from the cooling type's sourced range and the site's climate; racks.

PUE is placed inside [pue_min, pue_max] of the cooling type by the site's annual mean temperature,
linearly between COLD_C and HOT_C (an interpolation rule, not a measurement: the range ends are
the sourced figures). A policy cap (e.g. China's < 1.3 for new large data centres) is a
constraint the caller checks against the result.
"""

from __future__ import annotations

import numpy as np

from flopwatt.specs import System
from flopwatt.specs.site import Cooling, Site

COLD_C = 0.0
HOT_C = 30.0


def pue(cooling: Cooling, site: Site) -> float:
    """PUE of ``cooling`` at ``site``; always within the cooling type's sourced range."""
    warmth = np.clip((site.mean_temperature_c - COLD_C) / (HOT_C - COLD_C), 0.0, 1.0)
    return float(cooling.pue_min + (cooling.pue_max - cooling.pue_min) * warmth)


def racks(it_peak_w: np.ndarray, cooling: Cooling) -> np.ndarray:
    """Racks needed at the cooling type's maximum rack power."""
    return np.ceil(np.asarray(it_peak_w) / cooling.rack_power_max_w)


def nodes_per_rack(system: System) -> tuple[int | None, str]:
    """(nodes in one rack, how). Only rack-scale systems (a published rack figure in facility_costs.toml
    [rack.*]) have a known layout: one scale-up domain per rack (GB200 NVL72: 72 / 4 = 18 compute trays,
    docs.nvidia.com/dgx/dgxgb200-user-guide/hardware.html). For other systems the catalog has no node height
    (rack units), and power alone overstates what fits (13 DGX H100 under 135 kW would need 104 U), so None."""
    from flopwatt.catalog import facility_costs  # catalog tables; energy modules otherwise take specs only

    if system.id in facility_costs.facility_costs().racks:
        per_rack = system.scale_up_domain_devices // system.devices_per_node
        return per_rack, f"one {system.scale_up_domain_devices}-device scale-up domain per rack"
    return None, f"{system.id}: node rack units unpublished in the catalog, so nodes per rack unknown"
