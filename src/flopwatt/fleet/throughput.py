"""The throughput matrix: how fast each job class trains, and each service serves, on each pool type.

Nothing here is a constant: every figure comes from the core models, evaluated once per
(class, system, device count) before the simulation starts.

- Training: :func:`flopwatt.estimate.estimate_best` finds the fastest parallel plan of the class's
  workload on ``n`` devices of the system (one vectorised call) and returns the fastest feasible
  plan's tokens/s and its average IT power (devices by activity plus host share,
  :func:`flopwatt.energy.power.it_power_w`). 0 tokens/s marks a class that cannot run there (memory,
  divisibility): infeasible is data, the policies mask it.
- Serving: :func:`flopwatt.serve.estimate_serving` on one node of the pool's system gives the output
  tokens/s a node sustains under the service's TPOT target, and separately under TPOT and the TTFT
  target less the WAN round trip from the pool's site to the users (Site.wan_rtt_s): a node far
  from its users still serves, but its requests miss the TTFT target.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flopwatt.errors import InputError
from flopwatt.estimate import estimate_best
from flopwatt.fleet import rates_cache
from flopwatt.fleet.config import JobClass, Pool, Service
from flopwatt.fleet.trace_cache import cached_at
from flopwatt.perf.lengths import Lengths
from flopwatt.perf.space import PlanRequest
from flopwatt.serve import ServeRequest, estimate_serving
from flopwatt.specs import System, TrainingWorkload
from flopwatt.specs.site import Site


@dataclass(frozen=True, slots=True)
class TrainingRates:
    """``tokens_per_s[c, s, k]`` of class c on ``counts[k]`` devices of system s (0 = cannot run)."""

    classes: tuple[str, ...]
    systems: tuple[str, ...]
    counts: np.ndarray
    tokens_per_s: np.ndarray
    it_power_w: np.ndarray
    """Average IT power of the whole job (W) at that rate."""

    def at(self, c: np.ndarray, s: np.ndarray, devices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(tokens/s, IT power) for arrays of class, system and device count (counts must be listed)."""
        k = np.searchsorted(self.counts, devices)
        return self.tokens_per_s[c, s, k], self.it_power_w[c, s, k]


def _best_rate(job_class: JobClass, system: System, devices: int) -> tuple[float, float]:
    from flopwatt.energy import power  # a leaf import: keeps module load light for the CLI
    precision = job_class.precision or system.accelerator.half_precision()
    try:
        system.accelerator.peak(precision)
    except InputError:  # e.g. fp8 on a V100: this class cannot run here (data, not an error)
        return 0.0, 0.0
    workload = TrainingWorkload(model=job_class.model, seq_len=job_class.seq_len, precision=precision)
    est = estimate_best(workload, system, job_class.stack,  # the exact pruned search (estimate.py)
                        PlanRequest(devices=devices, global_batch=job_class.global_batch))
    if est.result is None:
        return 0.0, 0.0
    best = est.result
    watts = 0.0
    if system.accelerator.board_power_w is not None:
        watts = float(power.it_power_w(best.time, system, np.array([devices]))["power/it_w"][0])
    return float(best.metrics["tokens_per_s"][0]), watts


def _class_on_system(job_class: JobClass, system: System, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(tokens/s, IT power) of one class on one system at each device count (one plan search each)."""
    pairs = [_best_rate(job_class, system, int(n)) for n in counts]
    return np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])


def _search_all(classes: dict[str, JobClass], systems: dict[str, System], counts: np.ndarray,
                workers: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Every (class, system) pair, in order; over ``workers`` local processes when more than one.

    The searches are independent pure functions, so the pool changes only the wall time, never a figure."""
    pairs = [(c, s) for c in classes.values() for s in systems.values()]
    if workers <= 1 or len(pairs) <= 1:
        return [_class_on_system(c, s, counts) for c, s in pairs]
    from flopwatt.search.workers import process_pool  # a leaf import: only a cold matrix needs a pool
    with process_pool(min(workers, len(pairs))) as pool:
        futures = [pool.submit(_class_on_system, c, s, counts) for c, s in pairs]
        return [f.result() for f in futures]


def training_rates(classes: dict[str, JobClass], systems: dict[str, System], counts: np.ndarray,
                   workers: int = 1) -> TrainingRates:
    """Evaluate every class on every system at every device count (one plan search each).

    ``workers`` local processes share the searches when the matrix is not in the cache."""
    counts = np.unique(np.asarray(counts, dtype=np.int64))

    def compute() -> dict[str, np.ndarray]:
        shape = (len(classes), len(systems), len(counts))
        found = _search_all(classes, systems, counts, workers)
        rate = np.stack([r for r, _ in found]).reshape(shape) if found else np.zeros(shape)
        watts = np.stack([w for _, w in found]).reshape(shape) if found else np.zeros(shape)
        return {"tokens_per_s": rate, "it_power_w": watts}

    got = cached_at(rates_cache.entry(classes, systems, counts), compute, rates_cache.KEEP)  # across runs
    return TrainingRates(classes=tuple(classes), systems=tuple(systems), counts=counts,
                         tokens_per_s=got["tokens_per_s"], it_power_w=got["it_power_w"])


@dataclass(frozen=True, slots=True)
class ServiceRates:
    """Per pool: output tokens/s of one node, without and with the TTFT target met at the users."""

    node_devices: np.ndarray
    tokens_per_s_per_node: np.ndarray
    """Under the TPOT target only (0 = the model cannot be served on one node of this pool)."""
    tokens_per_s_per_node_in_slo: np.ndarray
    """Under TPOT and TTFT minus the WAN round trip (0 = the users are too far, or unknown RTT)."""
    node_power_w: np.ndarray
    rtt_s: np.ndarray
    """Round trip from the pool's site to the users (NaN = unknown)."""


def _node_rate(service: Service, system: System, lengths: Lengths, ttft_s: float | None) -> float:
    req = ServeRequest(model=service.model, system=system, devices=system.devices_per_node,
                       input_len=lengths.input_tokens, output_len=lengths.output_tokens, length_moments=lengths,
                       precision=service.precision, ttft_slo_s=ttft_s, tpot_slo_s=service.tpot_slo_s)
    try:
        return float(estimate_serving(req)["metrics"]["output_tokens_per_s"])
    except InputError as exc:
        if exc.field == "plan":  # nothing feasible on this node: data, not an error
            return 0.0
        raise


def service_rates(service: Service, pools: tuple[Pool, ...], sites: dict[str, Site],
                  lengths: Lengths) -> ServiceRates:
    """Node throughput of ``service`` on each pool for its request lengths (means and spread)."""
    from flopwatt.energy import power
    n = len(pools)
    devices, free_rate, slo_rate, watts, rtt = (np.zeros(n) for _ in range(5))
    for p, pool in enumerate(pools):
        system = pool.system
        devices[p] = system.devices_per_node
        rtt[p] = sites[pool.site].wan_rtt_s.get(service.user_region, np.nan)
        free_rate[p] = _node_rate(service, system, lengths, None)
        budget = service.ttft_slo_s - rtt[p]
        slo_rate[p] = _node_rate(service, system, lengths, budget) if free_rate[p] > 0 and budget > 0 else 0.0
        if system.accelerator.board_power_w is not None:
            watts[p] = devices[p] * system.accelerator.board_power_w + power.host_power_w(system)
    return ServiceRates(node_devices=devices.astype(np.int64), tokens_per_s_per_node=free_rate,
                        tokens_per_s_per_node_in_slo=slo_rate, node_power_w=watts, rtt_s=rtt)
