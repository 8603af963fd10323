"""Where a step's energy goes: arithmetic and on-chip work vs moving bytes (HBM, scale-up, scale-out).

Bytes per tier come from the training model's traffic accounting; energy per bit from
catalog data_movement.toml and, for scale-out, from the fabric's media and switches. The device's
own energy (power model x time) holds the HBM and scale-up SerDes energy; what remains of it is
arithmetic plus on-chip data movement (registers, SRAM, on-chip network), which this model does
not split further. Scale-out energy (NIC SerDes, link media, switches) is outside the device.
"""

from __future__ import annotations

from typing import Any

import numpy as np

PJ = 1e-12


def scale_out_pj_per_bit(bom_pj: dict[str, float], hops: float, nic_serdes_pj: float) -> float:
    """Energy per bit of one scale-out transfer: NIC SerDes at both ends, the access links, switch
    traversals, and the switch-to-switch links between them."""
    access = bom_pj.get("row", 0.0)
    between = bom_pj.get("hall", 0.0)
    switch = bom_pj.get("switch traversal", 0.0)
    return 2 * nic_serdes_pj + 2 * access + hops * switch + max(hops - 1, 0) * between


def step_energy(traffic: dict[str, np.ndarray], device_energy_j: np.ndarray, constants: dict[str, Any],
                scale_out_pj: float) -> dict[str, np.ndarray]:
    """Energy per device per step by destination (J) and the off-chip data-movement share."""
    bits = {k: v * 8.0 for k, v in traffic.items()}
    hbm = bits["traffic/hbm_bytes"] * constants["hbm"]["pj_per_bit"] * PJ
    up = constants["scale_up"]
    scale_up = bits["traffic/scale_up_bytes"] * (2 * up["serdes_pj_per_bit"] + up["switch_pj_per_bit"]) * PJ
    scale_out = bits["traffic/scale_out_bytes"] * scale_out_pj * PJ
    on_chip = np.maximum(device_energy_j - hbm - scale_up, 0.0)
    total = on_chip + hbm + scale_up + scale_out
    return {
        "movement/compute_and_on_chip_j": on_chip,
        "movement/hbm_j": hbm,
        "movement/scale_up_j": scale_up,
        "movement/scale_out_j": scale_out,
        "movement/off_chip_share": (hbm + scale_up + scale_out) / total,
    }
