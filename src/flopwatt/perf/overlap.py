"""Communication hidden behind computation by MegaScale's schedules (Jiang et al. 2024, arXiv:2402.15627).

Pure functions over arrays of plans, used by :mod:`flopwatt.perf.training` when a stack profile sets
``parallel_block``, ``tp_gemm_overlap``, ``pp_overlap`` or ``dp_chunk_overlap``. Overlapped communication
still slows the computation it runs beside (``DeviceRates.exposed``).
"""

from __future__ import annotations

import numpy as np

from flopwatt.perf.compute import DeviceRates
from flopwatt.specs import ModelSpec, StackProfile


def tp_collectives_per_pass(stack: StackProfile) -> float:
    """Tensor-parallel collectives of one layer and pass, in units of the serial block's (2 AllReduce, or 2
    AllGather + 2 ReduceScatter under sequence parallelism). The parallel block (eq. 2: y = x + MLP(LN(x)) +
    Attention(LN(x))) gathers LN(x) once for both branches and reduces their summed output once (Fig. 3a)."""
    return 0.5 if stack.parallel_block else 1.0


def mlp_share(model: ModelSpec) -> float:
    """Share of a dense layer's linear FLOPs in its MLP (the FFN GEMMs MegaScale hides TP traffic behind)."""
    h, a, kv = model.hidden, model.attention_width, model.kv_width
    mlp = model.mlp_matrices * h * model.ffn_hidden
    return mlp / (mlp + 2 * h * a + 2 * h * kv)


def tp_forward(stack: StackProfile, rates: DeviceRates, model: ModelSpec, collectives: np.ndarray,
               linear_forward: np.ndarray) -> np.ndarray:
    """Forward TP communication of one layer on the critical path. With ``tp_gemm_overlap`` the AllGather
    and ReduceScatter are fused into the FFN linears, split into chunks and pipelined with the GEMM on a
    second stream (Sec. 3.2, Fig. 3b-c): only what outlasts the FFN GEMMs is exposed."""
    if not stack.tp_gemm_overlap:
        return collectives
    return rates.exposed(collectives, mlp_share(model) * linear_forward)


def pp_exposed(stack: StackProfile, rates: DeviceRates, transfers: np.ndarray, compute: np.ndarray) -> np.ndarray:
    """Pipeline send/receive time per micro-batch on the critical path. With ``pp_overlap`` sends and
    receives are decoupled and launched asynchronously beside the stage's computation (Sec. 3.2, Fig. 4)."""
    return rates.exposed(transfers, compute) if stack.pp_overlap else transfers


def dp_chunked(rates: DeviceRates, gather: np.ndarray, scatter: np.ndarray, vpp: np.ndarray,
               forward_stage: np.ndarray, backward_stage: np.ndarray) -> np.ndarray:
    """Exposed data-parallel time of MegaScale's per-model-chunk schedule (Sec. 3.2): each of the vpp chunks
    all-gathers its parameters before its forward (``gather``: all chunks' gathers) and reduce-scatters its
    gradients after its backward (``scatter``). The first gather is prefetched at the start of the iteration; the
    last chunk's reduce-scatter, 1/vpp of ``scatter`` (the paper's 1/(2 vpp) of the traffic where gathers and
    scatters move as many bytes), has nothing left to hide behind. The other gathers run beside forward passes,
    the other reduce-scatters beside backward passes."""
    last = scatter / vpp
    return last + rates.exposed(gather, forward_stage) + rates.exposed(scatter - last, backward_stage)
