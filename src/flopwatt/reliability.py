"""Failures of a job: component rates -> job MTBF -> checkpoint interval -> expected wall time.

With exponential failures a job of N devices fails at rate N x sum(component rates)
(a series system: M_job = M_device / N). Checkpointing every tau seconds costs delta each
(checkpoint size / storage bandwidth); a failure costs the restart R plus the lost work.

- Young (1974, CACM 17(9)): tau = sqrt(2 delta M).
- Daly (2006, FGCS 22(3), "A higher order estimate of the optimum checkpoint interval"):
  tau = sqrt(2 delta M) [1 + sqrt(delta / 2M) / 3 + (delta / 2M) / 9] - delta  for delta < 2M, else M;
  expected wall time for T_s of work: T_w = M e^{R/M} (e^{(tau + delta)/M} - 1) T_s / tau.

Goodput = T_s / T_w. All functions broadcast over numpy arrays of plans.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DAY_S = 86400.0


@dataclass(frozen=True, slots=True)
class FailureModel:
    """Interruption rates per device-second by component, and checkpoint/restart costs."""

    rates_per_device_s: dict[str, float]
    storage_bandwidth_bytes_per_s: float
    bytes_per_param: float
    restart_s: float

    @property
    def rate_per_device_s(self) -> float:
        return sum(self.rates_per_device_s.values())


def job_mtbf_s(devices: np.ndarray, model: FailureModel) -> np.ndarray:
    """Mean time between interruptions of a job on ``devices`` devices (s)."""
    return 1.0 / (np.asarray(devices, dtype=float) * model.rate_per_device_s)


def checkpoint_write_s(params: np.ndarray | float, model: FailureModel) -> np.ndarray:
    """Time to write one checkpoint of ``params`` parameters with optimizer state (s)."""
    return np.asarray(params, dtype=float) * model.bytes_per_param / model.storage_bandwidth_bytes_per_s


def young_interval_s(delta_s: np.ndarray, mtbf_s: np.ndarray) -> np.ndarray:
    """Young's optimum checkpoint interval sqrt(2 delta M)."""
    return np.sqrt(2.0 * np.asarray(delta_s) * np.asarray(mtbf_s))


def daly_interval_s(delta_s: np.ndarray, mtbf_s: np.ndarray) -> np.ndarray:
    """Daly's higher-order optimum checkpoint interval (2006, eq. 37)."""
    delta, m = np.asarray(delta_s, dtype=float), np.asarray(mtbf_s, dtype=float)
    x = delta / (2.0 * m)
    tau = np.sqrt(2.0 * delta * m) * (1.0 + np.sqrt(x) / 3.0 + x / 9.0) - delta
    return np.where(delta < 2.0 * m, tau, m)


def expected_wall_s(work_s: np.ndarray, tau_s: np.ndarray, delta_s: np.ndarray, restart_s: float,
                    mtbf_s: np.ndarray) -> np.ndarray:
    """Daly's expected wall time for ``work_s`` seconds of failure-free work (exponential failures)."""
    m = np.asarray(mtbf_s, dtype=float)
    tau = np.asarray(tau_s, dtype=float)
    return m * np.exp(restart_s / m) * np.expm1((tau + delta_s) / m) * np.asarray(work_s) / tau


def run_reliability(work_s: np.ndarray, devices: np.ndarray, params: float,
                    model: FailureModel) -> dict[str, np.ndarray]:
    """MTBF, checkpoint interval (Daly), expected wall time, interruptions and goodput of a run."""
    mtbf = job_mtbf_s(devices, model)
    delta = checkpoint_write_s(params, model) * np.ones_like(mtbf)
    tau = daly_interval_s(delta, mtbf)
    wall = expected_wall_s(work_s, tau, delta, model.restart_s, mtbf)
    return {
        "reliability/mtbf_s": mtbf,
        "reliability/checkpoint_write_s": delta,
        "reliability/checkpoint_interval_s": tau,
        "reliability/expected_wall_s": wall,
        "reliability/interruptions": wall / mtbf,
        "reliability/goodput": np.asarray(work_s) / wall,
    }
