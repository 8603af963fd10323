"""The plan as a JSON payload, CSV rows (one per period and site) and a text summary."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from flopwatt.capacity.config import CapacityConfig
from flopwatt.errors import InputError

CSV_COLUMNS = ("period", "site", "tier", "devices", "devices_bought", "mw_available", "mw_it_peak",
               "mw_facility_peak", "pue", "twh_it", "twh_facility", "capex_usd", "opex_usd", "energy_usd", "tco2e",
               "carbon_g_per_kwh", "electricity_usd_per_kwh", "stranded_devices", "unused_mw")


def inputs(cfg: CapacityConfig) -> dict[str, Any]:
    """The policy numbers and the hardware/site settings the plan used, stated with the results."""
    pol = cfg.policy
    return {
        "policy": {"refresh_years": pol.refresh_years, "utilisation_target": pol.utilisation_target,
                   "redundancy": pol.redundancy, "budget_usd_per_year": pol.budget_usd_per_year,
                   "training_estimate_devices": pol.training_estimate_devices,
                   "serving_estimate_devices": pol.serving_estimate_devices,
                   "wan_bandwidth_bytes_per_s": pol.wan_bandwidth_bytes_per_s,
                   "fabric_topology": pol.fabric_topology},
        "hardware": {h.id: {"accelerator": h.system.accelerator.id, "system": h.system.id,
                            "available_from": h.available_from, "available_until": h.available_until,
                            "supply_per_year": h.supply_per_year, "price_factor": h.price_factor,
                            "tiers": list(h.tiers)} for h in cfg.hardware.values()},
        "sites": {s.id: {"site": s.site.id, "tier": s.tier, "cooling": s.cooling.id, "pue": s.pue_override,
                         "mw_available": dict(s.mw_available), "carbon_g_per_kwh": dict(s.carbon_g_per_kwh),
                         "electricity_usd_per_kwh": dict(s.electricity_usd_per_kwh), "rtt_s": s.rtt_s,
                         "hardware": list(s.hardware)} for s in cfg.sites.values()},
    }


def assumptions(cfg: CapacityConfig) -> list[str]:
    """The modelling rules behind the figures, stated with them."""
    out = ["a period's service demand is its rate at the period's start (rate x (1 + growth)^t)",
           "training jobs start on 1 January of their year and run concurrently with each other",
           "serving devices draw board power + host share while installed for service (an upper bound at the "
           "utilisation target); idle installed devices draw idle power, or board power where none is published",
           "device counts are planned as continuous quantities and reported rounded up",
           "facility MW limits the facility peak power (IT peak x PUE) of all installed devices at a site"]
    if cfg.policy.fabric_topology is None:
        out.append("no scale-out fabric: training clusters' switches and links draw no power here")
    return out


def payload(cfg: CapacityConfig, plan: dict[str, Any]) -> dict[str, Any]:
    return {"capacity": cfg.name, "first_year": cfg.first_year, "last_year": cfg.last_year, "step": cfg.step,
            "inputs": inputs(cfg), "assumptions": assumptions(cfg), "estimates_made": plan["estimates"],
            "periods": plan["periods"]}


def csv_rows(p: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for period in p["periods"]:
        for sid, s in period["sites"].items():
            row = {k: s.get(k) for k in CSV_COLUMNS[2:]}
            row.update(period=period["period"], site=sid,
                       devices=";".join(f"{h}={n}" for h, n in s["devices"].items()),
                       devices_bought=";".join(f"{h}={n}" for h, n in s["devices_bought"].items()),
                       stranded_devices=";".join(f"{h}={n}" for h, n in s["stranded_devices"].items()))
            rows.append(row)
    return rows


def write_csv(path: Path, p: dict[str, Any]) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(csv_rows(p))
    _write(path, buf.getvalue(), "--csv")


def _write(path: Path, text: str, flag: str) -> None:
    if not path.parent.is_dir():
        raise InputError(flag, "a path in an existing directory", str(path))
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        raise InputError(flag, f"a writable path ({exc.strerror})", str(path)) from exc


def _money(value: float | None, scale: float = 1e9) -> str:
    return "unknown" if value is None else f"{value / scale:,.2f}"


def text(p: dict[str, Any]) -> str:
    lines = [f"capacity plan {p['capacity']}: {p['first_year']}-{p['last_year']} by {p['step']}; "
             f"{p['estimates_made']} model estimates", "",
             f"{'period':8} {'devices':>9} {'required':>9} {'MW IT':>8} {'MW fac':>8} {'TWh fac':>8} "
             f"{'capex $B':>9} {'opex $B':>8} {'ktCO2e':>8} {'unmet':>5}"]
    for period in p["periods"]:
        t = period["totals"]
        lines.append(f"{period['period']:8} {t['devices']:9,} {period['devices_required']:9,.0f} "
                     f"{t['mw_it_peak']:8,.1f} {t['mw_facility_peak']:8,.1f} {t['twh_facility']:8.3f} "
                     f"{_money(t['capex_usd']):>9} {_money(t['opex_usd']):>8} {t['tco2e'] / 1e3:8,.1f} "
                     f"{len(period['unmet']):5d}")
    lines += _notes(p)
    return "\n".join(lines)


def _notes(p: dict[str, Any]) -> list[str]:
    out = []
    for period in p["periods"]:
        for u in period["unmet"]:
            out.append(f"{period['period']} unmet: {u['demand']} ({u['kind']}) {u['unmet_share']:.0%}: "
                       f"{', '.join(u['why'])}")
        for m in period["placements"]:
            out.append(f"{period['period']} {m['demand']} served at {', '.join(m['placed'])} for {m['region']} "
                       f"(same work and hardware cheapest at {m['cheapest_site']}): "
                       f"{m['extra_usd_per_year'] / 1e6:+,.1f} M$ and "
                       f"{m['extra_facility_mwh_per_year']:+,.0f} MWh a year")
        for g in period["data_gravity"]:
            vs = "" if g["usd_vs_data_site"] is None else (
                f"; vs training at {g['data_site']}: {g['usd_vs_data_site'] / 1e6:+,.1f} M$, "
                f"{g['facility_mwh_vs_data_site']:+,.0f} MWh")
            out.append(f"{period['period']} {g['demand']} trained at {', '.join(g['placed'])}, data at "
                       f"{g['data_site']}: {g['bytes_moved'] / 1e15:,.2f} PB moved, {g['transfer_hours']:,.1f} h, "
                       f"{g['transfer_mwh']:,.1f} MWh{vs}")
    return ["", *out] if out else []
