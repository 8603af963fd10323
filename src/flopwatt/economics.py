"""Money: capex with straight-line depreciation, opex (energy, maintenance), $ per run, per device-hour,
per million tokens, and N-year TCO. Vectorised over plans; US$ and SI units.

A run is charged the depreciation of what it occupies for its wall time (IT over its useful life,
the facility over its own), the facility energy at the site's price, and maintenance as a yearly
fraction of IT capex. ``accelerator_price_factor`` scales device/node prices (vendor margins,
discounts, secondary-market premiums): 1 = the catalog's reported price.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flopwatt.specs import System

YEAR_S = 365.25 * 86400.0


@dataclass(frozen=True, kw_only=True, slots=True)
class Economics:
    """Sourced constants (catalog economics.toml)."""

    facility_capex_usd_per_w: float
    it_depreciation_years: float
    facility_depreciation_years: float
    maintenance_fraction_per_year: float


def it_capex_usd(system: System, devices: np.ndarray, price_factor: float = 1.0) -> np.ndarray | None:
    """Purchase price of the nodes (or, without a node price, the devices alone); None if unpublished."""
    devices = np.asarray(devices, dtype=float)
    if system.node_price_usd is not None:
        return np.ceil(devices / system.devices_per_node) * system.node_price_usd * price_factor
    if system.accelerator.price_usd is not None:
        return devices * system.accelerator.price_usd * price_factor
    return None


def run_costs(*, it_capex: np.ndarray, it_peak_w: np.ndarray, wall_s: np.ndarray, facility_energy_j: np.ndarray,
              usd_per_kwh: float, econ: Economics, fabric_capex: float | None = None) -> dict[str, np.ndarray]:
    """Cost of one run by part (US$).

    ``fabric_capex``: the bill of materials of a designed scale-out fabric (switches, NICs, link media;
    :meth:`flopwatt.fabric.bom.Bom.totals`), IT equipment like the nodes: depreciated over the IT life and
    maintained at the same yearly fraction, each on its own line. None = no fabric designed (no line).
    """
    facility_capex = np.asarray(it_peak_w) * econ.facility_capex_usd_per_w
    share_it = np.asarray(wall_s) / (econ.it_depreciation_years * YEAR_S)
    share_facility = np.asarray(wall_s) / (econ.facility_depreciation_years * YEAR_S)
    maintained = it_capex if fabric_capex is None else it_capex + fabric_capex
    parts = {
        "money/it_depreciation_usd": it_capex * share_it,
        "money/facility_depreciation_usd": facility_capex * share_facility,
        "money/energy_usd": np.asarray(facility_energy_j) / 3.6e6 * usd_per_kwh,
        "money/maintenance_usd": maintained * econ.maintenance_fraction_per_year * np.asarray(wall_s) / YEAR_S,
    }
    if fabric_capex is not None:
        parts["money/fabric_depreciation_usd"] = fabric_capex * share_it
    parts["money/run_usd"] = sum(parts.values())
    parts["money/capex_usd"] = maintained + facility_capex
    if fabric_capex is not None:
        parts["money/fabric_capex_usd"] = np.full_like(np.asarray(wall_s, dtype=float), fabric_capex)
    return parts


def unit_costs(run_usd: np.ndarray, devices: np.ndarray, wall_s: np.ndarray, tokens: float | None) -> dict:
    """$ per device-hour and per million training tokens."""
    out = {"money/usd_per_device_hour": run_usd / (np.asarray(devices) * np.asarray(wall_s) / 3600.0)}
    if tokens:
        out["money/usd_per_million_tokens"] = run_usd / (tokens / 1e6)
    return out


def tco_usd(capex_usd: np.ndarray, facility_power_w: np.ndarray, usd_per_kwh: float, it_capex: np.ndarray,
            econ: Economics, years: float) -> np.ndarray:
    """Owning and running the cluster for ``years`` at the run's average facility power."""
    energy = np.asarray(facility_power_w) * years * YEAR_S / 3.6e6 * usd_per_kwh
    return capex_usd + energy + it_capex * econ.maintenance_fraction_per_year * years
