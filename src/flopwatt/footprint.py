"""What a training run costs beyond time: failures, energy, money and carbon (vectorised over plans).

    failure-free time (evaluate_training) -> expected wall time with interruptions (reliability)
    -> IT power by activity (energy.power) x wall time -> x PUE (energy.facility) -> facility energy
    -> tCO2e at the site's grid (energy.carbon); capex/opex -> $ per run (economics)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from flopwatt import catalog
from flopwatt import economics as econ
from flopwatt.catalog import facility_costs
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

    ``fabric`` (from :func:`flopwatt.fabric.design.design`) adds the network's power and its bill of materials
    to capex (:func:`facility_footprint`); without one the network draws and costs nothing here (stated by
    :func:`fabric_money_note`) and data-movement energy uses a rail-optimised default fabric.
    Where the device's board power is unpublished, power, energy, carbon and money are left out
    (unknown) and ``unknown`` says why.
    """
    if workload.tokens is None:
        raise ValueError("a footprint needs the training token budget")
    work = result.metrics["time_to_train_s"]
    out = run_reliability(work, np.full_like(work, devices), workload.model.total_params(workload.seq_len),
                          setting.failures)
    wall = out["reliability/expected_wall_s"]
    if system.accelerator.board_power_w is None:
        out["facility/pue"] = np.full_like(work, _pue(setting))
        return out
    average_w, peak_w = power.device_power_w(result.time, system)
    network_w = 0.0 if fabric is None else fabric[1].watts
    out.update(facility_footprint(system, devices, setting, device_w=(average_w, peak_w), wall_s=wall,
                                  network_w=network_w, tokens=workload.tokens,
                                  fabric_bom=None if fabric is None else fabric[1]))
    out.update(_movement(result, system, devices, fabric))
    return out


def unknown_parts(system: System, fabric_bom: Bom | None = None) -> list[str]:
    """What a footprint of ``system`` (with the scale-out fabric of ``fabric_bom``, if designed) cannot say,
    and why (unpublished figures)."""
    acc = system.accelerator
    out = []
    if acc.board_power_w is None:
        out.append(f"power, energy, carbon and money: {acc.id} board power unpublished")
    elif system.node_price_usd is None and acc.price_usd is None:
        out.append(f"money totals (run, capex, TCO, per device-hour and per token): {system.id} has no published "
                   "price; energy and facility lines are known")
    elif fabric_bom is not None and fabric_bom.unknown_price:
        out.append(_unpriced_line(fabric_bom))
    return out


def _unpriced_line(bom: Bom) -> str:
    parts = ", ".join(f"{name} x {count:,}" for name, count in sorted(bom.unknown_price.items()))
    return (f"money totals (run, capex, TCO, per device-hour and per token): fabric parts without a published price "
            f"({parts}; catalog network_parts.toml); the known lines are kept")


def fabric_money_note(fabric_bom: Bom | None) -> str:
    """The assumption line saying whether the money includes the scale-out fabric's bill of materials."""
    if fabric_bom is None:
        return ("money: no scale-out fabric designed, so its switches, NICs and cables are not in capex (give a "
                "fabric topology to count them)")
    totals = fabric_bom.totals()
    if totals["usd_total"] is None:
        return f"money: fabric capex unknown, {totals['unpriced_parts']:,} parts unpriced (totals left out)"
    return (f"money: fabric capex {totals['usd_total']:,.0f} US$ (bill of materials: switches, NICs and link media), "
            f"IT equipment: depreciated over the IT life and maintained like the nodes")


def _pue(setting: Setting) -> float:
    return setting.pue_override or facility.pue(setting.cooling, setting.site)


