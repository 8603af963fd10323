"""IT power of a run from the step-time breakdown (vectorised over plans).

A device draws its board power (TDP) while its arithmetic units are busy (compute, recompute,
optimizer) and its idle power while it waits (pipeline bubble, exposed communication): the two
ends of its published power range. Where no idle figure is published the device is charged its
board power throughout (an upper bound, flagged in ``energy/assumptions``).

Host overhead per node (CPUs, DRAM, fans, NICs) = node maximum input power - devices x board
power, both from datasheets. Network power joins from the fabric bill of materials (issue #3).
"""

from __future__ import annotations

import numpy as np

from flopwatt.specs import System

BUSY = ("time/compute", "time/recompute", "time/optimizer")


def device_power_w(time: dict[str, np.ndarray], system: System) -> tuple[np.ndarray, np.ndarray]:
    """(average, peak) power of one device over a step (W)."""
    acc = system.accelerator
    if acc.board_power_w is None:
        raise ValueError(f"{acc.id} has no published board power")
    busy = sum(time[k] for k in BUSY)
    idle_w = acc.idle_power_w if acc.idle_power_w is not None else acc.board_power_w
    average = (busy * acc.board_power_w + (time["time/step"] - busy) * idle_w) / time["time/step"]
    return average, np.full_like(average, acc.board_power_w)


def host_power_w(system: System) -> float:
    """Per-node power besides the devices (W); 0 when the node's maximum power is unpublished."""
    acc = system.accelerator
    if system.node_power_max_w is None or acc.board_power_w is None:
        return 0.0
    return max(system.node_power_max_w - system.devices_per_node * acc.board_power_w, 0.0)


def it_power_w(time: dict[str, np.ndarray], system: System, devices: np.ndarray) -> dict[str, np.ndarray]:
    """Average and peak IT power of the job by part (W)."""
    devices = np.asarray(devices, dtype=float)
    average, peak = device_power_w(time, system)
    nodes = np.ceil(devices / system.devices_per_node)
    host = nodes * host_power_w(system)
    return {
        "power/devices_w": devices * average,
        "power/hosts_w": host,
        "power/network_w": np.zeros_like(host),
        "power/it_w": devices * average + host,
        "power/it_peak_w": devices * peak + host,
    }
