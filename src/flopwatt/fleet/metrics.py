"""What a fleet run achieved: job completion and queueing times, utilisation, SLO attainment,
energy, electricity cost, carbon, and effective compute (vectorised over jobs and intervals).

- JCT = completion - submission; queueing delay = start - submission (deferral included, and
  reported apart as ``mean_deferral_s``).
- Energy: a running job draws its plan's average IT power (throughput matrix) for its run; a
  service node its devices' board power plus host; a device that is neither draws its idle power
  (board power where no idle figure is published: an upper bound, counted in
  ``energy/idle_upper_bound_pools``). Facility energy = IT energy x PUE of the pool's site.
- Carbon and electricity cost price each run at its site's mean intensity / price over the run
  (hourly grid profiles where the catalog has them, else the annual figure); idle energy at the
  mean over the whole horizon.
- Effective compute = reference-device-seconds of work done / device-seconds spent: how many
  seconds of the reference accelerator each device-second of the fleet delivered (the trace's own
  GPU time is the work). Its ratio between policies on the same pools is the "more effective
  compute" that heterogeneity-aware scheduling claims.
"""

from __future__ import annotations

import numpy as np

from flopwatt.fleet.jobs import REJECT_REASONS
from flopwatt.fleet.simulate import FleetRun

J_PER_KWH = 3.6e6


def _quantiles(x: np.ndarray) -> dict[str, float | None]:
    if not len(x):
        return {"mean": None, "p50": None, "p99": None}
    return {"mean": float(x.mean()), "p50": float(np.percentile(x, 50)), "p99": float(np.percentile(x, 99))}


def _training(run: FleetRun) -> dict:
    jobs, done = run.prepared.jobs, np.isfinite(run.end_s)
    arrival = jobs.arrival_s[done]
    deadline = jobs.deadline_s[done]
    flexible = np.isfinite(deadline)
    rejected = {REJECT_REASONS[r]: int((jobs.rejected == r).sum()) for r in range(1, len(REJECT_REASONS))
                if (jobs.rejected == r).any()}
    return {"jobs": len(jobs), "completed": int(done.sum()), "rejected": rejected,
            "jct_s": _quantiles(run.end_s[done] - arrival), "queueing_delay_s": _quantiles(run.start_s[done] - arrival),
            "mean_deferral_s": float((run.ready_s[done] - arrival).mean()) if done.any() else None,
            "flexible_jobs": int(flexible.sum()),
            "deadline_misses": int((run.end_s[done][flexible] > deadline[flexible]).sum()),
            "makespan_s": float(run.end_s[done].max()) if done.any() else 0.0}


def _effective_compute(run: FleetRun) -> dict:
    jobs, done = run.prepared.jobs, np.isfinite(run.end_s)
    used = (run.devices * (run.end_s - run.start_s))[done]
    work = jobs.reference_device_s[done]
    known = np.isfinite(work)
    per_device_s = float(work[known].sum() / used[known].sum()) if known.any() else None
    return {"reference_device_s_per_device_s": per_device_s, "reference_device_s": float(work[known].sum())}


def _busy_device_s(run: FleetRun) -> tuple[np.ndarray, np.ndarray]:
    """(training, serving) device-seconds per pool."""
    prep, done = run.prepared, np.isfinite(run.end_s)
    pools = len(prep.pool_devices)
    train = np.bincount(run.pool[done], weights=(run.devices * (run.end_s - run.start_s))[done], minlength=pools)
    serve = np.zeros(pools)
    for s, svc in enumerate(prep.services):
        serve += run.service_nodes[s].sum(axis=0) * svc.rates.node_devices * run.prepared.config.service_interval_s
    return train, serve


def _energy(run: FleetRun, horizon_s: float, idle_device_s: np.ndarray) -> dict:
    """Facility energy (J), electricity ($) and carbon (g) of training, serving and idle devices."""
    prep, done = run.prepared, np.isfinite(run.end_s)
    p = run.pool[done]
    start, end = run.start_s[done], run.end_s[done]
    site = prep.pool_site[p]
    train_j = run.it_power_w[done] * (end - start) * prep.pue[p]
    totals = {"training": train_j, "serving": np.zeros(0), "idle": np.zeros(0)}
    g = {"training": train_j / J_PER_KWH * prep.grid("carbon", site, start, end), "serving": np.zeros(0)}
    usd = {"training": train_j / J_PER_KWH * prep.grid("price", site, start, end), "serving": np.zeros(0)}
    serve_j, serve_site, t0 = [], [], []
    for s, svc in enumerate(prep.services):
        nodes = run.service_nodes[s]  # [intervals, pools]
        k, q = np.nonzero(nodes)
        serve_j.append(nodes[k, q] * svc.rates.node_power_w[q] * run.prepared.config.service_interval_s * prep.pue[q])
        serve_site.append(prep.pool_site[q])
        t0.append(k * run.prepared.config.service_interval_s)
    if serve_j:
        j, site_s, t = np.concatenate(serve_j), np.concatenate(serve_site), np.concatenate(t0)
        totals["serving"] = j
        g["serving"] = j / J_PER_KWH * prep.grid("carbon", site_s, t, t + run.prepared.config.service_interval_s)
        usd["serving"] = j / J_PER_KWH * prep.grid("price", site_s, t, t + run.prepared.config.service_interval_s)
    idle_j = idle_device_s * prep.idle_power_w * prep.pue
    totals["idle"] = idle_j
    zero, end_h = np.zeros(len(idle_j)), np.full(len(idle_j), max(horizon_s, 1.0))
    g["idle"] = idle_j / J_PER_KWH * prep.grid("carbon", prep.pool_site, zero, end_h)
    usd["idle"] = idle_j / J_PER_KWH * prep.grid("price", prep.pool_site, zero, end_h)
    out = {f"{k}_mwh": float(v.sum() / J_PER_KWH / 1e3) for k, v in totals.items()}
    out.update({f"{k}_tco2e": float(v.sum() / 1e6) for k, v in g.items()})
    out.update({f"{k}_electricity_usd": float(v.sum()) for k, v in usd.items()})
    for key in ("mwh", "tco2e", "electricity_usd"):
        out[f"total_{key}"] = sum(out[f"{k}_{key}"] for k in totals)
    out["idle_upper_bound_pools"] = [prep.config.pools[i].id for i in np.flatnonzero(~prep.idle_power_known)]
    return out