def facility_footprint(system: System, devices: int, setting: Setting, *, device_w: tuple, wall_s: np.ndarray,
                       network_w: float = 0.0, tokens: float | None = None,
                       fabric_bom: Bom | None = None) -> dict[str, np.ndarray]:
    """Power, energy, carbon and money of ``devices`` drawing ``device_w`` = (average, peak) W each over
    ``wall_s`` (vectorised), with their hosts and ``network_w`` of network; training and serving alike.

    IT power = devices x device power + nodes x host overhead + network; facility = IT x PUE
    (:mod:`flopwatt.energy.facility`); carbon at the site's grid; money by :mod:`flopwatt.economics`
    (no published price: money keys are left out). ``fabric_bom`` (a designed fabric's bill of materials)
    adds its price to capex on its own lines; with unpriced parts the totals are left out (unknown) and
    ``fabric/unpriced_parts`` counts them, the known lines (IT and facility depreciation, energy) kept.
    """
    wall = np.asarray(wall_s, dtype=float)
    n = np.full_like(wall, devices)
    nodes = np.ceil(n / system.devices_per_node)
    host = nodes * power.host_power_w(system)
    average, peak = (np.broadcast_to(np.asarray(w, dtype=float), wall.shape) for w in device_w)
    out = {"power/devices_w": n * average, "power/hosts_w": host, "power/network_w": np.full_like(wall, network_w),
           "power/it_w": n * average + host + network_w, "power/it_peak_w": n * peak + host + network_w}
    pue = _pue(setting)
    out["facility/pue"] = np.full_like(wall, pue)
    out["facility/racks"] = facility.racks(out["power/it_peak_w"], setting.cooling)
    out["power/facility_peak_w"] = out["power/it_peak_w"] * pue
    out["energy/it_j"] = out["power/it_w"] * wall
    out["energy/facility_j"] = out["energy/it_j"] * pue
    out["energy/cooling_and_overhead_j"] = out["energy/facility_j"] - out["energy/it_j"]
    out["carbon/tco2e"] = carbon.tonnes_co2e(out["energy/facility_j"], setting.site.carbon_g_per_kwh)
    out.update(_money(out, system, devices, wall, tokens, setting, fabric_bom))
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


def facility_economics(setting: Setting) -> Economics:
    """The setting's economics with the facility capex of its site's region and its cooling type
    (:func:`flopwatt.catalog.facility_costs.site_capex_usd_per_w`; the rule is its ``rule_text``)."""
    usd_per_w, _ = facility_costs.site_capex_usd_per_w(setting.site, setting.cooling.id,
                                                       setting.economics.facility_capex_usd_per_w)
    return dataclasses.replace(setting.economics, facility_capex_usd_per_w=usd_per_w)


UNKNOWN_WITH_UNPRICED_FABRIC = ("money/maintenance_usd", "money/run_usd", "money/capex_usd")
"""Money lines that include the fabric's price, so are unknown while a fabric part is unpriced."""
UNKNOWN_WITHOUT_DEVICE_PRICE = ("money/it_depreciation_usd", *UNKNOWN_WITH_UNPRICED_FABRIC)
"""Money lines that include the devices' price, so are unknown while the system has none."""


def _money(out: dict[str, np.ndarray], system: System, devices: int, wall: np.ndarray, tokens: float | None,
           setting: Setting, fabric_bom: Bom | None = None) -> dict[str, np.ndarray]:
    it_capex = econ.it_capex_usd(system, np.full_like(wall, devices), setting.accelerator_price_factor)
    fabric_usd = None if fabric_bom is None else fabric_bom.totals()["usd_total"]
    economics = facility_economics(setting)
    costs = econ.run_costs(it_capex=np.zeros_like(wall) if it_capex is None else it_capex,
                           it_peak_w=out["power/it_peak_w"], wall_s=wall, facility_energy_j=out["energy/facility_j"],
                           usd_per_kwh=setting.site.electricity_usd_per_kwh, econ=economics, fabric_capex=fabric_usd)
    unknown = set(UNKNOWN_WITHOUT_DEVICE_PRICE) if it_capex is None else set()
    if fabric_bom is not None and fabric_usd is None:  # an unpriced fabric part: totals unknown, never a partial sum
        unknown |= set(UNKNOWN_WITH_UNPRICED_FABRIC)
        costs["fabric/unpriced_parts"] = np.full_like(wall, fabric_bom.totals()["unpriced_parts"])
    if unknown:  # the lines that need no unknown price (energy, facility, a priced fabric) are kept
        return {k: v for k, v in costs.items() if k not in unknown}
    costs.update(econ.unit_costs(costs["money/run_usd"], np.full_like(wall, devices), wall, tokens))
    facility_power = out["power/it_w"] * out["facility/pue"]
    owned_it = it_capex if fabric_usd is None else it_capex + fabric_usd
    costs["money/tco_usd"] = econ.tco_usd(costs["money/capex_usd"], facility_power,
                                          setting.site.electricity_usd_per_kwh, owned_it, economics,
                                          setting.tco_years)
    return costs
