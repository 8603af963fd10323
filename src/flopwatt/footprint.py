"""What a training run costs beyond time: failures, energy, money and carbon (vectorised over plans).

    failure-free time (evaluate_training) -> expected wall time with interruptions (reliability)
    -> IT power by activity (energy.power) x wall time -> x PUE (energy.facility) -> facility energy
    -> tCO2e at the site's grid (energy.carbon); capex/opex -> $ per run (economics)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flopwatt import catalog
from flopwatt import economics as econ
from flopwatt.economics import Economics
from flopwatt.energy import carbon, facility, movement, power
from flopwatt.fabric.bom import Bom
from flopwatt.fabric.design import design
from flopwatt.fabric.network import Fabric, FabricSpec
from flopwatt.perf.training import TrainingResult
from flopwatt.reliability import FailureModel, run_reliability
from flopwatt.specs import System, TrainingWorkload
from flopwatt.specs.site import Cooling, Site


@dataclass(frozen=True, kw_only=True, slots=True)
class Setting:
    """Where and under which assumptions a run happens."""

    site: Site
    cooling: Cooling
    economics: Economics
    failures: FailureModel
    accelerator_price_factor: float = 1.0
    tco_years: float = 5.0
    pue_override: float | None = None
    """A measured PUE to use instead of the cooling/climate estimate."""


DEFAULT_SITE = "us-virginia"
DEFAULT_COOLING = "air"


def default_setting(site: str = DEFAULT_SITE, cooling: str = DEFAULT_COOLING) -> Setting:
    """The catalog's site, cooling, economics and failure model."""
    return Setting(site=catalog.get("sites", site), cooling=catalog.get("cooling", cooling),
                   economics=catalog.economics(), failures=catalog.failure_model())


def run_footprint(result: TrainingResult, workload: TrainingWorkload, system: System, devices: int,
                  setting: Setting, fabric: tuple[Fabric, Bom] | None = None) -> dict[str, np.ndarray]:
    """Reliability, energy, carbon and money of running each plan to ``workload.tokens``.

    ``fabric`` (from :func:`flopwatt.fabric.design.design`) adds the network's power; without one
    the network draws nothing here and data-movement energy uses a rail-optimised default fabric.
    """
    if workload.tokens is None:
        raise ValueError("a footprint needs the training token budget")
    work = result.metrics["time_to_train_s"]
    out = run_reliability(work, np.full_like(work, devices), workload.model.total_params(workload.seq_len),
                          setting.failures)
    wall = out["reliability/expected_wall_s"]
    out.update(power.it_power_w(result.time, system, np.full_like(work, devices)))
    if fabric is not None:
        out["power/network_w"] = np.full_like(work, fabric[1].watts)
        out["power/it_w"] = out["power/it_w"] + fabric[1].watts
        out["power/it_peak_w"] = out["power/it_peak_w"] + fabric[1].watts
    out.update(_movement(result, system, devices, fabric))
    pue = setting.pue_override or facility.pue(setting.cooling, setting.site)
    out["facility/pue"] = np.full_like(work, pue)
    out["facility/racks"] = facility.racks(out["power/it_peak_w"], setting.cooling)
    out["power/facility_peak_w"] = out["power/it_peak_w"] * pue
    out["energy/it_j"] = out["power/it_w"] * wall
    out["energy/facility_j"] = out["energy/it_j"] * pue
    out["energy/cooling_and_overhead_j"] = out["energy/facility_j"] - out["energy/it_j"]
    out["carbon/tco2e"] = carbon.tonnes_co2e(out["energy/facility_j"], setting.site.carbon_g_per_kwh)
    out.update(_money(out, system, devices, wall, workload.tokens, setting))
    return out


def _movement(result: TrainingResult, system: System, devices: int,
              fabric: tuple[Fabric, Bom] | None) -> dict[str, np.ndarray]:
    """Per-step energy split between on-chip work and moving bytes, for one device."""
    if fabric is None:  # cabled for the whole nodes the job occupies (12 GPUs on 8-GPU nodes: 2 nodes, 16 NICs)
        per_node = system.devices_per_node
        endpoints = -(-max(devices, 1) // per_node) * per_node
        fabric = design(FabricSpec(topology="rail-optimized"), endpoints, per_node)
    built, bom = fabric
    constants = catalog.data_movement()
    per_bit = movement.scale_out_pj_per_bit(bom.pj_per_bit, built.topology.diameter_switch_hops,
                                            constants["scale_out"]["nic_serdes_pj_per_bit"])
    device_avg_w, _ = power.device_power_w(result.time, system)
    device_j = device_avg_w * result.time["time/step"]
    return movement.step_energy(result.traffic, device_j, constants, per_bit)


def _money(out: dict[str, np.ndarray], system: System, devices: int, wall: np.ndarray, tokens: float,
           setting: Setting) -> dict[str, np.ndarray]:
    it_capex = econ.it_capex_usd(system, np.full_like(wall, devices), setting.accelerator_price_factor)
    if it_capex is None:  # no published price: money stays unknown rather than guessed
        return {}
    costs = econ.run_costs(it_capex=it_capex, it_peak_w=out["power/it_peak_w"], wall_s=wall,
                           facility_energy_j=out["energy/facility_j"],
                           usd_per_kwh=setting.site.electricity_usd_per_kwh, econ=setting.economics)
    costs.update(econ.unit_costs(costs["money/run_usd"], np.full_like(wall, devices), wall, tokens))
    facility_power = out["power/it_w"] * out["facility/pue"]
    costs["money/tco_usd"] = econ.tco_usd(costs["money/capex_usd"], facility_power,
                                          setting.site.electricity_usd_per_kwh, it_capex, setting.economics,
                                          setting.tco_years)
    return costs
