"""Where "liquid cooling takes PUE from 1.55 to 1.06 and cuts 5-year TCO by 15 %" holds: a sweep of its conditions.

The claim (issue 18 wording; origin not found, bench/data/market_claims.md row 4) names two PUEs and a cut but
not what the TCO contains. A 5-year TCO of a cluster here, with flopwatt's own catalog and economics:

    TCO = IT capex + IT maintenance (5 years) + facility capex x charge + facility energy (5 years)
    facility capex = IT peak W x region US$/W (facility_costs.toml) x cooling capex factor (low, mid, high)
    facility energy = IT average W x PUE x 5 years x electricity price
    IT average W = devices x (idle + utilisation x (board - idle)) + hosts; IT peak W at board power

so the cut 1 - TCO_liquid / TCO_air is linear-fractional in the electricity price and the price at which it is
15 % is solved exactly. Conditions swept: electricity price (each site's own, and the break-even), utilisation,
the capex factor of each liquid type (direct-liquid 1.07-1.10; immersion 1.0 at a like-for-like 10 kW/rack and
0.86 when compacted to 40 kW/rack, the rack-density lever), region (construction cost and price per site), what
the TCO contains (the IT hardware or not: an owner vs a colocation view) and how the facility is charged (its
whole build, or the 5 years of its 25-year life). PUEs are the claim's, not flopwatt's climate estimate.
The mid case is checked against flopwatt's own ``money/tco_usd`` (facility_footprint) before anything prints.
Run: ``python bench/cooling_tco.py`` (< 1 s).
"""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np

from flopwatt import catalog, economics
from flopwatt.catalog import facility_costs
from flopwatt.footprint import default_setting, facility_footprint

CLAIM_CUT = 0.15
PUE_AIR, PUE_LIQUID = 1.55, 1.06
YEARS = 5.0
SYSTEM, DEVICES = "dgx-h100", 1024
"""An air-coolable system (10.2 kW nodes); GB200 NVL72 racks (120 kW) cannot be air-cooled at all (the cooling
rule, perf/feasibility.py), so for them the claim's comparison does not exist."""
SITES = ("us-texas", "us-virginia", "cn-guizhou", "jp-tokyo", "sg-singapore", "de-frankfurt", "ie-dublin")
UTILISATION = (0.3, 0.6, 1.0)


def _liquid_options() -> dict[str, float]:
    """Capex factor over air of each liquid option (facility_costs.toml [cooling.*]: low / mid / high)."""
    cool = facility_costs.facility_costs().cooling
    dl, im = cool["direct-liquid"], cool["immersion"]
    return {"direct-liquid low": dl.capex_factor_low, "direct-liquid mid": dl.capex_factor,
            "direct-liquid high": dl.capex_factor_high,
            "immersion 10 kW/rack": im.capex_factor_high, "immersion 40 kW/rack": im.capex_factor_low}


@dataclasses.dataclass(frozen=True)
class Terms:
    """TCO = fixed + per_usd_per_kwh x price (US$), for one cooling at one site and utilisation."""

    fixed: float
    per_price: float

    def at(self, usd_per_kwh: float) -> float:
        return self.fixed + self.per_price * usd_per_kwh


def _power_w(utilisation: float) -> tuple[float, float]:
    """(IT average W, IT peak W) of the cluster at ``utilisation`` (idle + u x (board - idle) per device)."""
    system = catalog.get("systems", SYSTEM)
    acc = system.accelerator
    average = (acc.idle_power_w or 0.0) + utilisation * (acc.board_power_w - (acc.idle_power_w or 0.0))
    fp = facility_footprint(system, DEVICES, default_setting(), device_w=(average, acc.board_power_w),
                            wall_s=np.array([3600.0]))
    return float(fp["power/it_w"][0]), float(fp["power/it_peak_w"][0])


def terms(site_id: str, factor: float, pue: float, utilisation: float, *, with_it: bool, full_build: bool) -> Terms:
    """TCO terms of one cooling (capex ``factor`` over air, ``pue``) at ``site_id``."""
    econ = catalog.economics()
    system = catalog.get("systems", SYSTEM)
    it_w, peak_w = _power_w(utilisation)
    base_usd_per_w, _ = facility_costs.site_capex_usd_per_w(catalog.get("sites", site_id), "air")
    charge = 1.0 if full_build else YEARS / econ.facility_depreciation_years
    fixed = peak_w * base_usd_per_w * factor * charge
    if with_it:
        it_capex = float(economics.it_capex_usd(system, np.array([DEVICES]))[0])
        fixed += it_capex * (1 + econ.maintenance_fraction_per_year * YEARS)
    return Terms(fixed, it_w * pue * YEARS * economics.YEAR_S / 3.6e6)


def cut(air: Terms, liquid: Terms, usd_per_kwh: float) -> float:
    return 1 - liquid.at(usd_per_kwh) / air.at(usd_per_kwh)


def break_even_price(air: Terms, liquid: Terms, target: float = CLAIM_CUT) -> float | None:
    """Electricity price (US$/kWh) at which the cut is ``target``: (1-t) air = liquid, linear in price."""
    denominator = (1 - target) * air.per_price - liquid.per_price
    price = (liquid.fixed - (1 - target) * air.fixed) / denominator if denominator > 0 else None
    return price if price is not None and price >= 0 else (0.0 if denominator > 0 else None)


