"""MFU, HFU and throughput of training plans (:func:`flopwatt.perf.training.evaluate_training`'s ``metrics``).

MFU = model FLOPs per step / (step time x devices x peak); HFU counts the FLOPs activation recomputation redoes as well
(Chowdhery et al. 2022, PaLM App. B).
"""

from __future__ import annotations

import numpy as np

from flopwatt.perf import flops as fl
from flopwatt.perf.compute import recomputed_matmul_share
from flopwatt.perf.plans import Plans
from flopwatt.specs import ModelSpec, TrainingWorkload

SEQUENCE_FLOPS_ENTRIES = 256
"""(model, sequence length) pairs whose per-sequence FLOPs :func:`_sequence_flops` keeps (a few floats each)."""
_SEQUENCE_FLOPS: dict[tuple, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = {}


def _sequence_flops(model: ModelSpec, seq: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """FLOPs of one sequence (a global batch of 1): the model's per step, those full and selective recomputation
    redo, the attention core's. Per-step FLOPs are these times the global batch, the last factor flops.py
    multiplies in (x 1 is exact), so they are computed once per model and sequence length: a pure function."""
    key = (model, seq)
    found = _SEQUENCE_FLOPS.get(key)
    if found is None:
        one = np.ones(1, dtype=np.int64)
        found = (fl.model_flops_per_step(model, seq, one), fl.recompute_flops_per_step(model, seq, one, one * 2),
                 fl.recompute_flops_per_step(model, seq, one, one), fl.attention_core_flops_per_sequence(model, seq))
        for value in found:
            value.setflags(write=False)
        if len(_SEQUENCE_FLOPS) >= SEQUENCE_FLOPS_ENTRIES:
            _SEQUENCE_FLOPS.clear()
        _SEQUENCE_FLOPS[key] = found
    return found


def metrics(ctx, workload: TrainingWorkload, plans: Plans, step: np.ndarray, devices: int) -> dict[str, np.ndarray]:
    """Throughput, FLOP rates, MFU and HFU per plan (``ctx``: the training module's context)."""
    per_model, per_full, per_selective, per_core = _sequence_flops(ctx.model, ctx.seq)
    model_flops = per_model * plans.global_batch  # fl.model_flops_per_step
    w_full, w_sel = plans.recompute_weights(ctx.stack.selective_recompute)
    full = per_full * plans.global_batch  # fl.recompute_flops_per_step, every plan recomputing in full
    selective = per_selective * plans.global_batch  # ... selectively
    if ctx.stack.selective_saves == "every-other-matmul":  # a share of the linear layers, not the attention core
        core = per_core * plans.global_batch
        selective = recomputed_matmul_share(ctx.model) * (full - core)
    hw_flops = model_flops + w_full * full + w_sel * selective
    peak = ctx.rates.linear_peak_flops_per_s or ctx.rates.peak_flops_per_s  # MFU against the run's precision
    tokens_per_step = plans.global_batch * ctx.seq
    out = {
        "step_time_s": step,
        "tokens_per_s": tokens_per_step / step,
        "model_flops_per_s_per_device": model_flops / (step * devices),
        "hardware_flops_per_s_per_device": hw_flops / (step * devices),
        "mfu": model_flops / (step * devices * peak),
        "mfu_16bit": model_flops / (step * devices * ctx.rates.peak_flops_per_s),
        "hfu": hw_flops / (step * devices * peak),
    }
    if workload.tokens is not None:
        out["time_to_train_s"] = workload.tokens / tokens_per_step * step
    return out
