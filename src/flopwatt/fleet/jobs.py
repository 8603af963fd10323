"""The training jobs of a fleet run as arrays: trace jobs given a class, and the jobs listed in the config.

A traced job records only its size and how long it ran on the trace's own hardware. Its *work* is
what that run did: ``duration x tokens/s of its class on the reference accelerator at that size``
(the throughput matrix, :mod:`flopwatt.fleet.throughput`). On any other pool it then takes
``work / tokens/s there``. The trace (Philly) names no model, so each job is given a class by a
seeded draw weighted by the classes' ``share``, among the classes that can run at the job's size on
the reference accelerator (a 1-GPU job cannot be a 7B model that needs 8 GPUs to fit).

Jobs no pool can run (more devices than any pool, or a class infeasible everywhere at that size)
are *rejected*: they are reported with the reason, never silently dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flopwatt.errors import InputError
from flopwatt.fleet.config import FleetConfig
from flopwatt.fleet.nodes import PoolNodes
from flopwatt.fleet.throughput import TrainingRates
from flopwatt.fleet.traces import TrainingTrace

REJECT_REASONS = ("ok", "more devices than any pool", "class cannot run at this size on any pool",
                  "no class can run at this size on the reference accelerator")


@dataclass(frozen=True, slots=True)
class JobTable:
    """One entry per job, sorted by arrival."""

    arrival_s: np.ndarray
    job_class: np.ndarray
    """Index into the config's classes."""
    devices_min: np.ndarray
    devices_max: np.ndarray
    work_tokens: np.ndarray
    deadline_s: np.ndarray
    """Latest completion (inf = none: the job is not flexible)."""
    reference_device_s: np.ndarray
    """Device-seconds the job takes on the reference accelerator (the traced GPU time)."""
    rejected: np.ndarray
    """Reason code (REJECT_REASONS), 0 = schedulable."""
    origin: np.ndarray
    """Trace line number, or -(i + 1) for the i-th [[jobs]] entry of the config."""

    def __len__(self) -> int:
        return len(self.arrival_s)


def elastic_counts(lo: int, hi: int) -> list[int]:
    """Device counts an elastic job may take: its bounds and the powers of two between them."""
    return sorted({lo, hi, *(2**k for k in range(31) if lo <= 2**k <= hi)})


def needed_counts(config: FleetConfig, trace: TrainingTrace | None) -> np.ndarray:
    """Every device count the throughput matrix must cover."""
    counts = set() if trace is None else set(np.unique(trace.devices).tolist())
    for job in config.jobs:
        counts.update(elastic_counts(job.devices_min, job.devices_max))
    return np.array(sorted(counts), dtype=np.int64)


def _assign_classes(trace: TrainingTrace, ref_rate: np.ndarray, shares: np.ndarray,
                    rng: np.random.Generator, counts: np.ndarray) -> np.ndarray:
    """A class per trace job, drawn by share among the classes feasible at its size (-1 = none)."""
    k = np.searchsorted(counts, trace.devices)
    weights = (ref_rate[:, k] > 0).T * shares[None, :]  # [jobs, classes]
    total = weights.sum(axis=1)
    cdf = np.cumsum(weights, axis=1) / np.where(total > 0, total, 1.0)[:, None]
    pick = (rng.random(len(trace))[:, None] > cdf).sum(axis=1)
    return np.where(total > 0, np.minimum(pick, len(shares) - 1), -1)


def build_jobs(config: FleetConfig, trace: TrainingTrace | None, rates: TrainingRates, ref_system: int | None,
               pool_systems: np.ndarray, idle_pools: PoolNodes, rng: np.random.Generator) -> JobTable:
    """Trace jobs and config jobs with their work, deadlines and rejection reasons."""
    classes = list(config.classes.values())
    parts = []
    if trace is not None:
        parts.append(_trace_jobs(trace, classes, rates, ref_system, rng))
    if config.jobs:
        parts.append(_config_jobs(config, classes, rates, ref_system))
    cols = [np.concatenate([p[i] for p in parts]) for i in range(7)]
    arrival, cls, lo, hi, work, deadline, origin = cols
    ref_device_s = np.full(len(arrival), np.nan)
    if ref_system is not None:
        ref_rate = rates.at(np.maximum(cls, 0), np.full_like(cls, ref_system), lo)[0]
        ref_device_s = np.where(ref_rate > 0, lo * work / np.where(ref_rate > 0, ref_rate, 1.0), np.nan)
    fits = idle_pools.fits(lo)  # [jobs, pools] with every node free
    runnable = np.zeros(len(arrival), dtype=bool)
    for p, s in enumerate(pool_systems):
        runnable |= fits[:, p] & (rates.at(np.maximum(cls, 0), np.full_like(cls, s), lo)[0] > 0)
    rejected = np.select([(cls < 0) | ~(work > 0), ~fits.any(axis=1), ~runnable], [3, 1, 2], 0)
    order = np.argsort(arrival, kind="stable")
    return JobTable(arrival_s=arrival[order], job_class=np.maximum(cls, 0)[order], devices_min=lo[order],
                    devices_max=hi[order], work_tokens=work[order], deadline_s=deadline[order],
                    reference_device_s=ref_device_s[order], rejected=rejected[order].astype(np.int8),
                    origin=origin[order])


def _trace_jobs(trace: TrainingTrace, classes, rates: TrainingRates, ref: int, rng) -> tuple:
    shares = np.array([c.share for c in classes], dtype=float)
    ref_rate = rates.tokens_per_s[:, ref, :]
    cls = _assign_classes(trace, ref_rate, shares, rng, rates.counts)
    k = np.searchsorted(rates.counts, trace.devices)
    work = trace.duration_s * np.where(cls >= 0, ref_rate[np.maximum(cls, 0), k], 0.0)
    factor = np.array([c.deadline_factor or np.inf for c in classes])[np.maximum(cls, 0)]
    deadline = np.where(np.isfinite(factor), trace.arrival_s + factor * trace.duration_s, np.inf)
    devices = trace.devices.astype(np.int64)
    return trace.arrival_s.astype(float), cls, devices, devices, work, deadline, trace.line.astype(np.int64)


def _config_jobs(config: FleetConfig, classes, rates: TrainingRates, ref: int | None) -> tuple:
    ids = [c.id for c in classes]
    cls = np.array([ids.index(j.job_class) for j in config.jobs], dtype=np.int64)
    lo = np.array([j.devices_min for j in config.jobs], dtype=np.int64)
    hi = np.array([j.devices_max for j in config.jobs], dtype=np.int64)
    work = np.array([j.tokens if j.tokens is not None else np.nan for j in config.jobs], dtype=float)
    if np.isnan(work).any():  # durations on the reference accelerator become work there
        if ref is None:
            raise InputError("[[jobs]].duration_s", "a [trace] reference_accelerator to turn durations into work "
                             "(or give tokens)")
        ref_rate = rates.at(cls, np.full_like(cls, ref), lo)[0]
        duration = np.array([j.duration_s or 0.0 for j in config.jobs])
        work = np.where(np.isnan(work), duration * ref_rate, work)
    arrival = np.array([j.arrival_s for j in config.jobs], dtype=float)
    deadline = np.array([j.deadline_s if j.deadline_s is not None else np.inf for j in config.jobs])
    origin = -(np.arange(len(config.jobs), dtype=np.int64) + 1)
    return arrival, cls, lo, hi, work, deadline, origin
