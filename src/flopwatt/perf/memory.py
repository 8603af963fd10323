"""Memory per device: weights, gradients, optimizer states, activations, workspace.

Activations follow Korthikanti et al. 2022 ("Reducing Activation Recomputation in Large Transformer
Models", Sec. 4), per layer per micro-batch in bytes with 16-bit activations:

    no parallelism             s b h (34 + 5 a s / h)
    tensor parallel            s b h (10 + 24 / t + 5 a s / (h t))
    tensor + sequence parallel s b h (34 / t + 5 a s / (h t))
    selective recompute        drops the 5 a s / h term;  full recompute keeps 2 s b h (the layer input)

generalised here to GQA (K/V of ``kv_heads``) and gated MLPs (three f-wide tensors instead of two).
The first pipeline stage holds the most: with 1F1B it keeps ``pp`` micro-batches of its L/pp layers
in flight, i.e. L layers' worth, times (1 + (pp - 1) / (pp v)) for the interleaved schedule
(Korthikanti et al. Sec. 4.2.3); fewer if there are fewer micro-batches than stages.

Mixed-precision Adam state (Rajbhandari et al. 2020, ZeRO Sec. 3): 2 B weights + 2 B gradients +
12 B fp32 master weights, momentum and variance per parameter; ZeRO-1 shards the 12 B, ZeRO-2 also
the gradients, ZeRO-3 also the weights, over the data-parallel group.
"""

from __future__ import annotations

import numpy as np

from flopwatt.perf.plans import Plans
from flopwatt.specs import ModelSpec

WEIGHT_BYTES = 2.0
GRAD_BYTES = 2.0
OPTIMIZER_BYTES = 12.0


def mlp_width(model: ModelSpec) -> float:
    """MLP inner width of an average layer: MoE layers hold the top-k (x capacity) and shared experts."""
    if model.moe is None:
        return float(model.ffn_hidden)
    m = model.moe
    moe_width = (m.topk * m.capacity_factor + m.shared_experts) * m.ffn_hidden
    return (model.dense_layers * model.ffn_hidden + model.moe_layers * moe_width) / model.layers


def activation_bytes_per_layer(model: ModelSpec, seq: np.ndarray, plans: Plans, flash: bool,
                               selective: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Activations of one layer for one micro-batch on one device (Korthikanti Sec. 4, generalised).

    Returns (stored for the backward under the plan's recompute, the full set without recompute).
    """
    s, b, t = seq, plans.micro_batch, plans.tp
    h, a, kv, f = model.hidden, model.attention_width, model.kv_width, mlp_width(model)
    sb = s * b
    replicated = sb * h * (4 + 2 + 2 + 1 + 1)  # LN inputs, QKV & MLP inputs, 2 dropout masks: 10 s b h
    mlp_tensors = 6 * f if model.mlp_matrices == 3 else 4 * f
    sharded = sb * (2 * (a + kv) + 2 * kv + 2 * a + mlp_tensors)  # = 24 s b h for GPT shapes
    scores = 5.0 * b * model.heads * s * s
    replicated = np.where(plans.sequence_parallel, replicated / t, replicated)
    attention = 0.0 if flash else scores / t
    full_layer = replicated + sharded / t
    input_only = np.where(plans.sequence_parallel, 2.0 * sb * h / t, 2.0 * sb * h)
    w_full, w_sel = plans.recompute_weights(selective)
    others = full_layer + np.where(w_sel > 0, 0.0, attention)  # layers not recomputed in full
    stored = w_full * input_only + (1.0 - w_full) * others
    return stored, full_layer + attention


def stage_activation_bytes(model: ModelSpec, seq: np.ndarray, plans: Plans, flash: bool,
                           layers_per_stage: np.ndarray, fp8_cache: bool = False,
                           selective: bool = True) -> np.ndarray:
    """Activations held by the first pipeline stage at its peak (bytes); ``fp8_cache`` stores the
    16-bit tensors in FP8 (half the bytes; the 1-byte dropout masks are a small remainder, ignored)."""
    stored, working = activation_bytes_per_layer(model, seq, plans, flash, selective)
    if fp8_cache:
        stored = stored / 2
    m = np.maximum(plans.micro_batches, 1)
    in_flight = np.minimum(plans.pp, m)
    interleave = np.where(plans.vpp > 1, 1 + (plans.pp - 1) / (plans.pp * plans.vpp), 1.0)
    held = stored * layers_per_stage * in_flight * interleave
    recompute_working = np.where(plans.recompute == 2, working, 0.0)  # one layer rebuilt during backward
    return held + recompute_working


def state_bytes(params_per_device: np.ndarray, plans: Plans, *, fp8_copy: bool = False,
                copies: int = 1) -> dict[str, np.ndarray]:
    """Weights, gradients and optimizer states per device (bytes) for the plan's ZeRO stage.

    ``fp8_copy`` adds the 1-byte FP8 weight cache of FP8 training (master weights stay 16/32-bit,
    DeepSeek-V3 Sec. 3.3); ``copies`` = 2 for DualPipe, which keeps two copies of the parameters.
    """
    z, dp = plans.zero_stage, plans.dp
    weight_bytes = copies * (WEIGHT_BYTES + (1.0 if fp8_copy else 0.0))
    return {
        "weights": params_per_device * weight_bytes / np.where(z >= 3, dp, 1),
        "gradients": copies * params_per_device * GRAD_BYTES / np.where(z >= 2, dp, 1),
        "optimizer": params_per_device * OPTIMIZER_BYTES / np.where(z >= 1, dp, 1),
    }
