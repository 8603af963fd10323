"""Memory per device: weights, gradients, optimizer states, activations, workspace.

Activations follow Korthikanti et al. 2022 ("Reducing Activation Recomputation in Large Transformer
Models", Sec. 4), per layer per micro-batch in bytes with 16-bit activations:

    no parallelism             s b h (34 + 5 a s / h)
    tensor parallel            s b h (10 + 24 / t + 5 a s / (h t))
    tensor + sequence parallel s b h (34 / t + 5 a s / (h t))
    selective recompute        drops the 5 a s / h term;  full recompute keeps 2 s b h (the layer input)

generalised here to GQA (K/V of ``kv_heads``) and gated MLPs (three f-wide tensors instead of two).
With 1F1B pipeline rank i keeps pp - i micro-batches of its layers in flight; under the interleaved
schedule it keeps v pp + pp - 1 - 2 i micro-batch chunks of L / (pp v) layers (Megatron-LM's warm-up,
Narayanan et al. 2021 Sec. 2.2.2), which for rank 0 is Korthikanti et al.'s L (1 + (pp - 1) / (pp v))
(Sec. 4.2.3). Where the first rank holds fewer layers (Llama 3's split, perf/partition.py) the second rank,
one micro-batch fewer but more layers, can hold the most. Fewer if there are fewer micro-batches than stages.
The two 1-byte dropout masks per layer are stored only for models trained with dropout (ModelSpec.dropout).

Mixed-precision Adam state (Rajbhandari et al. 2020, ZeRO Sec. 3): 2 B weights + 2 B gradients +
12 B fp32 master weights, momentum and variance per parameter; ZeRO-1 shards the 12 B, ZeRO-2 also
the gradients, ZeRO-3 also the weights, over the data-parallel group.
"""

from __future__ import annotations

import numpy as np

from flopwatt.perf.partition import first_last_split, rank_layers
from flopwatt.perf.plans import Plans
from flopwatt.specs import ModelSpec, StackProfile

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


def every_other_matmul_bytes(model: ModelSpec, tokens: np.ndarray, plans: Plans) -> np.ndarray:
    """What torchtitan's op-level selective checkpointing keeps of one layer (bytes, 16-bit).

    Its policy saves the output of every aten.mm except every second one, and of the attention kernel
    (torchtitan parallelize_llama.py ``_save_list``); the checkpoint also keeps the layer input. The
    matmuls of a Llama layer run q, k, v, o, then w1, w3, w2 (gated MLP) or fc1, fc2: the 1st, 3rd, ...
    are kept. Column-parallel outputs are 1/tp wide; the row-parallel o and w2 outputs are the full-width
    partial sums before their reduction.
    """
    t, h = plans.tp, model.hidden
    f = mlp_width(model)
    mlp = [f / t, f / t, h] if model.mlp_matrices == 3 else [f / t, h]
    widths = [model.attention_width / t, model.kv_width / t, model.kv_width / t, h, *mlp]
    kept = sum(widths[::2]) + model.attention_width / t  # + the attention kernel's output
    layer_input = np.where(plans.sequence_parallel, h / t, h)
    return 2.0 * tokens * (layer_input + kept)


def activation_bytes_per_layer(model: ModelSpec, seq: np.ndarray, plans: Plans, flash: bool,
                               selective: bool = True,
                               saves: str = "attention-core") -> tuple[np.ndarray, np.ndarray]:
    """Activations of one layer for one micro-batch on one device (Korthikanti Sec. 4, generalised).

    Returns (stored for the backward under the plan's recompute, the full set without recompute).
    ``saves`` is what selective recomputation keeps (StackProfile.selective_saves).
    """
    s, b, t = seq, plans.micro_batch, plans.tp
    h, a, kv, f = model.hidden, model.attention_width, model.kv_width, mlp_width(model)
    sb = s * b
    masks = 2.0 if model.dropout else 0.0  # two 1-byte dropout masks (attention and MLP outputs)
    replicated = sb * h * (4 + 2 + 2 + masks)  # LN inputs, QKV & MLP inputs, dropout masks: 10 s b h
    mlp_tensors = 6 * f if model.mlp_matrices == 3 else 4 * f
    sharded = sb * (2 * (a + kv) + 2 * kv + 2 * a + mlp_tensors)  # = 24 s b h for GPT shapes
    scores = 5.0 * b * model.heads * s * s
    replicated = np.where(plans.sequence_parallel, replicated / t, replicated)
    attention = 0.0 if flash else scores / t
    full_layer = replicated + sharded / t
    input_only = np.where(plans.sequence_parallel, 2.0 * sb * h / t, 2.0 * sb * h)
    w_full, w_sel = plans.recompute_weights(selective)
    kept_selective = full_layer if saves == "attention-core" else every_other_matmul_bytes(model, sb, plans)
    others = np.where(w_sel > 0, kept_selective, full_layer + attention)  # layers not recomputed in full
    stored = w_full * input_only + (1.0 - w_full) * others
    return stored, full_layer + attention


