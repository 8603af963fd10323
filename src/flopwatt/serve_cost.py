"""What serving costs per token: energy, money and carbon of a serving system at its throughput.

A serving replica at its chosen batch keeps its devices busy every iteration, so each device draws
its board power (the upper end of its published range; :mod:`flopwatt.energy.power`), plus each
node's host overhead. Facility power = IT power x PUE at the site (:mod:`flopwatt.energy.facility`);
one hour of service costs its capex depreciation, maintenance and energy
(:func:`flopwatt.economics.run_costs`), and that hour produced ``3600 x tokens/s`` output tokens.
"""

from __future__ import annotations

import math

import numpy as np

from flopwatt import economics as econ
from flopwatt.energy import carbon, facility, power
from flopwatt.energy.power_cap import capped_board_power_w
from flopwatt.footprint import Setting
from flopwatt.specs import System

HOUR_S = 3600.0


def serving_footprint(system: System, devices: int, output_tokens_per_s: float, setting: Setting,
                      power_cap_w: float | None = None) -> dict:
    """J, $ and gCO2e per output token (None where a needed figure is unpublished); under a board power
    limit each device draws at most the limit."""
    acc = system.accelerator
    board_w = capped_board_power_w(acc, power_cap_w)
    if board_w is None:
        return {"joules_per_output_token": None, "usd_per_million_output_tokens": None,
                "gco2e_per_million_output_tokens": None, "unknown": f"{acc.id} board power unpublished"}
    nodes = math.ceil(devices / system.devices_per_node)
    it_w = devices * board_w + nodes * power.host_power_w(system)
    pue = setting.pue_override or facility.pue(setting.cooling, setting.site)
    facility_w = it_w * pue
    j_per_token = facility_w / output_tokens_per_s
    out = {"it_power_w": it_w, "pue": pue, "facility_power_w": facility_w,
           "joules_per_output_token": j_per_token, "it_joules_per_output_token": it_w / output_tokens_per_s,
           "gco2e_per_million_output_tokens": float(carbon.tonnes_co2e(
               np.asarray(j_per_token * 1e6), setting.site.carbon_g_per_kwh)) * 1e6,
           "usd_per_million_output_tokens": None}
    capex = econ.it_capex_usd(system, np.array([float(devices)]), setting.accelerator_price_factor)
    if capex is None:
        out["unknown"] = f"{system.id} has no published price"
        return out
    hour = econ.run_costs(it_capex=capex, it_peak_w=np.array([it_w]), wall_s=np.array([HOUR_S]),
                          facility_energy_j=np.array([facility_w * HOUR_S]),
                          usd_per_kwh=setting.site.electricity_usd_per_kwh, econ=setting.economics)
    usd_per_hour = float(hour["money/run_usd"][0])
    out["usd_per_hour"] = usd_per_hour
    out["usd_per_million_output_tokens"] = usd_per_hour / (output_tokens_per_s * HOUR_S / 1e6)
    return out
