"""How much of a device's memory a serving engine leaves for the KV cache (:class:`EngineMemory`).

Three accountings, each read from an engine's own start-up code (catalog/engines.toml gives the source of every
figure a profile sets):

- ``share`` alone (the rule when a profile says nothing): the weights and the KV may fill ``share`` of the
  device's memory (vLLM's and TensorRT-LLM's documented 0.9).
- a profiled peak (vLLM V1, ``gpu_worker.determine_available_memory``): the KV gets
  ``share x memory - weights - activation peak``, where the peak is what one dummy step of the engine's token
  budget (``profile_tokens``) and a sampler pass over ``min(profile_tokens, profile_seqs)`` requests allocate
  (:func:`profiled_activation_bytes`). What PyTorch does not allocate (NCCL buffers, the CUDA context) is not
  counted: no figure for it is stated.
- a static fraction (SGLang, ``ModelRunner.profile_max_num_token``): weights and KV fill ``mem_fraction_static``
  of the device, a share that falls with the tensor-parallel degree (``share_by_tp``, SGLang 0.4.0) or that
  keeps ``reserved_bytes + reserved_bytes_per_rank x tp x pp`` back for activations and CUDA graphs (SGLang
  0.4.9, by device-memory class).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flopwatt.specs import ModelSpec

USABLE_MEMORY = 0.9
"""Share of device memory weights and KV may fill when no engine profile states its own rule (vLLM's default
gpu_memory_utilization = 0.9; TensorRT-LLM's default kv_cache_free_gpu_mem_fraction is also 0.9)."""
ACTIVATION_BYTES = 2.0
"""Bytes per activation element in the dummy step: bf16/fp16, the compute type of every profiled engine (FP8
checkpoints keep bf16 activations between layers)."""


@dataclass(frozen=True, slots=True)
class EngineMemory:
    """What an engine keeps out of the KV cache: ``share`` of device memory it may fill at all, a fixed
    ``reserved_bytes`` per device, and (with ``profile_tokens``) the activation peak of its start-up profile."""

    share: float = USABLE_MEMORY
    share_by_tp: tuple[tuple[int, float], ...] | None = None
    """(smallest tp, share) steps, increasing in tp: a plan takes the share of the largest step its tp reaches
    (replaces ``share``)."""
    reserved_bytes: float = 0.0
    reserved_bytes_per_rank: float = 0.0
    """Bytes kept back per rank of one engine instance (tp x pp), on top of ``reserved_bytes``."""
    profile_tokens: int | None = None
    """Tokens of the engine's dummy profiling step (its iteration token budget); None = no profiled peak."""
    profile_seqs: int | None = None
    """Requests the profiling step samples for (its max batch; capped at ``profile_tokens``)."""
    sampler_bytes_per_logit: float = 0.0
    """Bytes the sampler holds per logit at its peak (requests x vocabulary logits)."""

    def kv_limit_bytes(self, model: ModelSpec, memory_bytes: float, tp, pp=1.0) -> np.ndarray:
        """Bytes per device that weights and KV together may take, per plan (``tp``, ``pp`` arrays of degrees)."""
        tp = np.asarray(tp, dtype=float)
        ranks = tp * np.asarray(pp, dtype=float)
        base = self._share(tp) * memory_bytes - self.reserved_bytes - self.reserved_bytes_per_rank * ranks
        if self.profile_tokens is None:
            return base
        return base - profiled_activation_bytes(model, tp, self.profile_tokens, self.profile_seqs,
                                                self.sampler_bytes_per_logit)

    def _share(self, tp: np.ndarray) -> np.ndarray:
        if self.share_by_tp is None:
            return np.full_like(tp, self.share)
        starts = np.array([step[0] for step in self.share_by_tp], dtype=float)
        shares = np.array([step[1] for step in self.share_by_tp], dtype=float)
        return shares[np.maximum(np.searchsorted(starts, tp, side="right") - 1, 0)]


def _mlp_peak_elements(model: ModelSpec, tokens: float, tp) -> np.ndarray:
    """Elements alive in the widest feed-forward of one layer: input, gate+up output and activated output
    (dense: tokens x (hidden + 3 ffn / tp)); a routed MoE layer holds them per routed copy (tokens x top-k),
    each expert's width split over the tp ranks (vLLM's fused-MoE caches), and its output per copy."""
    tp = np.asarray(tp, dtype=float)
    dense = tokens * (model.hidden + 3.0 * model.ffn_hidden / tp)
    if model.moe is None:
        return dense
    copies = tokens * model.moe.topk
    routed = copies * (3.0 * model.moe.ffn_hidden / tp + model.hidden) + tokens * model.hidden
    has_dense = model.moe.first_dense_layers > 0 or model.moe.shared_experts > 0
    return np.maximum(routed, dense) if has_dense else routed


def profiled_activation_bytes(model: ModelSpec, tp, tokens: int, seqs: int | None,
                              sampler_bytes_per_logit: float) -> np.ndarray:
    """Peak bytes one device allocates in the engine's profiling step, per plan: the larger of the forward
    step (the residual stream plus the widest feed-forward, :func:`_mlp_peak_elements`, in
    :data:`ACTIVATION_BYTES`) and the sampler pass (min(tokens, seqs) requests x the full vocabulary, gathered
    on every rank, x ``sampler_bytes_per_logit``, with the step's last hidden states alive). A pipeline stage
    holds the same per-layer peak and only the last one samples; every stage is counted at the larger peak,
    as the engine sizes one KV budget for all its ranks (the smallest)."""
    tp = np.asarray(tp, dtype=float)
    residual = tokens * model.hidden
    forward = (residual + _mlp_peak_elements(model, tokens, tp)) * ACTIVATION_BYTES
    requests = tokens if seqs is None else min(tokens, seqs)
    sampler = requests * model.vocab * sampler_bytes_per_logit + residual * ACTIVATION_BYTES
    return np.maximum(forward, sampler) * np.ones_like(tp)