def stage_activation_bytes(model: ModelSpec, seq: np.ndarray, plans: Plans, stack: StackProfile,
                           layers_per_stage: np.ndarray, loss_bytes: np.ndarray | float = 0.0) -> np.ndarray:
    """Activations at the peak of the heavier of the first pipeline stage (it holds min(pp, m) micro-batches)
    and the last (one micro-batch, plus the larger of the loss's ``loss_bytes`` and the layer rebuilt in the
    backward: autograd frees a node's saved tensors once its backward has run, so the logits and their
    gradient are gone before the last layer is recomputed) in bytes (DualPipe puts both on one rank,
    DeepSeek-V3 Sec. 3.2.1); the stack's
    ``fp8_activation_cache`` stores the 16-bit tensors in FP8 (half the bytes; the 1-byte dropout masks are a
    small remainder, ignored)."""
    saves = stack.selective_saves
    stored, working = activation_bytes_per_layer(model, seq, plans, stack.flash_attention,
                                                 stack.selective_recompute, saves)
    if stack.fp8_activation_cache:
        stored = stored / 2
    counts = _rank_layers(model.layers, stack.pipeline_partition, plans, layers_per_stage)
    m = plans.micro_batches
    first = stored * counts["first"] * in_flight_micro_batches(plans, 0, m)
    second = stored * np.where(plans.pp > 2, counts["middle"], counts["last"]) * in_flight_micro_batches(plans, 1, m)
    first = np.where(plans.pp > 2, np.maximum(first, second), first)
    last = stored * counts["last"] * in_flight_micro_batches(plans, plans.pp - 1, m)
    # one layer rebuilt during the backward: in full, or what the op-level policy did not keep
    rebuilt = np.where(plans.recompute == 2, working, 0.0)
    if saves != "attention-core":
        rebuilt = np.where(plans.recompute == 1, working - stored, rebuilt)
    # the loss and the rebuilt layer are never live together: the logits and their gradient are freed once the
    # output layer's backward has run, before the backward (and recompute) of the last transformer layer starts
    tail = np.maximum(loss_bytes, rebuilt)
    peak = np.where(plans.pp > 1, np.maximum(first + rebuilt, last + tail), first + tail)
    if stack.pipeline_schedule == "dualpipe":  # each rank holds stage i and stage pp - 1 - i: the first and the last
        peak = first + tail
    return peak


_LAST_SPLIT: tuple = ()
"""(layers, pp, vpp, first_last_split) of the last call of :func:`first_last_split_of`."""


def first_last_split_of(layers: int, pp: np.ndarray, vpp: np.ndarray) -> dict[str, np.ndarray]:
    """``partition.first_last_split(layers, pp, vpp)``; the same arrays (by identity: plans are never written) get
    the last answer again (evaluate_training reads it three times of one call's plans). Not to be modified."""
    global _LAST_SPLIT
    last = _LAST_SPLIT
    if last and last[0] == layers and last[1] is pp and last[2] is vpp:
        return last[3]
    split = first_last_split(layers, pp, vpp)
    _LAST_SPLIT = (layers, pp, vpp, split)
    return split


def _rank_layers(layers: int, rule: str, plans: Plans, busiest: np.ndarray) -> dict[str, np.ndarray]:
    """``partition.rank_layers`` of the plans. Where the rule does not read ``busiest`` (an element-wise function of
    pp and vpp) on many plans: computed once per (pp, vpp) pair of a small table and looked up; the first-last
    split of fewer plans from :func:`first_last_split_of` (the same values either way)."""
    table = rule in ("first-last", "transformer-embedding") and len(plans) >= 64
    rows = int(np.max(plans.pp)) + 1 if table else 0
    cols = int(np.max(plans.vpp)) + 1 if table else 0
    table = table and rows * cols <= len(plans) and min(int(np.min(plans.pp)), int(np.min(plans.vpp))) >= 0
    if table:
        grid_pp, grid_vpp = np.divmod(np.arange(rows * cols), cols)
        counts = rank_layers(layers, rule, grid_pp, grid_vpp, np.zeros(rows * cols))
        at = plans.pp * cols + plans.vpp
        return {k: v[at] for k, v in counts.items()}
    if rule == "first-last":  # rank_layers' first-last counts
        split = first_last_split_of(layers, plans.pp, plans.vpp)
        return {k: split[k].astype(float) for k in ("first", "middle", "last")}
    return rank_layers(layers, rule, plans.pp, plans.vpp, busiest)


