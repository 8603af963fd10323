"""FLOP and byte counts of a transformer layer, per operation, vectorised over plans.

Forward pass of one layer for one micro-batch on one device (tensor-parallel shard), counted as
in Narayanan et al. 2021 Sec. 3.5 / Appendix (2 FLOPs per multiply-accumulate), generalised to
GQA (``kv_heads < heads``), other head sizes and gated MLPs (SwiGLU/GeGLU: 3 matrices):

    QKV        2 b s h (a + 2 kv) / t          (a = heads x head size, kv = kv_heads x head size)
    scores     2 b s s_kv a / t                (Q K^T, full s x s as Megatron and eq. 3 count it)
    attn x V   2 b s s_kv a / t
    proj       2 b s a h / t
    MLP        2 b s h f (m - 1) / t + 2 b s f h / t   (m = 2 plain, 3 gated)
    logits     2 b s h V / t                   (last pipeline stage only)

For GPT shapes (a = kv = h, f = 4h, m = 2) a layer's forward is 24 b s h^2 (1 + s / 6h), and with
the logits and the backward (2x forward) and full recompute (+1x forward) a step costs eq. 3 of
Narayanan et al. 2021: ``96 B s l h^2 (1 + s/6h + V/16lh)``.

Multi-head latent attention (DeepSeek-V2 Sec. 2.1) replaces QKV by down- and up-projections of a
low-rank query and joint KV latent. An MoE layer (DeepSeekMoE / GShard) replaces the MLP by a
router (2 b s h E), the shared experts, and top-k routed experts; with expert parallelism over
``ep`` devices each device runs E / ep experts, each on ep x tokens x topk / E tokens (balanced load,
times the capacity factor). Tokens reach the experts split over TP ranks (sequence parallel).

Each entry is (FLOPs per call, bytes per call, calls): the efficiency of a GEMM depends on one
call's size, so the E / ep expert GEMMs of a device are ``calls`` calls of their own size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flopwatt.specs import ModelSpec

ATTENTION_CORE = ("scores", "attn_v")
COLUMN_PARALLEL = ("qkv", "q", "q_down", "kv_down", "mlp_up", "shared_up")
"""Tensor-parallel GEMMs that read the whole hidden stream (all-gathered under sequence parallelism)."""
ROW_PARALLEL = ("proj", "mlp_down", "shared_down")
"""Tensor-parallel GEMMs that write the hidden stream (reduce-scattered under sequence parallelism)."""
Gemms = dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]


@dataclass(frozen=True, slots=True)
class Shard:
    """What one device computes of a layer for one micro-batch: its sequences, their local (query)
    length, the key length (the full sequence under context parallelism), and its TP / EP shares."""

    seq: np.ndarray
    batch: np.ndarray
    tp: np.ndarray
    ep: np.ndarray | int = 1
    seq_kv: np.ndarray | None = None

    @property
    def keys(self) -> np.ndarray:
        return self.seq if self.seq_kv is None else self.seq_kv


def _gemm(m: np.ndarray, n: np.ndarray, k: np.ndarray, act_bytes: float, calls=1.0):
    """(FLOPs, roofline bytes: read both operands and write the result once, calls) of an m x k x n GEMM."""
    return 2.0 * m * n * k, act_bytes * (m * k + k * n + m * n), np.broadcast_to(np.asarray(calls, float), np.shape(m))


def _attention(model: ModelSpec, tokens: np.ndarray, tp: np.ndarray, act_bytes: float,
               gemm=_gemm) -> Gemms:
    h = model.hidden
    if model.mla is None:
        a, kv = model.attention_width, model.kv_width
        return {"qkv": gemm(tokens, (a + 2 * kv) / tp, h, act_bytes), "proj": gemm(tokens, h, a / tp, act_bytes)}
    m, heads = model.mla, model.heads / tp
    q_dim = heads * (m.qk_nope_head_dim + m.qk_rope_head_dim)
    out = {
        "kv_down": gemm(tokens, m.kv_lora_rank + m.qk_rope_head_dim, h, act_bytes),
        "kv_up": gemm(tokens, heads * (m.qk_nope_head_dim + m.v_head_dim), m.kv_lora_rank, act_bytes),
        "proj": gemm(tokens, h, heads * m.v_head_dim, act_bytes),
    }
    if m.q_lora_rank is None:
        out["q"] = gemm(tokens, q_dim, h, act_bytes)
    else:
        out["q_down"] = gemm(tokens, m.q_lora_rank, h, act_bytes)
        out["q_up"] = gemm(tokens, q_dim, m.q_lora_rank, act_bytes)
    return out


def _core(model: ModelSpec, batch, seq, seq_kv, tp, act_bytes: float) -> Gemms:
    heads = model.heads / tp
    if model.mla is None:
        qk, v = model.head_size, model.head_size
    else:
        qk, v = model.mla.qk_nope_head_dim + model.mla.qk_rope_head_dim, model.mla.v_head_dim
    calls = batch * heads
    scores = (2.0 * calls * seq * seq_kv * qk, act_bytes * calls * (seq * qk + seq_kv * qk + seq * seq_kv),
              np.ones_like(calls, dtype=float))
    attn_v = (2.0 * calls * seq * seq_kv * v, act_bytes * calls * (seq * seq_kv + seq_kv * v + seq * v),
              np.ones_like(calls, dtype=float))
    return {"scores": scores, "attn_v": attn_v}


def _mlp(model: ModelSpec, tokens, tp, act_bytes: float, moe: bool, ep, capacity: bool,
         gemm=_gemm) -> Gemms:
    h, mats = model.hidden, model.mlp_matrices
    if not moe:
        f = model.ffn_hidden
        return {"mlp_up": gemm(tokens, (mats - 1) * f / tp, h, act_bytes),
                "mlp_down": gemm(tokens, h, f / tp, act_bytes)}
    spec = model.moe
    f, local_tokens = spec.ffn_hidden, tokens / tp  # tokens reach the experts split over TP ranks
    per_expert = ep * local_tokens * spec.topk * (spec.capacity_factor if capacity else 1.0) / spec.experts
    experts_here = spec.experts / ep
    out = {
        "router": gemm(local_tokens, spec.experts, h, act_bytes),
        "expert_up": gemm(per_expert, (mats - 1) * f, h, act_bytes, experts_here),
        "expert_down": gemm(per_expert, h, f, act_bytes, experts_here),
    }
    if spec.shared_experts:
        width = spec.shared_experts * f
        out["shared_up"] = gemm(local_tokens, (mats - 1) * width, h, act_bytes)
        out["shared_down"] = gemm(local_tokens, h, width, act_bytes)
    return out


def layer_gemms(model: ModelSpec, shard: Shard, act_bytes: float, *, moe: bool = False,
                capacity: bool = True) -> Gemms:
    """Forward GEMMs of one layer on one device: name -> (FLOPs per call, bytes per call, calls).

    ``capacity=False`` counts model FLOPs without MoE padding.
    """
    tokens = shard.batch * shard.seq
    return {**_attention(model, tokens, shard.tp, act_bytes),
            **_core(model, shard.batch, shard.seq, shard.keys, shard.tp, act_bytes),
            **_mlp(model, tokens, shard.tp, act_bytes, moe, shard.ep, capacity)}


def _operands(m: np.ndarray, n: np.ndarray, k: np.ndarray, act_bytes: float, calls=1.0):
    """(input elements m k, weight elements k n, output elements m n, calls) of an m x k x n GEMM."""
    del act_bytes
    return m * k, k * n, m * n, np.broadcast_to(np.asarray(calls, float), np.shape(m))


def linear_operands(model: ModelSpec, shard: Shard, *, moe: bool = False) -> dict[str, tuple]:
    """Operand sizes of the layer's linear GEMMs (all but the attention core), as :func:`layer_gemms` lists them:
    name -> (input elements, weight elements, output elements, calls), per device and micro-batch."""
    tokens = shard.batch * shard.seq
    return {**_attention(model, tokens, shard.tp, 2.0, gemm=_operands),
            **_mlp(model, tokens, shard.tp, 2.0, moe, shard.ep, True, gemm=_operands)}


def total_flops(gemms: Gemms, names=None) -> np.ndarray:
    """Sum of FLOPs over calls of the named (default: all) GEMMs."""
    return sum(f * c for k, (f, _, c) in gemms.items() if names is None or k in names)


def logits_gemm(model: ModelSpec, seq: np.ndarray, batch: np.ndarray, tp: np.ndarray,
                act_bytes: float) -> tuple[np.ndarray, np.ndarray]:
    """Forward output-layer GEMM (vocabulary-parallel over TP) on the last stage: (FLOPs, bytes)."""
    m, n, k = batch * seq, model.vocab / tp, model.hidden
    return 2.0 * m * n * k, act_bytes * (m * k + k * n + m * n)


def _per_sequence(model: ModelSpec, seq, names=None) -> np.ndarray:
    one = np.ones(1, dtype=np.int64)
    seq = np.asarray(seq)
    shard = Shard(seq=seq, batch=one, tp=one)
    dense = total_flops(layer_gemms(model, shard, 2.0), names)
    out = model.dense_layers * dense
    if model.moe is not None:
        moe = total_flops(layer_gemms(model, shard, 2.0, moe=True, capacity=False), names)
        out = out + model.moe_layers * moe
    return out


def forward_flops_per_sequence(model: ModelSpec, seq: np.ndarray | int) -> np.ndarray:
    """Model forward FLOPs for one sequence: all layers (active experts only) plus logits."""
    one = np.ones(1, dtype=np.int64)
    logits, _ = logits_gemm(model, np.asarray(seq), one, one, 2.0)
    return _per_sequence(model, seq) + logits


def attention_core_flops_per_sequence(model: ModelSpec, seq: np.ndarray | int) -> np.ndarray:
    """Forward FLOPs of Q K^T and attention x V over all layers (what selective recompute redoes)."""
    return _per_sequence(model, seq, ATTENTION_CORE)


def model_flops_per_step(model: ModelSpec, seq: np.ndarray | int, global_batch: np.ndarray) -> np.ndarray:
    """Model FLOPs of one step (forward + backward = 3x forward), the numerator of MFU."""
    return 3.0 * forward_flops_per_sequence(model, seq) * global_batch


def recompute_flops_per_step(model: ModelSpec, seq: np.ndarray | int, global_batch: np.ndarray,
                             recompute: np.ndarray) -> np.ndarray:
    """Extra forward FLOPs redone in the backward pass: all layers (full) or the attention core (selective).

    Logits are never recomputed (Megatron checkpoints transformer layers only).
    """
    layers_only = _per_sequence(model, seq)
    core = attention_core_flops_per_sequence(model, seq)
    per_seq = np.select([recompute == 2, recompute == 1], [layers_only, core], 0.0)
    return per_seq * global_batch


def narayanan_eq3_flops(global_batch: float, seq: float, layers: float, hidden: float, vocab: float) -> float:
    """Narayanan et al. 2021 eq. 3: FLOPs per iteration with full recompute, GPT shape (f = 4h, MHA)."""
    return 96.0 * global_batch * seq * layers * hidden**2 * (1 + seq / (6 * hidden) + vocab / (16 * layers * hidden))
