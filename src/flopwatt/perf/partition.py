"""How a stack splits L transformer layers over pp pipeline stages (x vpp virtual stages each).

``pipeline_partition`` of :class:`~flopwatt.specs.StackProfile` names the rule:

* ``uniform``: every stage L / pp layers; L % (pp x vpp) == 0 (Megatron-LM before the uneven flags).
* ``parameters``: DeepSpeed ``partition_method='parameters'``: ceil(L / pp) on the busiest stage.
* ``transformer-embedding``: DeepSpeed ``type:transformer|embedding`` / Llama 3: L + 2 units balanced,
  the embedding and the output layer one unit each.
* ``first-last``: Megatron-Core ``--decoder-first-pipeline-num-layers`` /
  ``--decoder-last-pipeline-num-layers`` (``TransformerConfig.num_layers_in_first_pipeline_stage`` /
  ``num_layers_in_last_pipeline_stage``): the first and last stages take any count > 0, the pp - 2 middle
  stages share the rest equally, and with interleaving every stage's count is a multiple of vpp
  (NVIDIA/Megatron-LM@d98e8a64dd megatron/core/transformer/transformer_config.py ``__post_init__``,
  "Uneven PP"; in Megatron-Core since core_r0.9.0, with virtual stages since core_v0.11.0).

How many virtual stages a rule allows (:func:`split_ok`): ``uniform`` L % (pp x vpp) == 0; ``parameters``
pp x vpp <= L (DeepSpeed has no interleaving, vpp = 1); ``transformer-embedding`` pp x vpp <= L + 2, every
virtual stage holding at least one of the L + 2 units (torchtitan
``_generate_llm_fqn_per_model_part``: "Number of stages ... cannot be greater than effective layers", effective
layers = L + input_weight + output_weight, both weights 1 by default, pytorch/torchtitan@b5bcd76c66
torchtitan/distributed/pipeline_parallel.py; Megatron-Core's ``account_for_embedding_in_pipeline_split`` /
``account_for_loss_in_pipeline_split`` count the embedding and the loss as a layer each, and its docstring's
example puts the embedding alone on the first virtual stage, NVIDIA/Megatron-LM@d98e8a64dd
megatron/core/transformer/transformer_config.py); ``first-last``: :func:`first_last_split`.

This module returns the planner's best ``first-last`` split (the lightest busiest stage the rule
allows, checked by brute force in tests/test_partition.py): middle stages of c = ceil(L / pp) layers
rounded up to a multiple of vpp, the first stage c (or less, so that the last stage keeps a layer),
the last stage the remainder, which leaves room for the output layer (126 layers on 16 stages: first
8, 14 middle stages of 8, last 6). Where that leaves the last stage nothing, the middle stages take
floor(L / pp) and the first and last stages share the rest.
"""

from __future__ import annotations

import numpy as np


def first_last_split(layers: int, pp: np.ndarray, vpp: np.ndarray) -> dict[str, np.ndarray]:
    """First, middle and last stage layer counts of Megatron-Core's uneven split, and validity.

    ``ok`` is False where no split exists under the rules above: vpp not dividing L (each stage's
    count must be a multiple of vpp), or more virtual stages than layers. Every stage keeps at least
    one layer per virtual stage (whether Megatron accepts an empty first or last stage was not confirmed).
    """
    pp = np.asarray(pp, dtype=np.int64)
    v = np.maximum(np.asarray(vpp, dtype=np.int64), 1)
    stages = np.maximum(pp, 1)
    inner = np.maximum(stages - 2, 0)
    up = -(-layers // (stages * v)) * v  # ceil(L / pp), rounded up to a multiple of v
    down = np.maximum(layers // (stages * v), 1) * v
    middle = np.where(layers - inner * up >= 2 * v, up, down)
    rest = layers - inner * middle  # first + last
    first = np.where(middle == up, np.minimum(rest - v, middle), -(-rest // (2 * v)) * v)
    last = rest - first
    ok = (layers % v == 0) & (stages * v <= layers) & (first >= v) & (last >= v)
    one = stages == 1
    return {
        "first": np.where(one, layers, first),
        "middle": np.where(one, layers, middle),
        "last": np.where(one, 0, last),
        "ok": np.where(one, v == 1, ok),
    }


def rank_layers(layers: int, rule: str, pp: np.ndarray, vpp: np.ndarray,
                busiest: np.ndarray) -> dict[str, np.ndarray]:
    """Transformer layers on the first, a middle and the last pipeline rank (all its virtual stages).

    ``transformer-embedding`` (Llama 3, arXiv:2407.21783 Sec. 3.3.2: "we reduce one Transformer layer each
    from the first and the last stages"): R = ceil((L + 2) / pp) units per rank, the embedding a unit on the
    first and the output layer a unit on the last, so the first rank holds R - 1 layers, the middle ranks R,
    the last the rest. ``first-last``: :func:`first_last_split`. ``uniform`` and ``parameters``: every rank is
    counted at ``busiest`` (the slowest stage's layers), as the rule does not say which rank holds the most.
    """
    pp = np.asarray(pp, dtype=np.int64)
    busiest = np.asarray(busiest, dtype=float)
    if rule == "first-last":
        split = first_last_split(layers, pp, vpp)
        return {k: split[k].astype(float) for k in ("first", "middle", "last")}
    if rule == "transformer-embedding":
        units = -(-(layers + 2) // np.maximum(pp, 1))
        first = np.where(pp == 1, layers, units - 1)
        middle = np.where(pp > 2, units, first)
        last = np.maximum(layers - first - np.maximum(pp - 2, 0) * units, 0)
        return {"first": first.astype(float), "middle": middle.astype(float),
                "last": np.where(pp == 1, 0, last).astype(float)}
    return {"first": busiest, "middle": busiest, "last": busiest}


def split_ok(layers: int, rule: str, pp: np.ndarray, vpp: np.ndarray) -> np.ndarray:
    """Whether the stack's rule ``rule`` splits ``layers`` over pp x vpp (virtual) stages (module docstring)."""
    stages = np.asarray(pp, dtype=np.int64) * np.maximum(np.asarray(vpp, dtype=np.int64), 1)
    if rule == "uniform":
        return layers % stages == 0
    if rule == "first-last":
        return first_last_split(layers, pp, vpp)["ok"]
    if rule == "transformer-embedding":
        return stages <= layers + 2
    return stages <= layers
