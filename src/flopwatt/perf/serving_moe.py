"""Tensor-parallel MoE (no expert parallelism): every rank holds a 1/tp slice of every expert and routes all tokens.

With expert parallelism left at 1, the serving engines split each expert the way a dense MLP is split:
TensorRT-LLM's mapping defaults ``moe_tp_size = tp_size, moe_ep_size = 1`` when neither is given
(NVIDIA/TensorRT-LLM@05ebebb2c1d34320db9019f2b7ace6009a67e997 tensorrt_llm/mapping.py ``Mapping.__init__``:
"if moe_tp_size == -1 and moe_ep_size == -1: moe_tp_size = tp_size // moe_cluster_size; moe_ep_size = 1"), its
checkpoint converters likewise ("moe default to tp-only"), and SGLang's ``--ep-size 1`` gives moe_tp_size = tp
(router replicated, every routed expert on every GPU, each expert's intermediate dimension split, partial
outputs summed by the all-reduce). Per MoE layer, one rank of a ``tp`` group then runs, on all ``m`` routed tokens
of the group (their hidden states are replicated after the attention all-reduce):

- the router, ``m x h x E``, replicated on every rank;
- E grouped-GEMM problems of ``m k / E`` rows each (uniform routing), up ``(mats - 1) f / tp x h`` and down
  ``h x f / tp``: the same FLOPs and weight bytes as ``E / tp`` whole experts, in ``tp`` times smaller calls, and no
  rank waits for a busier one (each rank runs every expert's slice);
- the shared experts, split the same way, on all ``m`` tokens;
- the token shuffle around the grouped GEMMs (TensorRT-LLM ``CutlassMoeFCRunner::runMoe``,
  NVIDIA/TensorRT-LLM@05316d3313360012536ace46c781518f5afae75e cpp/tensorrt_llm/kernels/mixtureOfExperts/
  moe_kernels.cu, and its ``moe_permute_op``): ``expandInputRowsKernel`` copies the input
  "[num_tokens, hidden_size]" to "permuted_data_, [num_token * k, hidden_size]" in the input's own type
  (ExpandedActivationsType = T), and ``finalizeMoeRoutingKernel`` reads the ``m k`` expert outputs back, scales
  them by their routing weights and sums them to ``m`` rows: ``(1 + k) m h`` elements moved each, 16-bit,
  memory-bound, on all ``m`` tokens on every rank (not divided by ``tp``).
"""

from __future__ import annotations

import numpy as np

from flopwatt.perf import flops as fl
from flopwatt.perf.compute import DeviceRates
from flopwatt.specs import ModelSpec


def _gemm(m: np.ndarray, n: float | np.ndarray, k: float | np.ndarray, act_bytes: float, calls=1.0) -> tuple:
    """(FLOPs, bytes of both operands and the result, calls) of one m x k x n GEMM call."""
    return (2.0 * m * n * k, act_bytes * (m * k + k * n + m * n),
            np.broadcast_to(np.asarray(calls, dtype=float), np.shape(m)))


def moe_tp_gemms(model: ModelSpec, routed: np.ndarray, tp: np.ndarray, act_bytes: float) -> fl.Gemms:
    """Router, routed and shared expert GEMMs of one MoE layer on one rank (module docstring): name -> (FLOPs per
    call, bytes per call, calls)."""
    spec, h, mats = model.moe, model.hidden, model.mlp_matrices
    m = np.asarray(routed, dtype=float)
    rows = m * spec.topk / spec.experts
    f = spec.ffn_hidden / np.asarray(tp, dtype=float)
    out = {
        "router": _gemm(m, spec.experts, h, act_bytes),
        "expert_up": _gemm(rows, (mats - 1) * f, h, act_bytes, spec.experts),
        "expert_down": _gemm(rows, h, f, act_bytes, spec.experts),
    }
    if spec.shared_experts:
        out["shared_up"] = _gemm(m, (mats - 1) * spec.shared_experts * f, h, act_bytes)
        out["shared_down"] = _gemm(m, h, spec.shared_experts * f, act_bytes)
    return out


def token_shuffle_time(model: ModelSpec, rates: DeviceRates, routed: np.ndarray, act_bytes: float) -> np.ndarray:
    """Expand (permute) and finalize (unpermute, weight, sum) of one MoE layer on one rank: ``2 (1 + k) m h``
    elements, memory-bound (module docstring)."""
    elements = 2.0 * (1.0 + model.moe.topk) * np.asarray(routed, dtype=float) * model.hidden
    return rates.memory_time(elements * act_bytes)


MOE_TILE_ROWS = 64.0
"""Rows of one tile of a grouped expert GEMM: vLLM's fused-MoE default configuration, ``BLOCK_SIZE_M`` 64 for more
tokens than experts and for block-scaled FP8 (vllm 0.9.2 wheel, vllm/model_executor/layers/fused_moe/fused_moe.py:
760-817 ``get_default_config``); a stated rule for every engine."""


def grouped_expert_time(rates: DeviceRates, touched: np.ndarray, rows: np.ndarray, shapes: tuple, weight_bytes: float,
                        act_bytes: float) -> np.ndarray:
    """Roofline time of one rank's routed experts as grouped GEMMs (vLLM/SGLang ``fused_moe``, TensorRT-LLM's grouped
    CUTLASS MoE GEMM): one kernel per ``(n, k)`` shape over the ``touched`` experts, whose ``rows`` split evenly over
    them, each expert's rows padded to whole tiles of :data:`MOE_TILE_ROWS`, each touched expert's weights streamed
    once, the efficiency read at the whole group's FLOPs (one launch)."""
    touched = np.asarray(touched, dtype=float)
    rows = np.asarray(rows, dtype=float)
    padded = touched * np.ceil(rows_per_touched_expert(rows, touched) / MOE_TILE_ROWS) * MOE_TILE_ROWS
    time = np.zeros_like(rows)
    for n, k in shapes:
        nbytes = touched * n * k * weight_bytes + act_bytes * rows * (n + k)
        time = time + rates.gemm_time(2.0 * padded * n * k, nbytes, linear=True)
    return time


def rows_per_touched_expert(rows, touched) -> np.ndarray:
    """Rows each touched expert gets when ``rows`` split evenly over ``touched`` experts (0 where none is touched)."""
    rows, touched = np.asarray(rows, dtype=float), np.asarray(touched, dtype=float)
    return np.divide(rows, touched, out=np.zeros(np.broadcast(rows, touched).shape), where=touched > 0)


def routed_expert_time(per_expert_s: np.ndarray, grouped_s: np.ndarray, rows_per_expert: np.ndarray) -> np.ndarray:
    """Time of the routed experts between the two readings of a grouped MoE GEMM: with ``r`` rows per touched expert,
    ``max(grouped, per_expert x min(1, r / tile))``. An expert whose rows fill a tile or more runs as a GEMM of its own
    (``per_expert_s``: one call per expert at the small-GEMM efficiency of ``catalog/efficiency.toml``, fill and drain
    included); experts with a fraction of a tile's rows share the device in one pass, down to the ``grouped_s``
    roofline (published fused-MoE calls at 1-64 tokens run at 0.08-0.23 of the per-expert reading and above the
    grouped one: ``bench/moe_kernels_vs_model.py``). A stated interpolation, no constant fitted."""
    fill = np.minimum(1.0, np.asarray(rows_per_expert, dtype=float) / MOE_TILE_ROWS)
    return np.maximum(grouped_s, per_expert_s * fill)
