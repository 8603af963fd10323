"""One period's books: per site, devices, megawatts, energy, money and carbon; what was unmet and why;
where demand went instead of its cheapest place, and what moving training data cost.

Energy: working devices draw their estimated IT power (training: the footprint's average; serving:
board power + hosts, an upper bound at the utilisation target) for their busy time; installed devices
draw idle power otherwise (board power where no idle figure is published: an upper bound, flagged).
Stranded devices are installed ones no demand uses this period (kept
until their refresh); ``device_years_at_work`` says how much of the period the used ones work.
Facility energy = IT x PUE; carbon = facility energy x the site's grid intensity that year
(:func:`flopwatt.energy.carbon.tonnes_co2e`); money: capex of the devices bought (catalog price x
price factor) and of the facility for their IT power (economics.toml $ per W), opex = energy at the
site's price that year + maintenance on installed IT capex (economics.toml).
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import TYPE_CHECKING

from flopwatt import catalog
from flopwatt.capacity.candidates import (
    Candidate,
    idle_w_per_device,
    interpolate,
    serving_candidates,
    step_value,
)
from flopwatt.energy import carbon

if TYPE_CHECKING:
    from flopwatt.capacity.config import CapacityConfig
    from flopwatt.capacity.plan import Need, Period, State
    from flopwatt.capacity.rates import RateCache

YEAR_S = 365.25 * 86400.0
J_PER_TWH = 3.6e15


def facility_usd_per_w() -> float:
    return catalog.economics().facility_capex_usd_per_w


def wan_j_per_byte() -> tuple[float, str]:
    """Energy of moving one byte between sites over the WAN (data_movement.toml [wan]) and its source."""
    table = catalog.data_movement().get("wan")
    if not table or "j_per_byte" not in table or "source" not in table:
        raise ValueError("catalog data_movement.toml has no [wan] j_per_byte with a source")
    return float(table["j_per_byte"]), str(table["source"])


def _site_rows(cfg: CapacityConfig, state: State, p: Period, needs: list[Need]) -> dict[str, dict]:
    busy_s = defaultdict(float)   # (site, hw) -> device-seconds at work
    busy_j = defaultdict(float)   # site -> IT joules at work
    bought = defaultdict(float)   # (site, hw) -> devices bought this period
    for n in needs:
        for c, devices, new in n.taken:
            busy_s[(c.site.id, c.hw.id)] += devices * n.busy_s
            busy_j[c.site.id] += devices * c.rate.it_w_per_device * n.busy_s
            if new:
                bought[(c.site.id, c.hw.id)] += devices
    econ = catalog.economics()
    rows = {}
    for sid, site in cfg.sites.items():
        cohorts = [c for c in state.cohorts if c.site == sid]
        installed = defaultdict(float)
        for c in cohorts:
            installed[c.hw] += c.devices
        idle_j, bound, it_peak_w, capex_it, capex_fac, maint = 0.0, [], 0.0, 0.0, 0.0, 0.0
        unknown_money = False
        for hid, devices in installed.items():
            idle_w, upper = idle_w_per_device(cfg.hardware[hid])
            idle_j += max(devices * p.length_s - busy_s[(sid, hid)], 0.0) * idle_w
            if upper and devices > busy_s[(sid, hid)] / p.length_s + 1e-9:
                bound.append(hid)
        for c in cohorts:
            it_peak_w += c.devices * c.it_peak_w
            if c.price_usd is None:
                unknown_money = True
                continue
            maint += c.devices * c.price_usd * econ.maintenance_fraction_per_year * p.length_s / YEAR_S
            if c.bought == p.start:
                capex_it += c.devices * c.price_usd
                capex_fac += c.devices * c.it_peak_w * econ.facility_capex_usd_per_w
        pue = _pue(cfg, sid)
        it_j = busy_j[sid] + idle_j
        fac_j = it_j * pue
        price = interpolate(site.electricity_usd_per_kwh, p.start)
        energy_usd = fac_j / 3.6e6 * price
        busy_devices = {h: busy_s[(sid, h)] / p.length_s for h in installed}
        rows[sid] = {
            "tier": site.tier, "catalog_site": site.site.id,
            "devices": {h: math.ceil(v - 1e-6) for h, v in installed.items() if v > 0},
            "devices_bought": {h: math.ceil(bought[(sid, h)] - 1e-6) for h in installed if bought[(sid, h)] > 0},
            "device_years_at_work": {h: round(v, 3) for h, v in busy_devices.items()},
            "mw_available": step_value(site.mw_available, p.year),
            "mw_it_peak": it_peak_w / 1e6, "mw_facility_peak": it_peak_w * pue / 1e6, "pue": pue,
            "twh_it": it_j / J_PER_TWH, "twh_facility": fac_j / J_PER_TWH,
            "capex_usd": None if unknown_money else capex_it + capex_fac,
            "capex_it_usd": None if unknown_money else capex_it, "capex_facility_usd": None if unknown_money
            else capex_fac,
            "opex_usd": None if unknown_money else energy_usd + maint, "energy_usd": energy_usd,
            "tco2e": float(carbon.tonnes_co2e(fac_j, interpolate(site.carbon_g_per_kwh, p.start))),
            "carbon_g_per_kwh": interpolate(site.carbon_g_per_kwh, p.start), "electricity_usd_per_kwh": price,
            "stranded_devices": {h: math.floor(installed[h] - state.busy.get((sid, h), 0.0) + 1e-6)
                                 for h in installed if installed[h] - state.busy.get((sid, h), 0.0) >= 1.0},
            "unused_mw": max(step_value(site.mw_available, p.year) - it_peak_w * pue / 1e6, 0.0),
            "idle_power_upper_bound": bound,
        }
    return rows


def _pue(cfg: CapacityConfig, sid: str) -> float:
    from flopwatt.capacity.candidates import site_pue

    return site_pue(cfg.sites[sid])


def _placed(n: Need) -> dict[str, float]:
    """Devices by site/hardware (idle ones reused and new ones together)."""
    out = defaultdict(float)
    for c, devices, _ in n.taken:
        out[f"{c.site.id}/{c.hw.id}"] += devices
    return {k: round(v, 1) for k, v in out.items()}


def _unmet(needs: list[Need], unmet: dict[str, float]) -> list[dict]:
    out = []
    for n in needs:
        left = unmet[n.id]
        if left <= 1e-9 * n.rate:
            continue
        reasons = "; ".join(dict.fromkeys(n.reasons))
        why = sorted(n.limits) or ([f"no candidate: {reasons}"] if n.reasons else ["no-hardware"])
        out.append({"demand": n.id, "kind": n.kind, "unmet_share": left / n.rate, "unmet_tokens_per_s": left,
                    "why": why})
    return out


def _served(n: Need) -> tuple[dict[str, float], float, float, float]:
    """(devices by site, work served, yearly $ of the devices used, facility J a year)."""
    by_site = defaultdict(float)
    work = usd = joules = 0.0
    for c, devices, _ in n.taken:
        by_site[c.site.id] += devices
        work += devices * c.work_per_device
        usd += devices * (c.usd_per_device_year or math.nan)
        joules += devices * c.rate.it_w_per_device * c.pue * YEAR_S
    return dict(by_site), work, usd, joules


def _elsewhere(n: Need, pool: list[Candidate]) -> tuple[float, float, str | None]:
    """(yearly $, facility J a year, site) of the work ``n`` took, moved onto the cheapest candidate in
    ``pool`` with the same hardware as each allocation; NaN where ``pool`` lacks that hardware."""
    usd = joules = 0.0
    sites = set()
    for c, devices, _ in n.taken:
        alt = next((a for a in pool if a.hw.id == c.hw.id), None)
        if alt is None:
            return math.nan, math.nan, None
        moved = devices * c.work_per_device / alt.work_per_device
        usd += moved * (alt.usd_per_device_year or math.nan)
        joules += moved * alt.rate.it_w_per_device * alt.pue * YEAR_S
        sites.add(alt.site.id)
    return usd, joules, ", ".join(sorted(sites))


def _placements(cfg: CapacityConfig, rates: RateCache, p: Period, needs: list[Need]) -> list[dict]:
    """Services placed away from the cheapest place for their work (kept near users by latency or tier):
    what that costs a year in money and facility energy, the same hardware at the cheapest site."""
    out = []
    for n in needs:
        if n.kind != "serving" or not n.taken:
            continue
        by_site, _, usd, joules = _served(n)
        free, _ = serving_candidates(cfg, rates, n.demand, p.start, ignore_latency=True)
        cheap_usd, cheap_j, cheap_site = _elsewhere(n, free)
        if cheap_site is None or set(by_site) == set(cheap_site.split(", ")):
            continue
        out.append({"demand": n.id, "region": n.demand.region, "placed": {k: round(v, 1) for k, v in by_site.items()},
                    "cheapest_site": cheap_site, "extra_usd_per_year": usd - cheap_usd,
                    "extra_facility_mwh_per_year": (joules - cheap_j) / 3.6e9})
    return out


def _gravity(cfg: CapacityConfig, needs: list[Need]) -> list[dict]:
    """Training run away from its data: bytes moved (data there, final checkpoint back), time, energy,
    and the cost of the job's devices compared with the same hardware where its data lives."""
    out = []
    j_per_byte, _ = wan_j_per_byte() if any(n.kind == "training" and n.demand.data_site for n in needs) else (0, "")
    for n in needs:
        t = n.demand
        if n.kind != "training" or not t.data_site or not n.taken:
            continue
        by_site, _, usd, joules = _served(n)
        if set(by_site) == {t.data_site}:
            continue
        ckpt = t.model.total_params(t.seq_len) * catalog.failure_model().bytes_per_param
        moved = t.data_bytes + ckpt
        share = n.busy_s / YEAR_S
        home_usd, home_j, home = _elsewhere(n, [c for c in n.candidates if c.site.id == t.data_site])
        out.append({"demand": n.id, "data_site": t.data_site, "placed": {k: round(v, 1) for k, v in by_site.items()},
                    "bytes_moved": moved, "transfer_hours": moved / cfg.policy.wan_bandwidth_bytes_per_s / 3600,
                    "transfer_mwh": moved * j_per_byte / 3.6e9,
                    "usd_vs_data_site": (usd - home_usd) * share if home else None,
                    "facility_mwh_vs_data_site": (joules - home_j) * share / 3.6e9 if home else None})
    return out


def period_summary(cfg: CapacityConfig, rates: RateCache, state: State, p: Period, needs: list[Need],
                   unmet: dict[str, float], required: float) -> dict:
    sites = _site_rows(cfg, state, p, needs)
    money = [s["capex_usd"] for s in sites.values()]
    return {
        "period": p.label, "year": p.year, "sites": sites,
        "devices_required": required,
        "totals": {k: sum(s[k] for s in sites.values()) for k in
                   ("mw_it_peak", "mw_facility_peak", "twh_it", "twh_facility", "tco2e", "unused_mw")}
        | {"capex_usd": None if None in money else sum(money),
           "opex_usd": None if None in money else sum(s["opex_usd"] for s in sites.values()),
           "devices": sum(sum(s["devices"].values()) for s in sites.values())},
        "demand": [{"demand": n.id, "kind": n.kind, "tokens_per_s": n.rate, "placed": _placed(n)} for n in needs],
        "unmet": _unmet(needs, unmet),
        "placements": _placements(cfg, rates, p, needs),
        "data_gravity": _gravity(cfg, needs),
    }
