"""HTML report of ``flopwatt capacity``: the yearly stacks by site (devices, MW, $, tCO2e), what was
unmet and why, services kept near their users, training moved to its compute, and the policy inputs.

Same conventions as :mod:`flopwatt.report.html`: every number from the JSON payload, figures as inline
SVG, no external references.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from flopwatt.report.html import _page, _plt, _svg, _table

STACKS = (("devices", "devices", 1.0, "installed devices"),
          ("mw_facility_peak", "MW", 1.0, "facility MW (peak)"),
          ("usd", "M$", 1e6, "capex + opex (M$)"),
          ("tco2e", "ktCO2e", 1e3, "tCO2e (thousands)"))


def _value(site: dict[str, Any], key: str) -> float:
    if key == "devices":
        return float(sum(site["devices"].values()))
    if key == "usd":
        return (site["capex_usd"] or 0.0) + (site["opex_usd"] or 0.0)
    return float(site[key])


def _stack(p: dict[str, Any], key: str, unit: str, scale: float, title: str) -> str:
    plt = _plt()
    periods = [q["period"] for q in p["periods"]]
    sites = list(p["periods"][0]["sites"]) if p["periods"] else []
    fig, ax = plt.subplots(figsize=(9, 3.2))
    bottom = [0.0] * len(periods)
    for sid in sites:
        values = [_value(q["sites"][sid], key) / scale for q in p["periods"]]
        ax.bar(periods, values, bottom=bottom, label=sid)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    ax.set_ylabel(unit)
    ax.set_title(title)
    ax.tick_params(axis="x", labelsize=8, rotation=45 if len(periods) > 8 else 0)
    ax.legend(fontsize=7, ncol=4, frameon=False)
    return _svg(fig)


def _totals(p: dict[str, Any]) -> str:
    rows = []
    for q in p["periods"]:
        t = q["totals"]
        money = [t["capex_usd"], t["opex_usd"]]
        rows.append((q["period"], f"{t['devices']:,}", f"{q['devices_required']:,.0f}", f"{t['mw_it_peak']:,.1f}",
                     f"{t['mw_facility_peak']:,.1f}", f"{t['twh_facility']:.3f}",
                     *("unknown" if m is None else f"{m / 1e6:,.0f}" for m in money), f"{t['tco2e']:,.0f}",
                     f"{t['unused_mw']:,.1f}", len(q["unmet"])))
    return _table(rows, ("period", "devices", "required", "MW IT", "MW facility", "TWh facility", "capex M$",
                         "opex M$", "tCO2e", "unused MW", "unmet"))


def _events(p: dict[str, Any]) -> list[str]:
    unmet = [(q["period"], u["demand"], u["kind"], f"{u['unmet_share']:.0%}", "; ".join(u["why"]))
             for q in p["periods"] for u in q["unmet"]]
    moved = [(q["period"], m["demand"], m["region"], ", ".join(m["placed"]), m["cheapest_site"],
              f"{m['extra_usd_per_year'] / 1e6:,.1f}", f"{m['extra_facility_mwh_per_year']:,.0f}")
             for q in p["periods"] for m in q["placements"]]
    gravity = [(q["period"], g["demand"], g["data_site"], ", ".join(g["placed"]), f"{g['bytes_moved'] / 1e15:,.2f}",
                f"{g['transfer_hours']:,.1f}", f"{g['transfer_mwh']:,.1f}",
                "-" if g["usd_vs_data_site"] is None else f"{g['usd_vs_data_site'] / 1e6:,.1f}")
               for q in p["periods"] for g in q["data_gravity"]]
    out = ["<h2>Demand not met, and why</h2>",
           _table(unmet, ("period", "demand", "kind", "unmet", "why")) if unmet else "<p>none</p>",
           "<h2>Services kept away from the cheapest place (latency, tier)</h2>",
           _table(moved, ("period", "service", "users", "served at", "same hardware cheapest at", "extra M$/year",
                          "extra MWh/year")) if moved else "<p>none</p>",
           "<h2>Training away from its data (data gravity)</h2>",
           _table(gravity, ("period", "job", "data at", "trained at", "PB moved", "transfer h", "transfer MWh",
                            "M$ vs at data site")) if gravity else "<p>none</p>"]
    return out


def capacity_report(p: dict[str, Any]) -> str:
    sections = ["<h2>Totals</h2>", _totals(p)]
    with _plt().rc_context({"svg.fonttype": "none"}):  # text as SVG text, not glyph paths: 4 figures, fast
        for key, unit, scale, title in STACKS:
            sections += [f"<h2>{title} by site</h2>", _stack(p, key, unit, scale, title)]
    sections += _events(p)
    policy = [(k, "-" if v is None else v) for k, v in p["inputs"]["policy"].items()]
    sections += ["<h2>Policy inputs (the user's)</h2>", _table(policy, ("policy", "value")),
                 "<h2>Assumptions</h2>", _table([(a,) for a in p["assumptions"]], ("rule",)),
                 "<h2>Inputs as JSON</h2>", f"<pre>{_escape(json.dumps(p['inputs'], indent=1))}</pre>"]
    return _page(f"flopwatt capacity: {p['capacity']} ({p['first_year']}-{p['last_year']})", sections)


def _escape(text: str) -> str:
    import html

    return html.escape(text)


def write_report(path: Path, p: dict[str, Any]) -> None:
    from flopwatt.capacity.output import _write

    _write(path, capacity_report(json.loads(json.dumps(p))), "--report")
