"""Expert-parallel communication per layer and micro-batch (vectorised; context parallelism: perf/context_parallel).

Expert parallelism (GShard, Lepikhin et al. 2020; DeepSeek-V3 Sec. 3.2): each MoE layer sends every
token's hidden state to the devices holding its top-k experts (dispatch) and brings the results
back (combine): two All-to-Alls forward, two backward, two more when the layer is recomputed. A
device sends tokens_local / tp x topk x hidden x bytes per All-to-All (the share for its own experts
stays local). Experts are whole on each device (expert tensor parallelism 1), and Megatron-Core's expert
rank grid (order tp-ep-dp-pp with expert tp = etp and no cp axis; megatron/core/parallel_state.py
``expert_decoder_rank_generator``) then puts EP ranks on consecutive devices: min(domain, ep) of them
share a scale-up domain (MoE parallel folding: EP may span the TP and CP ranks of the dense layers). A
rail-only fabric forwards cross-rail bytes through that domain (Wang et al. 2023).

Also here: the routed experts' gradient reduction over their expert-data-parallel group (its ranks sit ep
devices apart, so with EP filling a node it all crosses the network), and the floor a dropless MoE layer's
host synchronisation puts on its time (the host's kernel-issue time, ``[moe_host_issue]``).
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np

from flopwatt import catalog
from flopwatt.errors import InputError
from flopwatt.perf import collectives as coll
from flopwatt.perf.compute import LayerTimes
from flopwatt.perf.plans import Plans


def ep_layer_time(ctx, plans: Plans, seq_local: np.ndarray, moe_compute: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(exposed EP time per MoE layer per micro-batch, bytes per device) incl. backward and recompute.

    A token's copies to experts on other nodes cross the network; with node-limited routing at most
    ``max_nodes_per_token`` copies do (one per node), the rest fan out over the scale-up domain.
    """
    model, spec = ctx.model, ctx.model.moe
    tokens = plans.micro_batch * seq_local / plans.tp
    domain = ctx.system.scale_up_domain_devices
    per_domain = np.clip(domain, 1, plans.ep).astype(float)
    remote_copies = spec.topk * (plans.ep - per_domain) / plans.ep
    if spec.max_nodes_per_token is not None:
        remote_copies = np.minimum(remote_copies, spec.max_nodes_per_token)
    local_copies = spec.topk - remote_copies
    dispatch_bytes = 1.0 if ctx.stack.ep_dispatch_fp8 else ctx.rates.act_bytes
    passes = 2 + plans.recompute_weights(ctx.stack.selective_recompute)[0]  # fwd, bwd, recomputed fwd
    out = ctx.out_for(np.ceil(plans.ep / per_domain))
    rail_only = ctx.fabric is not None and ctx.fabric.topology.kind == "rail-only"
    total = np.zeros(len(plans))
    moved = np.zeros(len(plans))
    for element_bytes in (dispatch_bytes, ctx.rates.act_bytes):  # dispatch, then combine
        remote = tokens * remote_copies * model.hidden * element_bytes
        local = tokens * local_copies * model.hidden * element_bytes
        t = np.maximum(local / ctx.up.bus_bandwidth(local + 1), remote / out.bus_bandwidth(remote + 1))
        t += (plans.ep - 1) * np.maximum(ctx.up.latency_s, out.latency_s)
        if rail_only:  # forwarding hop over the scale-up domain (Wang et al. 2023)
            t += remote / ctx.up.bus_bandwidth(remote + 1)
        total += passes * t
        moved += passes * remote
    total = np.where(plans.ep > 1, total, 0.0)
    if ctx.stack.ep_overlap:
        total = ctx.rates.exposed(total, moe_compute)
    return total, np.where(plans.ep > 1, moved, 0.0)


def routed_params_per_device(model, plans: Plans, layers: np.ndarray) -> np.ndarray:
    """Routed-expert parameters a device holds for ``layers`` layers of its stage (whole experts, E / ep each)."""
    if model.moe is None:
        return np.zeros(len(plans))
    return layers * model.moe_layers * model.routed_expert_params() / model.layers / plans.ep


def expert_dp_time(ctx, plans: Plans, kind: str, nbytes: np.ndarray) -> np.ndarray:
    """One collective (``kind``: ar, ag, rs) of ``nbytes`` of routed-expert state over the expert-data-parallel
    group (s, before overlap).

    Megatron-Core's expert rank grid (order tp-ep-dp-pp, expert tp 1; parallel_state.py
    ``expert_decoder_rank_generator``) makes the EP ranks consecutive, so the edp = tp x cp x dp / ep replicas of
    an expert sit ep devices apart: only domain / ep of them share a scale-up domain. When EP fills the domain,
    every replica is on another node and the whole expert gradient crosses the scale-out network, with no
    reduction inside the domain first as the dense parameters (replicated on every device of a node) get.
    """
    edp = np.maximum(plans.tp * plans.cp * plans.dp / plans.ep, 1.0)
    per_domain = np.clip(ctx.system.scale_up_domain_devices // plans.ep, 1, edp)
    out = ctx.out_for(np.ceil(edp / per_domain))
    return np.where(edp > 1, coll.hierarchical(kind, edp, per_domain, nbytes, ctx.up, out), 0.0)


@functools.cache
def moe_host_issue() -> dict:
    """``[moe_host_issue]`` of the built-in efficiency.toml: host time to issue one MoE layer forward (s) and the
    backward's multiple of it (for the stacks whose dispatcher synchronises with the host: moe_dispatch_host_sync)."""
    entry = catalog.read_toml("efficiency.toml", "catalog efficiency.toml").get("moe_host_issue", {})
    try:
        return {"forward_s": float(entry["forward_s"]), "backward_factor": float(entry["backward_factor"])}
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError("catalog efficiency.toml moe_host_issue", "forward_s and backward_factor",
                         str(exc)) from exc


def host_issue_floor(ctx, plans: Plans, moe: LayerTimes, ep_time: np.ndarray) -> LayerTimes:
    """An MoE layer that synchronises with the host cannot run faster than the host issues its kernels.

    Dropless token dispatch needs the tokens-per-expert counts on the host before the All-to-All (Megatron-Core
    token_dispatcher.py: ``cuda_sync_point = "before_ep_alltoall"`` when ep > 1 or several local experts), so the
    host cannot queue work ahead across an MoE layer: its forward takes max(device time, host issue time H), its
    backward max(device time, b x H) (``[moe_host_issue]``); padded (capacity-factor) routing needs no sync. The
    device time includes the layer's EP All-to-Alls (``ep_time``, spread evenly over its passes).
    """
    spec, rule = ctx.model.moe, moe_host_issue()
    if not ctx.stack.moe_dispatch_host_sync or spec.capacity_factor > 1:
        return moe
    ep_pass = ep_time / (2 + plans.recompute_weights(ctx.stack.selective_recompute)[0])
    forward = np.maximum(moe.forward + ep_pass, rule["forward_s"]) - ep_pass
    backward = np.maximum(moe.backward + ep_pass, rule["backward_factor"] * rule["forward_s"]) - ep_pass
    return dataclasses.replace(moe, forward=forward, backward=backward, recompute_full=forward)
