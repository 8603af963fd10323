"""What one device of each hardware type does for each demand: the existing models, called once each.

Training (per model, accelerator, sequence, batch, precision, stack): the fastest feasible plan of
:func:`flopwatt.estimate.estimate_training` at ``policy.training_estimate_devices`` devices, its footprint
(:func:`flopwatt.footprint.run_footprint`): tokens/s per device = tokens / (expected wall time with
interruptions x devices), and the average and peak IT power per device (devices + host share, + the
scale-out fabric's switches and links when ``policy.fabric_topology`` names one).

Serving (per model, accelerator, lengths, SLOs, precision and TTFT budget): the best plan of
:func:`flopwatt.serve.estimate_serving` on ``policy.serving_estimate_devices`` devices; output tokens/s
per device and IT power per device (:mod:`flopwatt.serve_cost`: busy devices at board power + hosts).
The TTFT budget is the SLO less the WAN round trip from the site to the users.

Infeasible is data: a (demand, hardware) pair with no feasible plan carries the reason instead of rates.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from flopwatt.capacity.cluster import cluster_fabric
from flopwatt.capacity.config import CapacityConfig, Hardware, ServingDemand, TrainingDemand
from flopwatt.errors import InputError
from flopwatt.footprint import default_setting, run_footprint
from flopwatt.perf.space import PlanRequest
from flopwatt.specs import TrainingWorkload


@dataclass(frozen=True, slots=True)
class Rate:
    """One device's work rate (training tokens/s or output tokens/s) and IT power, or why there is none."""

    work_per_device_s: float | None
    it_w_per_device: float | None
    it_peak_w_per_device: float | None
    reason: str | None = None
    detail: str = ""


class RateCache:
    """Estimates keyed by everything that changes them; each is computed once per plan run."""

    def __init__(self, cfg: CapacityConfig) -> None:
        self.cfg = cfg
        self._training = functools.cache(self._training_rate)
        self._serving = functools.cache(self._serving_rate)

    @property
    def calls(self) -> int:
        return self._training.cache_info().misses + self._serving.cache_info().misses

    def training(self, demand: TrainingDemand, hw: Hardware) -> Rate:
        return self._training(demand.model.id, hw.system.id, demand.seq_len, demand.global_batch,
                              demand.precision or hw.system.accelerator.half_precision(), demand.stack.id,
                              demand.tokens)

    def serving(self, demand: ServingDemand, hw: Hardware, ttft_budget_s: float) -> Rate:
        if ttft_budget_s <= 0:
            return Rate(None, None, None, "latency", "the WAN round trip uses up the TTFT target")
        return self._serving(demand.model.id, hw.system.id, demand.input_len, demand.output_len, demand.precision,
                             round(ttft_budget_s, 6), demand.tpot_slo_s)

    def _training_rate(self, model_id: str, system_id: str, seq_len: int, global_batch: int, precision: str,
                       stack_id: str, tokens: float) -> Rate:
        from flopwatt import catalog
        from flopwatt.estimate import estimate_training

        model, system = catalog.get("models", model_id), catalog.get("systems", system_id)
        devices = self.cfg.policy.training_estimate_devices
        try:
            workload = TrainingWorkload(model=model, seq_len=seq_len, tokens=tokens, precision=precision)
            system.accelerator.peak(precision)
        except (InputError, ValueError) as exc:
            return Rate(None, None, None, "no-estimate", str(exc))
        fabric = cluster_fabric(system, devices, self.cfg.policy.fabric_topology)
        est = estimate_training(workload, system, catalog.get("stacks", stack_id),
                                PlanRequest(devices=devices, global_batch=global_batch),
                                fabric=fabric[0] if fabric else None)
        if est.best is None:
            return Rate(None, None, None, "no-estimate", f"no feasible training plan on {devices} devices")
        if system.accelerator.board_power_w is None:
            return Rate(None, None, None, "no-estimate", f"{system.accelerator.id} board power unpublished")
        fp = run_footprint(est.result.take(np.array([est.best])), workload, system, devices, default_setting(),
                           fabric)
        wall = float(fp["reliability/expected_wall_s"][0])
        return Rate(tokens / (wall * devices), float(fp["power/it_w"][0]) / devices,
                    float(fp["power/it_peak_w"][0]) / devices)

    def _serving_rate(self, model_id: str, system_id: str, input_len: float, output_len: float, precision: str,
                      ttft_s: float, tpot_s: float) -> Rate:
        from flopwatt import catalog
        from flopwatt.serve import ServeRequest, estimate_serving

        devices = self.cfg.policy.serving_estimate_devices
        system = catalog.get("systems", system_id)
        try:
            req = ServeRequest(model=catalog.get("models", model_id), system=system, devices=devices,
                               input_len=input_len, output_len=output_len, precision=precision, ttft_slo_s=ttft_s,
                               tpot_slo_s=tpot_s)
            out = estimate_serving(req, default_setting())
        except InputError as exc:
            return Rate(None, None, None, "no-estimate", str(exc))
        m = out["metrics"]
        if m.get("it_power_w") is None:
            return Rate(None, None, None, "no-estimate", m.get("unknown", "power unpublished"))
        per_device_w = m["it_power_w"] / devices
        return Rate(m["output_tokens_per_s"] / devices, per_device_w, per_device_w)
