"""Location-based carbon: energy drawn from the grid x the site's grid intensity."""

from __future__ import annotations

import numpy as np


def tonnes_co2e(facility_energy_j: np.ndarray, carbon_g_per_kwh: float) -> np.ndarray:
    """tCO2e of ``facility_energy_j`` joules at ``carbon_g_per_kwh`` (GHG Protocol scope 2, location-based)."""
    return np.asarray(facility_energy_j) / 3.6e6 * carbon_g_per_kwh / 1e6