def _met_share(capacity: np.ndarray, demand: np.ndarray) -> np.ndarray:
    """Share of each interval's demand the capacity covers (1 where nothing was asked)."""
    return np.where(demand > 0, np.minimum(capacity / np.where(demand > 0, demand, 1.0), 1.0), 1.0)


def _weighted(share: np.ndarray, weight: np.ndarray) -> float | None:
    return float((share * weight).sum() / weight.sum()) if weight.sum() else None


def _services(run: FleetRun) -> dict:
    """SLO attainment (demand served by in-SLO capacity) and served share, per service and by requests."""
    prep, out, parts = run.prepared, {}, []
    for s, svc in enumerate(prep.services):
        nodes, demand = run.service_nodes[s], run.service_demand[s]
        in_slo = _met_share(nodes @ svc.rates.tokens_per_s_per_node_in_slo, demand)
        served = _met_share(nodes @ svc.rates.tokens_per_s_per_node, demand)
        weight = demand * prep.config.service_interval_s  # output tokens asked for, per interval
        parts.append((in_slo, served, weight))
        out[svc.id] = {"slo_attainment": _weighted(in_slo, weight), "served_share": _weighted(served, weight),
                       "mean_nodes": float(nodes.sum(axis=1).mean()) if len(nodes) else 0.0,
                       "mean_demand_output_tokens_per_s": float(demand.mean()) if len(demand) else 0.0}
    if not parts:
        return {"overall": {"slo_attainment": None, "served_share": None}, "by_service": out}
    in_slo, served, weight = (np.concatenate(x) for x in zip(*parts, strict=True))
    return {"overall": {"slo_attainment": _weighted(in_slo, weight), "served_share": _weighted(served, weight)},
            "by_service": out}


def summarize(run: FleetRun) -> dict:
    """All metrics of one run as plain values."""
    prep = run.prepared
    training = _training(run)
    horizon = max(training["makespan_s"], prep.service_end_s if prep.services else 0.0)
    train, serve = _busy_device_s(run)
    capacity = prep.pool_devices * horizon
    idle = np.maximum(capacity - train - serve, 0.0)
    pools = {p.id: {"site": p.site, "system": p.system.id, "devices": p.devices,
                    "utilisation": float((train[i] + serve[i]) / capacity[i]) if horizon else 0.0,
                    "training_utilisation": float(train[i] / capacity[i]) if horizon else 0.0,
                    "serving_utilisation": float(serve[i] / capacity[i]) if horizon else 0.0}
             for i, p in enumerate(prep.config.pools)}
    return {"policy": run.policy, "horizon_s": horizon, "training": training,
            "effective_compute": _effective_compute(run), "pools": pools,
            "utilisation": float((train + serve).sum() / capacity.sum()) if horizon else 0.0,
            "services": _services(run), "energy": _energy(run, horizon, idle)}


def versus(summary: dict, baseline: dict) -> dict:
    """Ratios of a policy's headline metrics to the baseline's (e.g. FIFO) on the same fleet."""
    def ratio(a, b):
        return None if a is None or b in (None, 0) else a / b
    s, b = summary, baseline
    return {"mean_jct": ratio(s["training"]["jct_s"]["mean"], b["training"]["jct_s"]["mean"]),
            "p99_jct": ratio(s["training"]["jct_s"]["p99"], b["training"]["jct_s"]["p99"]),
            "effective_compute": ratio(s["effective_compute"]["reference_device_s_per_device_s"],
                                       b["effective_compute"]["reference_device_s_per_device_s"]),
            "utilisation": ratio(s["utilisation"], b["utilisation"]),
            "electricity_usd": ratio(s["energy"]["total_electricity_usd"], b["energy"]["total_electricity_usd"]),
            "tco2e": ratio(s["energy"]["total_tco2e"], b["energy"]["total_tco2e"]),
            "slo_attainment": ratio(s["services"]["overall"]["slo_attainment"],
                                    b["services"]["overall"]["slo_attainment"])}
