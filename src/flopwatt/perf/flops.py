"""FLOP and byte counts of a transformer layer, per operation, vectorised over plans.

Forward pass of one layer for one micro-batch on one device (tensor-parallel shard), counted as
in Narayanan et al. 2021 Sec. 3.5 / Appendix (2 FLOPs per multiply-accumulate), generalised to
GQA (``kv_heads < heads``), other head sizes and gated MLPs (SwiGLU/GeGLU: 3 matrices):

    QKV        2 b s h (a + 2 kv) / t          (a = heads x head size, kv = kv_heads x head size)
    scores     2 b s^2 a / t                   (Q K^T, full s x s as Megatron and eq. 3 count it)
    attn x V   2 b s^2 a / t
    proj       2 b s a h / t
    MLP        2 b s h f (m - 1) / t + 2 b s f h / t   (m = 2 plain, 3 gated)
    logits     2 b s h V / t                   (last pipeline stage only)

For GPT shapes (a = kv = h, f = 4h, m = 2) a layer's forward is 24 b s h^2 (1 + s / 6h), and with
the logits and the backward (2x forward) and full recompute (+1x forward) a step costs eq. 3 of
Narayanan et al. 2021: ``96 B s l h^2 (1 + s/6h + V/16lh)``.
"""

from __future__ import annotations

import numpy as np

from flopwatt.specs import ModelSpec

GEMMS = ("qkv", "scores", "attn_v", "proj", "mlp_up", "mlp_down")
ATTENTION_CORE = ("scores", "attn_v")


def layer_gemms(model: ModelSpec, seq: np.ndarray, batch: np.ndarray, tp: np.ndarray,
                act_bytes: float) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Forward GEMMs of one layer on one device: name -> (FLOPs, bytes moved at ``act_bytes``/element).

    Bytes are the roofline traffic of the call: read both operands, write the result once.
    """
    h, a, kv, f = model.hidden, model.attention_width, model.kv_width, model.ffn_hidden
    heads_local = model.heads / tp
    tokens = batch * seq
    up_cols = (model.mlp_matrices - 1) * f
    dims = {  # (m, n, k) per call, batched calls folded into m
        "qkv": (tokens, (a + 2 * kv) / tp, h),
        "proj": (tokens, h, a / tp),
        "mlp_up": (tokens, up_cols / tp, h),
        "mlp_down": (tokens, h, f / tp),
    }
    out = {name: (2.0 * m * n * k, act_bytes * (m * k + k * n + m * n)) for name, (m, n, k) in dims.items()}
    d = model.head_size
    per_head_calls = batch * heads_local
    score_flops = 2.0 * per_head_calls * seq * seq * d
    score_bytes = act_bytes * per_head_calls * (2 * seq * d + seq * seq)
    out["scores"] = (score_flops, score_bytes)
    out["attn_v"] = (score_flops, score_bytes)
    return out


def logits_gemm(model: ModelSpec, seq: np.ndarray, batch: np.ndarray, tp: np.ndarray,
                act_bytes: float) -> tuple[np.ndarray, np.ndarray]:
    """Forward output-layer GEMM (vocabulary-parallel over TP) on the last stage: (FLOPs, bytes)."""
    m, n, k = batch * seq, model.vocab / tp, model.hidden
    return 2.0 * m * n * k, act_bytes * (m * k + k * n + m * n)


def forward_flops_per_sequence(model: ModelSpec, seq: np.ndarray | int) -> np.ndarray:
    """Model forward FLOPs for one sequence: all layers plus logits (no TP split)."""
    one = np.ones(1, dtype=np.int64)
    layer = sum(fl for fl, _ in layer_gemms(model, np.asarray(seq), one, one, 2.0).values())
    logits, _ = logits_gemm(model, np.asarray(seq), one, one, 2.0)
    return model.layers * layer + logits


def attention_core_flops_per_sequence(model: ModelSpec, seq: np.ndarray | int) -> np.ndarray:
    """Forward FLOPs of Q K^T and attention x V over all layers (what selective recompute redoes)."""
    one = np.ones(1, dtype=np.int64)
    gemms = layer_gemms(model, np.asarray(seq), one, one, 2.0)
    return model.layers * sum(gemms[name][0] for name in ATTENTION_CORE)


def model_flops_per_step(model: ModelSpec, seq: np.ndarray | int, global_batch: np.ndarray) -> np.ndarray:
    """Model FLOPs of one step (forward + backward = 3x forward), the numerator of MFU."""
    return 3.0 * forward_flops_per_sequence(model, seq) * global_batch


def recompute_flops_per_step(model: ModelSpec, seq: np.ndarray | int, global_batch: np.ndarray,
                             recompute: np.ndarray) -> np.ndarray:
    """Extra forward FLOPs redone in the backward pass: all layers (full) or the attention core (selective).

    Logits are never recomputed (Megatron checkpoints transformer layers only).
    """
    one = np.ones(1, dtype=np.int64)
    logits, _ = logits_gemm(model, np.asarray(seq), one, one, 2.0)
    layers_only = forward_flops_per_sequence(model, seq) - logits
    core = attention_core_flops_per_sequence(model, seq)
    per_seq = np.select([recompute == 2, recompute == 1], [layers_only, core], 0.0)
    return per_seq * global_batch


def narayanan_eq3_flops(global_batch: float, seq: float, layers: float, hidden: float, vocab: float) -> float:
    """Narayanan et al. 2021 eq. 3: FLOPs per iteration with full recompute, GPT shape (f = 4h, MHA)."""
    return 96.0 * global_batch * seq * layers * hidden**2 * (1 + seq / (6 * hidden) + vocab / (16 * layers * hidden))
