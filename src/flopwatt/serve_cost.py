"""What serving costs per token: energy, money and carbon of a serving system at its throughput.

A serving replica at its chosen batch keeps its devices busy every iteration, so each device draws
its board power (the upper end of its published range; :mod:`flopwatt.energy.power`), capped at a
power limit where one is set, plus each node's host overhead. One hour of service goes through the
footprint shared with training (:func:`flopwatt.footprint.facility_footprint`: IT power x PUE,
carbon at the site's grid, capex depreciation, maintenance and energy), and that hour produced
``3600 x tokens/s`` output tokens.
"""

from __future__ import annotations

import numpy as np

from flopwatt.energy.power_cap import capped_board_power_w
from flopwatt.fabric.bom import Bom
from flopwatt.footprint import Setting, facility_footprint
from flopwatt.specs import System

HOUR_S = 3600.0


def serving_footprint(system: System, devices: int, output_tokens_per_s: float, setting: Setting,
                      power_cap_w: float | None = None, fabric_bom: Bom | None = None) -> dict:
    """J, $ and gCO2e per output token (None where a needed figure is unpublished), the $ split into facility
    energy and the rest (owning the capex: depreciation and maintenance); under a board power limit each
    device draws at most the limit. ``fabric_bom`` (a designed scale-out fabric) adds its watts and its price
    to capex as in training; an unpriced part leaves the $ figures unknown and says which."""
    acc = system.accelerator
    board_w = capped_board_power_w(acc, power_cap_w)
    if board_w is None:
        return {"joules_per_output_token": None, "usd_per_million_output_tokens": None,
                "energy_usd_per_million_output_tokens": None, "capex_usd_per_million_output_tokens": None,
                "gco2e_per_million_output_tokens": None, "unknown": f"{acc.id} board power unpublished"}
    tokens_per_hour = output_tokens_per_s * HOUR_S
    fp = {k: float(v[0]) for k, v in facility_footprint(
        system, devices, setting, device_w=(board_w, board_w), wall_s=np.array([HOUR_S]),
        network_w=0.0 if fabric_bom is None else fabric_bom.watts, tokens=tokens_per_hour,
        fabric_bom=fabric_bom).items()}
    it_w, facility_w = fp["power/it_w"], fp["power/it_w"] * fp["facility/pue"]
    out = {"it_power_w": it_w, "pue": fp["facility/pue"], "facility_power_w": facility_w,
           "joules_per_output_token": facility_w / output_tokens_per_s,
           "it_joules_per_output_token": it_w / output_tokens_per_s,
           "gco2e_per_million_output_tokens": fp["carbon/tco2e"] * 1e12 / tokens_per_hour,
           "usd_per_million_output_tokens": None, "energy_usd_per_million_output_tokens": None,
           "capex_usd_per_million_output_tokens": None}
    per_million = tokens_per_hour / 1e6
    if "money/energy_usd" in fp:  # needs only the site's electricity price
        out["energy_usd_per_million_output_tokens"] = fp["money/energy_usd"] / per_million
    if "fabric/unpriced_parts" in fp:
        out["unknown"] = (f"$ per token: {fp['fabric/unpriced_parts']:,.0f} fabric parts without a published price "
                          f"(catalog network_parts.toml)")
        return out
    if "money/run_usd" not in fp:
        out["unknown"] = f"$ per token: {system.id} has no published price (energy $ per token known)"
        return out
    out["usd_per_hour"] = fp["money/run_usd"]
    out["usd_per_million_output_tokens"] = fp["money/usd_per_million_tokens"]
    out["capex_usd_per_million_output_tokens"] = (fp["money/run_usd"] - fp["money/energy_usd"]) / per_million
    if "money/fabric_depreciation_usd" in fp:
        out["fabric_usd_per_million_output_tokens"] = fp["money/fabric_depreciation_usd"] / per_million
    return out