def in_flight_micro_batches(plans: Plans, rank: np.ndarray | int,
                            micro_batches: np.ndarray | None = None) -> np.ndarray:
    """Micro-batches of its layers that pipeline rank ``rank`` holds at its peak: pp - rank under 1F1B;
    (v pp + pp - 1 - 2 rank) chunks of 1/v of its layers under the interleaved schedule (Megatron-LM
    warm-up, Narayanan et al. 2021 Sec. 2.2.2); at most all m micro-batches (m v chunks; Megatron runs all
    of them as warm-up when m = pp).

    The warm-up takes pp micro-batches through each chunk before the next: Megatron-Core's
    ``microbatch_group_size_per_vp_stage`` default (NVIDIA/Megatron-LM@60e039626
    megatron/core/model_parallel_config.py), torch.distributed.pipelining ScheduleInterleaved1F1B's
    micro-batches per round. Llama 3's schedule makes that group size N tunable (arXiv:2407.21783
    Sec. 3.3.2, Fig. 6; warm-up (v - 1) N + 2 (pp - 1 - rank) chunks); the runs' N is not published. With
    N < pp the first rank idles while its first chunk crosses the other ranks (a reading of the schedule,
    not a published figure), so N = pp, the smallest group without that extra bubble, is used for every stack.
    ``micro_batches``: ``plans.micro_batches``, where the caller has it."""
    pp, v = plans.pp, np.maximum(plans.vpp, 1)
    per_rank = np.where(v > 1, pp + (pp - 1 - 2 * rank) / v, np.maximum(pp - rank, 1))
    m = plans.micro_batches if micro_batches is None else micro_batches
    return np.minimum(per_rank, np.maximum(m, 1))


def loss_bytes(model: ModelSpec, seq: np.ndarray, plans: Plans, fused: bool) -> np.ndarray:
    """The loss's peak on the last stage: fp32 logits (4 B) where the cross entropy works in place
    (Megatron vocab-parallel), else the log-softmax backward of ``F.cross_entropy(logits.float())``: the
    fp32 log-softmax it saved, the fp32 gradient arriving from nll_loss and the fp32 gradient it returns
    (3 x 4 B; the forward's 16-bit logits + fp32 copy + fp32 log-softmax, 10 B, peak lower; torchtitan
    deletes the logits before the backward). Vocabulary sharded over tp (loss parallel)."""
    per_logit = 4.0 if fused else 12.0
    return per_logit * plans.micro_batch * seq * model.vocab / plans.tp


def fsdp2_state_bytes(params_per_device: np.ndarray, plans: Plans) -> dict[str, np.ndarray]:
    """FSDP2 mixed precision (StackProfile.fp32_sharded_params): fp32 sharded weights, fp32 gradients and
    8 B of Adam moments over the dp x cp shard group; under ZeRO-1 (no reshard after forward) also the
    16-bit unsharded weights and the fp32 unsharded gradients accumulated over micro-batches."""
    shard = plans.dp * plans.cp
    full = plans.zero_stage < 3
    return {
        "weights": params_per_device * (4.0 / shard + np.where(full, WEIGHT_BYTES, 0.0)),
        "gradients": params_per_device * 4.0 / np.where(full, 1, shard),
        "optimizer": params_per_device * (OPTIMIZER_BYTES - 4.0) / shard,
    }


def state_bytes(params_per_device: np.ndarray, plans: Plans, *, fp8_copy: bool = False,
                copies: int = 1, expert_params: np.ndarray | float = 0.0,
                shard_group: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Weights, gradients and optimizer states per device (bytes) for the plan's ZeRO stage, sharded over
    the dp x cp ranks that hold the same weights (Megatron-Core's distributed optimizer uses the
    data-parallel group with context parallelism; torchtitan's FSDP mesh is dp_shard_cp).

    Routed-expert weights (``expert_params`` of the ``params_per_device``) are held alike by the expert
    data-parallel group only: Megatron-Core's expert grid is etp x ep x edp x pp over the same world
    (parallel_state.initialize_model_parallel), so with whole experts (etp 1) edp = tp x cp x dp / ep, and
    their gradients are reduced and their states sharded over that group, not over dp x cp.
    ``fp8_copy`` adds the 1-byte FP8 weight cache of FP8 training (master weights stay 16/32-bit,
    DeepSeek-V3 Sec. 3.3); ``copies`` = 2 for DualPipe, which keeps two copies of the parameters.
    ``shard_group`` replaces dp x cp where a layout shards over fewer ranks (XLA on TPU: the FSDP ranks of one
    ICI slice, perf/ici_layout.py; slices are plain data-parallel replicas); experts shrink it by dp / group.
    """
    z, dp = plans.zero_stage, plans.dp * plans.cp  # sharded over the data x context-parallel ranks
    edp = np.maximum(plans.tp * plans.cp * plans.dp / np.maximum(plans.ep, 1), 1.0)
    if shard_group is not None:
        edp = np.maximum(edp * shard_group / dp, 1.0)
        dp = shard_group
    dense = params_per_device - expert_params
    weight_bytes = copies * (WEIGHT_BYTES + (1.0 if fp8_copy else 0.0))

    def sharded(per_param: float, from_stage: int) -> np.ndarray:
        on = z >= from_stage
        return per_param * (dense / np.where(on, dp, 1) + expert_params / np.where(on, edp, 1))

    return {
        "weights": sharded(weight_bytes, 3),
        "gradients": sharded(copies * GRAD_BYTES, 2),
        "optimizer": sharded(OPTIMIZER_BYTES, 1),
    }