def check_against_footprint() -> None:
    """The mid direct-liquid case at full utilisation equals flopwatt's own money/tco_usd (same model)."""
    system = catalog.get("systems", SYSTEM)
    board = system.accelerator.board_power_w
    for cooling, pue in (("air", PUE_AIR), ("direct-liquid", PUE_LIQUID)):
        setting = dataclasses.replace(default_setting("us-virginia", cooling), pue_override=pue, tco_years=YEARS)
        fp = facility_footprint(system, DEVICES, setting, device_w=(board, board), wall_s=np.array([3600.0]))
        factor = 1.0 if cooling == "air" else _liquid_options()["direct-liquid mid"]
        mine = terms("us-virginia", factor, pue, 1.0, with_it=True, full_build=True)
        price = setting.site.electricity_usd_per_kwh
        assert abs(mine.at(price) / float(fp["money/tco_usd"][0]) - 1) < 1e-9, (cooling, mine.at(price))


def _scopes():
    return [(with_it, full) for with_it, full in itertools.product((True, False), (True, False))]


def _scope_name(with_it: bool, full_build: bool) -> str:
    return f"{'IT + facility' if with_it else 'facility only'}, {'whole build' if full_build else '5/25 of build'}"


def _site_prices() -> tuple[float, float]:
    prices = [site.electricity_usd_per_kwh for site in catalog.sites().values()]
    return min(prices), max(prices)


def break_even_table() -> dict[bool, float]:
    """Print grid A; return the lowest break-even price with and without the IT hardware in the TCO."""
    low, high = _site_prices()
    print(f"A. Electricity price (US$/kWh) at which the cut reaches {CLAIM_CUT:.0%} (us-virginia construction cost; "
          f"the catalog's site prices run {low:.3f}-{high:.3f})")
    lowest = {True: np.inf, False: np.inf}
    options = _liquid_options()
    print(f"   {'TCO contains':<32} {'util':>5}  " + "  ".join(f"{k:>20}" for k in options))
    for (with_it, full), u in itertools.product(_scopes(), UTILISATION):
        air = terms("us-virginia", 1.0, PUE_AIR, u, with_it=with_it, full_build=full)
        cells = []
        for factor in options.values():
            price = break_even_price(air, terms("us-virginia", factor, PUE_LIQUID, u, with_it=with_it,
                                                full_build=full))
            cells.append(f"{'never':>20}" if price is None else f"{price:>20.3f}")
            if price is not None:
                lowest[with_it] = min(lowest[with_it], price)
        print(f"   {_scope_name(with_it, full):<32} {u:>5.0%}  " + "  ".join(cells))
    return lowest


def site_table() -> list[tuple]:
    print(f"B. Cut at each site's own electricity price and construction cost (direct-liquid mid; "
          f"utilisation {UTILISATION[-1]:.0%} / {UTILISATION[0]:.0%})")
    print(f"   {'TCO contains':<32} " + " ".join(f"{s:>13}" for s in SITES))
    holds = []
    for with_it, full in _scopes():
        cells = []
        for site_id in SITES:
            price = catalog.get("sites", site_id).electricity_usd_per_kwh
            pair = []
            for u in (UTILISATION[-1], UTILISATION[0]):
                air = terms(site_id, 1.0, PUE_AIR, u, with_it=with_it, full_build=full)
                liquid = terms(site_id, _liquid_options()["direct-liquid mid"], PUE_LIQUID, u, with_it=with_it,
                               full_build=full)
                value = cut(air, liquid, price)
                pair.append(value)
                if value >= CLAIM_CUT:
                    holds.append((_scope_name(with_it, full), site_id, u, value))
            cells.append(f"{pair[0]:>6.1%}/{pair[1]:<6.1%}")
        print(f"   {_scope_name(with_it, full):<32} " + " ".join(f"{c:>13}" for c in cells))
    return holds


def main() -> None:
    check_against_footprint()
    print(f"Claim: PUE {PUE_AIR} -> {PUE_LIQUID} cuts 5-year TCO by {CLAIM_CUT:.0%}. Cluster: {DEVICES:,} GPUs of "
          f"{SYSTEM}; PUEs fixed at the claim's; the energy bill alone falls {1 - PUE_LIQUID / PUE_AIR:.1%}.")
    lowest = break_even_table()
    holds = site_table()
    print("C. Where the 15 % holds at a site's own price (of the B grid, both utilisations):")
    for scope, site_id, u, value in holds:
        print(f"   {scope:<32} {site_id:<14} utilisation {u:.0%}: {value:.1%}")
    if not holds:
        print("   nowhere")
    high = _site_prices()[1]
    with_it = [h for h in holds if h[0].startswith("IT")]
    share = sum(1 for h in holds if "5/25" in h[0])
    print(f"D. With the IT hardware in the TCO the cut reaches {CLAIM_CUT:.0%} only above {lowest[True]:.2f} US$/kWh "
          f"(lowest of grid A; {lowest[True] / high:.1f}x the dearest catalog site, {high:.3f}); it holds at "
          f"{len(with_it)} of the {len(SITES) * 2} site cases. Without it (facility capex + energy, a colocation "
          f"view) the lowest break-even is {lowest[False]:.3f} US$/kWh (grid A) and it holds in "
          f"{len(holds) - len(with_it)} of {len(SITES) * 4} site cases (direct-liquid mid), {share} of them charging "
          f"the facility 5 of its 25 years.")


if __name__ == "__main__":
    main()
