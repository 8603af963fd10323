"""Disaggregated serving: prefill and decode on separate pools of devices, vectorised over plans.

Splitwise (Patel et al. ISCA'24) and DistServe (Zhong et al. OSDI'24) run the prompt (prefill) of a
request on one pool and its generation (decode) on another, so prefill iterations never stretch a
decode step. Of ``devices``, ``P`` prefill devices form ``P / tp_p`` replicas of ``tp_p`` devices and
``D = devices - P`` decode devices form ``D / tp_d`` replicas of ``tp_d``. Terms, per request with
``in`` prompt and ``out`` generated tokens:

- prefill iteration: ``k`` whole prompts (``k x in`` tokens within the chunk budget), or one chunk of
  a longer prompt, through every layer (kernels of :mod:`flopwatt.perf.serving_step`, no decode
  tokens); ``prefill = ceil(in / chunk) x iteration``;
- decode iteration: one token for each of the ``b`` sequences of a replica, no prefill tokens:
  ``TPOT = iteration(b)``;
- KV transfer: the prompt's KV cache (``in x`` KV bytes per token) moves from the prefill replica to
  a decode replica, each rank over its own link, after the prefill and not overlapped with that
  prompt's compute (as DistServe sends it; TensorRT-LLM overlaps a request's transfer only with other
  requests' compute and lists per-layer overlap as future work, tech blog 5; Splitwise overlaps it layer
  by layer, which this model does not credit). The link is the scale-up domain when all ``devices`` fit in one, else the
  scale-out NIC (DistServe places pools by the cluster's bandwidth; ASSUMED: no mixed placement of
  prefill and decode replicas inside one domain across several domains).

Capacities in requests/s (a pool is also bounded by the rate its links ship KV caches):

    prefill = P / tp_p x min(k / prefill, 1 / transfer)
    decode  = D / tp_d x min(b / (TPOT x out), 1 / transfer)
    system  = min(prefill, decode);   output tokens/s = system x out

(TensorRT-LLM's "rate matching", tech blog 5, with whole replicas: the non-bottleneck pool's busy share
is system / its capacity.)

    TTFT = wait + prefill + transfer,   wait = q x iteration at percentile q (mean: half an iteration)

An arriving prompt waits for the running prefill iteration to end: with iterations back to back its
residual wait is uniform over one iteration, so its q-quantile is q x iteration (at or below the
median, half an iteration: the colocated model's half cycle). No queue beyond that is modelled, as in
the colocated model. TPOT at the percentile is read at the tail decode batch ``b + z sqrt(b)``
(M/G/inf, as :func:`flopwatt.perf.serving.evaluate_serving`).

Memory per device: decode as the colocated model (weights / tp_d + b x (in + out) KV, or in + out / 2
with on-demand admission); prefill holds weights / tp_p and the KV of its ``k`` prompts twice
(ASSUMED: double-buffered, one batch being sent while the next is prefilled).
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from flopwatt.perf import collectives as coll
from flopwatt.perf import serving_queue as queue
from flopwatt.perf import serving_step as step
from flopwatt.perf.lengths import Lengths
from flopwatt.perf.serving import (
    EngineIteration,
    ServingHardware,
    Slo,
    kv_bytes_per_token,
    kv_bytes_per_token_layer_on_rank,
)
from flopwatt.specs import ModelSpec

PREFILL_KV_BUFFERS = 2.0
"""ASSUMED: a prefill replica holds the KV of two batches of prompts (one prefilled, one in transfer)."""


@dataclass(frozen=True, slots=True)
class DisaggPlans:
    tp_prefill: np.ndarray
    tp_decode: np.ndarray
    prefill_devices: np.ndarray
    """P; the decode pool gets the rest of the devices."""
    prompts: np.ndarray
    """Whole prompts per prefill iteration (1 when a prompt spans several chunks)."""
    batch: np.ndarray
    """Concurrent sequences per decode replica."""


@dataclass(frozen=True, slots=True)
class DisaggHardware:
    serving: ServingHardware
    kv_link: coll.Tier
    """The link a KV cache crosses between the pools (per device, each rank sending its own shard)."""


@dataclass(frozen=True, slots=True)
class DisaggResult:
    plans: DisaggPlans
    feasible: np.ndarray
    reason: np.ndarray
    """Codes of :data:`flopwatt.perf.serving.REASONS`."""
    metrics: dict[str, np.ndarray]


def prefill_pass(model: ModelSpec, hw: ServingHardware, tp: np.ndarray, prompts: np.ndarray, input_len: float,
                 weight_bytes: float, kv_bytes: float, engine: EngineIteration | None = None
                 ) -> dict[str, np.ndarray]:
    """Components of one prompt-only iteration: ``prompts`` prompts of ``min(in, chunk)`` tokens each
    (the engine's chunk, :class:`flopwatt.perf.serving.EngineIteration`), attending causally over their
    prompt (compute-bound; Splitwise Sec. III-B), sampling one token each."""
    tokens = prompts * (engine or EngineIteration()).chunk(input_len)
    kv = kv_bytes_per_token_layer_on_rank(model, kv_bytes, tp)
    r = hw.rates
    linear, _ = step.linear_time(model, r, tokens, tp, weight_bytes)
    return {"linear_s": linear,
            "prefill_attention_s": step.prefill_attention_time(model, r, tokens, input_len, kv, tp),
            "elementwise_s": step.elementwise_time(model, r, tokens, tp),
            "logits_s": step.logits_time(model, r, prompts, tp, weight_bytes),
            "tp_comm_s": step.tp_comm_time(model, tokens, tp, hw.scale_up, hw.domain_devices)}


def decode_pass(model: ModelSpec, hw: ServingHardware, tp: np.ndarray, batch: np.ndarray,
                lengths: Lengths | tuple[float, float], weight_bytes: float, kv_bytes: float) -> dict[str, np.ndarray]:
    """Components of one decode-only iteration: one token for each of ``batch`` sequences, each reading
    its KV cache of ``in + out / 2`` tokens on average (the length-biased mean for a spread of lengths,
    :mod:`flopwatt.perf.lengths`); no prefill tokens ride along (DistServe Sec. 2.2)."""
    lengths = Lengths.of(lengths)
    kv = kv_bytes_per_token_layer_on_rank(model, kv_bytes, tp)
    r = hw.rates
    linear, _ = step.linear_time(model, r, batch, tp, weight_bytes)
    return {"linear_s": linear,
            "decode_attention_s": step.decode_attention_time(model, r, batch, lengths.slot_context_tokens(), kv, tp),
            "elementwise_s": step.elementwise_time(model, r, batch, tp),
            "logits_s": step.logits_time(model, r, batch, tp, weight_bytes),
            "tp_comm_s": step.tp_comm_time(model, batch, tp, hw.scale_up, hw.domain_devices)}


def kv_transfer_time(model: ModelSpec, kv_bytes: float, input_len: float, tp_prefill: np.ndarray,
                     tp_decode: np.ndarray, link: coll.Tier) -> np.ndarray:
    """Seconds to move one prompt's KV cache between the pools: every rank sends (or receives) the shard
    it holds over its own link in parallel, so the larger per-rank shard of the two sides sets the time."""
    per_rank = np.maximum(kv_bytes_per_token_layer_on_rank(model, kv_bytes, np.asarray(tp_prefill, dtype=float)),
                          kv_bytes_per_token_layer_on_rank(model, kv_bytes, np.asarray(tp_decode, dtype=float)))
    return coll.p2p(input_len * model.layers * per_rank, link)


def _on_unique(fn, a: np.ndarray, b: np.ndarray) -> dict[str, np.ndarray]:
    """``fn(a, b)`` evaluated once per distinct (a, b) pair and broadcast back to every plan."""
    pairs, inverse = np.unique(np.stack([a, b]), axis=1, return_inverse=True)
    out = fn(pairs[0], pairs[1])
    return {k: np.asarray(v)[inverse.ravel()] for k, v in out.items()}


def _pools(model, hw, plans, lengths, element_bytes, z, engine: EngineIteration) -> dict[str, np.ndarray]:
    """Per-replica times of both pools: prefill iteration, decode TPOT at the mean and the tail batch
    (each with the engine's per-iteration CPU time, :class:`flopwatt.perf.serving.EngineIteration`)."""
    inp, _ = lengths
    wb, kvb = element_bytes

    def prefill(tp, k):
        parts = prefill_pass(model, hw.serving, tp, k, inp, wb, kvb, engine)
        return {"prefill_iteration_s": engine.cycle(sum(parts.values()), k),
                **{f"prefill/{n}": v for n, v in parts.items()}}

    def decode(tp, b):
        parts = decode_pass(model, hw.serving, tp, b, lengths, wb, kvb)
        tpot = engine.cycle(sum(parts.values()), b)
        tail = b + z * np.sqrt(b)
        tpot_q = engine.cycle(sum(decode_pass(model, hw.serving, tp, tail, lengths, wb, kvb).values()), tail) \
            if z > 0 else tpot
        return {"tpot_s": tpot, "tpot_slo_percentile_s": tpot_q,
                **{f"decode/{n}": v for n, v in parts.items()}}

    tp_p, tp_d = (np.asarray(x, dtype=float) for x in (plans.tp_prefill, plans.tp_decode))
    k, b = (np.asarray(x, dtype=float) for x in (plans.prompts, plans.batch))
    return {**_on_unique(prefill, tp_p, k), **_on_unique(decode, tp_d, b)}


def _memory(model: ModelSpec, plans: DisaggPlans, lengths, element_bytes, kv_reserve: bool):
    """(prefill, decode) bytes per device: weights of the replica's shard plus the KV it holds."""
    inp, _ = lengths
    tp_p, tp_d = (np.asarray(x, dtype=float) for x in (plans.tp_prefill, plans.tp_decode))
    params = model.total_params() * element_bytes[0]
    kv_p = kv_bytes_per_token_layer_on_rank(model, element_bytes[1], tp_p) * model.layers
    kv_d = kv_bytes_per_token_layer_on_rank(model, element_bytes[1], tp_d) * model.layers
    held = lengths.slot_reserved_tokens() if kv_reserve else lengths.slot_context_tokens()
    return (params / tp_p + PREFILL_KV_BUFFERS * plans.prompts * inp * kv_p,
            params / tp_d + plans.batch * held * kv_d)


def _prefill_queue(lengths: Lengths, rate, cap_p, reps_p, own_ttft, slo: Slo) -> tuple[np.ndarray, np.ndarray]:
    """(share of the matched rate the TTFT target admits, the wait there): each prefill replica is the
    M/G/1 prompt queue of :mod:`flopwatt.perf.serving_queue`, a prompt's service its share of a prefill
    pass (1 / the replica's prompt rate), busy ``rate / cap_p`` at full load."""
    if slo.ttft_s is None:
        return np.ones_like(rate), np.zeros_like(rate)
    mean_s = np.divide(reps_p, cap_p, out=np.full_like(cap_p, np.inf), where=cap_p > 0)
    spread = lengths.input_second_moment() / lengths.input_tokens ** 2
    share = np.divide(rate, cap_p, out=np.zeros_like(rate), where=cap_p > 0)
    return queue.admitted_load(share, mean_s, mean_s ** 2 * spread, own_ttft, slo.ttft_s, slo.percentile / 100.0)


def evaluate_disaggregated(model: ModelSpec, hw: DisaggHardware, devices: int, plans: DisaggPlans, *,
                           lengths: Lengths | tuple[float, float], element_bytes: tuple[float, float],
                           slo: Slo | None = None, engine: EngineIteration | None = None) -> DisaggResult:
    """Throughput, TTFT, TPOT, pool capacities and busy shares of every plan (module docstring);
    infeasible where the pools do not divide their devices, a pool runs out of memory or an SLO fails."""
    lengths = Lengths.of(lengths)
    inp, out = lengths
    slo, engine = slo or Slo(), engine or EngineIteration()
    z = NormalDist().inv_cdf(slo.percentile / 100.0)
    tp_p, tp_d = (np.asarray(x, dtype=float) for x in (plans.tp_prefill, plans.tp_decode))
    p_dev = np.asarray(plans.prefill_devices, dtype=float)
    d_dev = devices - p_dev
    reps_p, reps_d = np.floor(p_dev / tp_p), np.floor(d_dev / tp_d)
    m = _pools(model, hw, plans, lengths, element_bytes, z, engine)
    iteration = m["prefill_iteration_s"]
    prefill = np.ceil(inp / engine.chunk(inp)) * iteration
    transfer = kv_transfer_time(model, element_bytes[1], inp, tp_p, tp_d, hw.kv_link)
    ship = np.divide(1.0, transfer, out=np.full_like(transfer, np.inf), where=transfer > 0)
    cap_p = reps_p * np.minimum(plans.prompts / prefill, ship)
    cap_d = reps_d * np.minimum(plans.batch / (m["tpot_s"] * out), ship)
    rate = np.minimum(cap_p, cap_d)
    ttft = 0.5 * iteration + prefill + transfer
    ttft_q = ttft + (max(0.5, slo.percentile / 100.0) - 0.5) * iteration
    load, wait = _prefill_queue(lengths, rate, cap_p, reps_p, ttft_q, slo)
    rate = rate * load
    mem_p, mem_d = _memory(model, plans, lengths, element_bytes, engine.kv_reserve)
    meets = load > 0  # the TTFT target, queue included (load 0: missed even when idle)
    if slo.tpot_s is not None:
        meets &= m["tpot_slo_percentile_s"] <= slo.tpot_s
    bad_split = (reps_p < 1) | (reps_d < 1) | (reps_p * tp_p != p_dev) | (reps_d * tp_d != d_dev)
    limit_p, limit_d = (engine.memory.kv_limit_bytes(model, hw.serving.memory_bytes, tp) for tp in (tp_p, tp_d))
    reason = np.select([bad_split, (mem_p > limit_p) | (mem_d > limit_d), ~meets], [1, 2, 3], 0)
    tokens = rate * out
    busy_p = np.divide(rate, cap_p, out=np.zeros_like(rate), where=cap_p > 0)
    busy_d = np.divide(rate, cap_d, out=np.zeros_like(rate), where=cap_d > 0)
    metrics = {"output_tokens_per_s": tokens, "tokens_per_s_per_device": tokens / devices,
               "input_tokens_per_s": rate * inp,
               "total_tokens_per_s": tokens * (1 + inp / out), "requests_per_s": rate,
               "prefill_capacity_requests_per_s": cap_p, "decode_capacity_requests_per_s": cap_d,
               "prefill_busy": busy_p, "decode_busy": busy_d, "ttft_s": ttft, "ttft_slo_percentile_s": ttft_q + wait,
               "load_share": load, "ttft_queue_wait_s": wait,
               "prefill_s": prefill, "kv_transfer_s": transfer, "prefill_devices": p_dev, "decode_devices": d_dev,
               "kv_transfer_bytes_per_request": np.full_like(rate, inp * kv_bytes_per_token(model, element_bytes[1])),
               "replicas_prefill": reps_p, "replicas_decode": reps_d, "concurrent_streams": reps_d * plans.batch,
               "memory_prefill_bytes": mem_p, "memory_decode_bytes": mem_d,
               "memory_bytes": np.maximum(mem_p, mem_d), **m}
    return DisaggResult(plans=plans, feasible=reason == 0, reason=reason.astype(np.int8), metrics=metrics)
