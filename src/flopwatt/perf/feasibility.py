"""Feasibility of plans as data: a reason code per plan (0 = feasible), never an exception.

Codes are checked in the order of ``REASONS``; a plan carries the first one it fails. Each code is a
physical limit or a rule the stack's code enforces, never a preference:

* ``batch``: every stack here splits the global batch into whole micro-batches per data-parallel rank,
  global % (micro-batch x dp) == 0 (Megatron-LM megatron/core/num_microbatches_calculator.py; torchtitan's
  trainer asserts global_batch_size % (local_batch_size * dp_degree) == 0 and derives gradient
  accumulation from it; DeepSpeed train_batch_size = micro x accumulation x dp). Pipelines split that
  local batch into equal micro-batches: torchtitan ``--experimental.pipeline_parallel_microbatches`` ("The
  global training batch size must be evenly divisible by the number of microbatches", default: the number
  of stages; torchtitan config_manager.py, find_string id 48112300722), Megatron's micro-batch size is one
  number. No stack here runs uneven micro-batches, so the rule is the frameworks' own; any whole number of
  micro-batches per rank (gradient accumulation) passes. Not checked: older Megatron-LM's interleaved
  schedule also asked the micro-batch count to be a multiple of pp (not confirmed for the releases here).
* ``layers_pp``: the stack's pipeline split (perf/partition.py ``split_ok``), e.g. Megatron-Core's equal middle
  stages, or at most L + 2 virtual stages where the embedding and the output layer count as a layer each.
* ``ep``: MoE parallel folding as Megatron-Core builds it (``parallel_state.initialize_model_parallel``: the
  expert grid is etp x ep x edp x pp over the same world, ``world_size % (etp * ep * pp) == 0`` or
  RuntimeError; NVIDIA/Megatron-LM megatron/core/parallel_state.py, find_string id 1491751663). This planner
  holds whole experts per device (expert tensor parallelism etp = 1: perf/training.py ``_params_per_device``,
  perf/flops.py ``_mlp``), so ep must divide the tp x cp x dp ranks of a stage, not dp alone; ep may span
  TP ranks (Qwen3-235B on tp 2, dp 16, ep 32, validation row MBRIDGE-20). ep must also divide the experts.
* device counts need not be a multiple of the node size: a plan is valid wherever its degrees multiply
  to the device count and its groups fit (4 or 12 GPUs on 8-GPU nodes are plans like any other).
"""

from __future__ import annotations

import numpy as np

from flopwatt.catalog import facility_costs
from flopwatt.perf.partition import split_ok
from flopwatt.perf.plans import Plans
from flopwatt.specs import ModelSpec, StackProfile, System

REASONS = (
    "ok",
    "devices",            # tp * pp * dp * cp != devices
    "stack_parallelism",  # tp > 1 or pp > 1 on a stack without tensor / pipeline parallelism
    "heads_tp",           # attention heads (or KV heads) not divisible by tp
    "layers_pp",          # no split of the layers over pp x vpp stages that the stack accepts (perf/partition.py)
    "batch",              # global batch not divisible by dp * micro-batch
    "vpp",                # interleaving asked where the stack has none, or pp == 1
    "sequence_parallel",  # stack has no sequence parallelism
    "recompute",          # selective recompute not in this stack
    "zero_pp",            # ZeRO-2/3 with pipelining where the stack refuses it (StackProfile.zero3_with_pipeline)
    "ep",                 # expert parallelism without experts, or ep not dividing the experts and tp x cp x dp
    "cp",                 # sequence not divisible by 2 x cp (load-balanced causal context parallelism)
    "oom",                # memory per device exceeds HBM
)
OK = 0


def reason_name(code: int) -> str:
    return REASONS[int(code)]


def structural_reasons(model: ModelSpec, plans: Plans, stack: StackProfile, devices: int,
                       seq_len: int) -> np.ndarray:
    """Reason codes for everything but memory (which needs the time/memory model)."""
    kv_ok = (model.kv_heads % plans.tp == 0) | (plans.tp % model.kv_heads == 0)
    layers_ok = split_ok(model.layers, stack.pipeline_partition, plans.pp, plans.vpp)
    checks = [
        ("devices", plans.devices == devices),
        ("stack_parallelism", ((plans.tp == 1) | stack.tensor_parallel) & ((plans.pp == 1) | stack.pipeline_parallel)),
        ("heads_tp", (model.heads % plans.tp == 0) & kv_ok),
        ("layers_pp", layers_ok),
        ("batch", plans.micro_batches > 0),
        ("vpp", (plans.vpp == 1) | ((plans.pp > 1) & stack.interleaved_pipeline)),
        ("sequence_parallel", ~plans.sequence_parallel | stack.sequence_parallel),
        ("recompute", (plans.recompute != 1) | stack.selective_recompute),
        ("zero_pp", (plans.zero_stage < 2) | (plans.pp == 1) | stack.zero3_with_pipeline),
        ("ep", (plans.ep == 1) | ((model.moe is not None) & ((plans.tp * plans.cp * plans.dp) % plans.ep == 0)
                                  & ((model.moe.experts if model.moe else 1) % plans.ep == 0))),
        ("cp", (plans.cp == 1) | (seq_len % (2 * plans.cp) == 0)),
    ]
    reason = np.zeros(len(plans), dtype=np.int8)
    for name, ok in reversed(checks):  # earliest check wins
        reason = np.where(ok, reason, np.int8(REASONS.index(name)))
    return reason


def with_memory(reason: np.ndarray, memory_bytes: np.ndarray, hbm_bytes: float) -> np.ndarray:
    """Add the out-of-memory code where a plan is otherwise feasible but does not fit.

    Training state (weights, gradients, optimizer states, activations) lives in off-chip memory, so on an
    SRAM-only inference chip (``hbm_bytes == 0``) every training plan is out of memory.
    """
    return np.where((reason == OK) & (memory_bytes > hbm_bytes), np.int8(REASONS.index("oom")), reason)


def reason_counts(reason: np.ndarray) -> dict[str, int]:
    """How many plans fail for each reason (feasible ones under 'ok')."""
    counts = np.bincount(reason.astype(np.int64), minlength=len(REASONS))
    return {name: int(c) for name, c in zip(REASONS, counts, strict=True) if c}


# ---- cooling: a facility rule on the system x cooling type (not on the plan's knobs) -------------------------
# Kept apart from the plan checks above: it depends only on the system's rack power and the cooling type, so
# every plan of a (system, cooling) pair shares it. Source: catalog facility_costs.toml [air_rack_limit] (air
# carries at most ~41 kW per rack with perfect containment) against the published rack power of rack-scale
# systems ([rack.*]) or one node's datasheet maximum. Only air has a sourced hard limit; other types pass.

COOLING_REASON = "cooling"
"""Reason name (explained in :mod:`flopwatt.perf.reasons`) of a system whose racks the cooling type cannot carry."""


def cooling_refusal(system: System, cooling_id: str) -> str | None:
    """Why racks of ``system`` cannot be cooled by ``cooling_id``, naming the rack power and the sourced
    limit, or None where the pair is allowed (or the rack power is unknown)."""
    return facility_costs.air_cooling_refusal(system, cooling_id)


def cooling_allowed(system: System, cooling_ids: tuple[str, ...] | list[str]) -> np.ndarray:
    """Boolean mask over ``cooling_ids``: True where ``system``'s racks can be cooled that way."""
    return np.array([cooling_refusal(system, c) is None for c in cooling_ids], dtype=bool)
