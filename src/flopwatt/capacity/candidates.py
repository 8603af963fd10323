"""Where a demand may run and what one device there costs: (site, hardware) candidates, ranked by cost.

A candidate's yearly cost per device is :func:`flopwatt.economics.run_costs` over one year of owning
and running it at the site (IT depreciation, facility depreciation at the catalog's $ per W of IT
load, maintenance, facility energy at the site's price that year); divided by the work one device does
in a year it is the cost per unit of work (training token or output token) that ranks candidates.
Nothing here depends on how much demand there is, so the ranking (and with it the plan's choices) is
the same for any demand size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flopwatt import catalog
from flopwatt import economics as econ
from flopwatt.capacity.config import CapacityConfig, Hardware, PlanSite, ServingDemand, TrainingDemand
from flopwatt.capacity.rates import Rate, RateCache
from flopwatt.energy import facility, power

YEAR_S = econ.YEAR_S


def interpolate(points: tuple[tuple[int, float], ...], year: float) -> float:
    """Linear between the given years, flat before the first and after the last."""
    years = np.array([p[0] for p in points], dtype=float)
    return float(np.interp(year, years, np.array([p[1] for p in points], dtype=float)))


def step_value(points: tuple[tuple[int, float], ...], year: float) -> float:
    """The value of the latest year <= ``year`` (0 before the first): MW from a grid connection date on."""
    value = 0.0
    for y, v in points:
        if y <= year:
            value = v
    return value


def site_pue(site: PlanSite) -> float:
    return site.pue_override or facility.pue(site.cooling, site.site)


def device_price_usd(hw: Hardware) -> float | None:
    """Purchase price of one device (its node's price shared per device), None where unpublished."""
    n = hw.system.devices_per_node
    capex = econ.it_capex_usd(hw.system, np.array([float(n)]), hw.price_factor)
    return None if capex is None else float(capex[0]) / n


def idle_w_per_device(hw: Hardware) -> tuple[float, bool]:
    """(IT power of an idle installed device incl. its host share, True if that is an upper bound: the device
    has no published idle power and is charged its board power, as :mod:`flopwatt.energy.power` does)."""
    acc = hw.system.accelerator
    host = power.host_power_w(hw.system) / hw.system.devices_per_node
    if acc.idle_power_w is not None:
        return acc.idle_power_w + host, False
    return (acc.board_power_w or 0.0) + host, True


@dataclass(frozen=True, slots=True)
class Candidate:
    site: PlanSite
    hw: Hardware
    rate: Rate
    work_per_device: float
    """Demand units one installed device (spares included) covers: tokens/s of training, or output
    tokens/s of serving within the utilisation target."""
    pue: float
    usd_per_device_year: float | None
    usd_per_work_year: float
    """Ranking key (inf where money is unknown: such candidates go last)."""


def yearly_usd(site: PlanSite, hw: Hardware, rate: Rate, pue: float, year: float) -> float | None:
    price = device_price_usd(hw)
    if price is None or rate.it_w_per_device is None:
        return None
    costs = econ.run_costs(it_capex=np.array([price]), it_peak_w=np.array([rate.it_peak_w_per_device]),
                           wall_s=np.array([YEAR_S]), facility_energy_j=np.array([rate.it_w_per_device * pue * YEAR_S]),
                           usd_per_kwh=interpolate(site.electricity_usd_per_kwh, year), econ=catalog.economics())
    return float(costs["money/run_usd"][0])


def candidate(site: PlanSite, hw: Hardware, rate: Rate, per_device: float, redundancy: float,
              year: float) -> Candidate:
    pue = site_pue(site)
    usd = yearly_usd(site, hw, rate, pue, year)
    work = per_device / (1.0 + redundancy)
    return Candidate(site, hw, rate, work, pue, usd, usd / work if usd is not None else float("inf"))


def training_candidates(cfg: CapacityConfig, rates: RateCache, demand: TrainingDemand,
                        year: float) -> tuple[list[Candidate], list[str]]:
    """Ranked candidates for a training job, and the reasons the others were left out."""
    out, reasons = [], []
    for sid in demand.sites:
        site = cfg.sites[sid]
        for hid in site.hardware:
            hw = cfg.hardware[hid]
            rate = rates.training(demand, hw)
            if rate.work_per_device_s is None:
                reasons.append(f"{hid}: {rate.reason} ({rate.detail})")
                continue
            out.append(candidate(site, hw, rate, rate.work_per_device_s, cfg.policy.redundancy, year))
    return sorted(out, key=lambda c: (c.usd_per_work_year, c.site.id, c.hw.id)), reasons


def serving_candidates(cfg: CapacityConfig, rates: RateCache, demand: ServingDemand, year: float,
                       *, ignore_latency: bool = False) -> tuple[list[Candidate], list[str]]:
    """Ranked candidates for a service: sites of its tiers with a known RTT to its users leaving TTFT
    budget; ``ignore_latency`` drops the tier and RTT conditions (the cheapest place for the work alone)."""
    out, reasons = [], []
    for site in cfg.sites.values():
        rtt = 0.0 if ignore_latency else site.rtt_s.get(demand.region)
        if not ignore_latency and site.tier not in demand.tiers:
            continue
        if rtt is None:
            reasons.append(f"{site.id}: latency (no RTT to {demand.region} known)")
            continue
        for hid in site.hardware:
            hw = cfg.hardware[hid]
            rate = rates.serving(demand, hw, demand.ttft_slo_s - rtt)
            if rate.work_per_device_s is None:
                reasons.append(f"{site.id}/{hid}: {rate.reason} ({rate.detail})")
                continue
            per_device = rate.work_per_device_s * cfg.policy.utilisation_target
            out.append(candidate(site, hw, rate, per_device, cfg.policy.redundancy, year))
    return sorted(out, key=lambda c: (c.usd_per_work_year, c.site.id, c.hw.id)), reasons
