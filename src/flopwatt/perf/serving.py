"""LLM serving under continuous batching, vectorised over plans (tp x ep x pp replicas x batch).

One replica holds the weights once (tp x ep x pp devices) and serves ``batch`` sequences at a time;
``ep`` > 1 (MoE models only) splits it into ``ep`` attention groups of ``tp`` devices that share the
experts (expert parallelism, :mod:`flopwatt.perf.serving_ep`, which also gives the weights per device).
Each iteration generates one token for every sequence (decode) and, in the steady state of
continuous batching with chunked prefill (Orca, Yu et al. OSDI'22; Sarathi-Serve, Agrawal et al.
OSDI'24), prefills ``batch x input_len / output_len`` prompt tokens for the sequences that replace
finished ones, in the same pass through the layers (kernels in :mod:`flopwatt.perf.serving_step`).
With ``pp`` stages the batch runs as ``pp`` micro-batches so every stage stays busy; a sequence
gains one token per full cycle of the pipeline:

    TPOT = pp x stage(batch / pp);   output tokens/s = replicas x batch / TPOT
    TTFT = TPOT / 2 + ceil(in / chunk) x TPOT + in x (marginal time of a prefill token)
         (+ the wait for earlier prompts' prefill under a TTFT target, :mod:`flopwatt.perf.serving_queue`)

KV cache per token: 2 x layers x kv_heads x head_dim x bytes (MHA/GQA); MLA caches the latent and the
shared RoPE key, (kv_lora_rank + rope_dim) x layers x bytes (DeepSeek-V2 Sec. 2.1.2). Memory per
device: weights / (tp pp) (at ep = 1) + batch / ep x (in + out) x KV per device when the engine
reserves a sequence's whole KV at admission (TensorRT-LLM's default), batch / ep x (in + out / 2)
when it grows with the tokens (vLLM), within the usable memory. For request sets with a spread of
lengths, ``in + out / 2`` and ``in + out`` become the length-biased means of :mod:`flopwatt.perf.lengths`.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from flopwatt.perf import collectives as coll
from flopwatt.perf import serving_balance as balance
from flopwatt.perf import serving_ep as ep_par
from flopwatt.perf import serving_queue as queue
from flopwatt.perf import serving_step as step
from flopwatt.perf.compute import DeviceRates
from flopwatt.perf.engine_memory import EngineMemory
from flopwatt.perf.lengths import Lengths
from flopwatt.perf.serving_slo import _prompt_queue, _request_tpot_quantile
from flopwatt.specs import ModelSpec

BYTES = {"fp32": 4.0, "bf16": 2.0, "fp16": 2.0, "fp8": 1.0, "int8": 1.0, "fp4": 0.5 + 1.0 / 16, "int4": 0.5 + 2.0 / 128}
"""Bytes per weight (and KV) element, block scales included: NVFP4 stores one FP8 (E4M3) scale per 16
4-bit values (NVIDIA, "Introducing NVFP4 for Efficient and Accurate Low-Precision Inference", 2025);
INT4 weight-only quantisation one FP16 scale per group of 128 (AWQ, Lin et al. MLSys 2024, group size
128). FP8 uses per-tensor scales, a negligible overhead."""

PREFILL_CHUNK_TOKENS = 8192
"""Tokens one iteration may carry when no engine profile says otherwise (TensorRT-LLM's default
max_num_tokens = 8192, as its runtime logs print: 'TRTGptModel maxNumTokens: 8192'); a longer prompt
is prefilled in chunks over several."""


@dataclass(frozen=True, slots=True)
class EngineIteration:
    """What a serving engine adds to or changes in one iteration (catalog/engines.toml, each sourced there).

    ``chunk_tokens``: prompt tokens one iteration prefills for one request (the engine's token budget
    with chunked prefill); None = the whole prompt in one iteration (chunked prefill off).
    ``kv_reserve``: KV allocation (:func:`evaluate_serving`).
    ``overhead_s`` + ``overhead_per_sequence_s`` x sequences: CPU time per iteration (scheduling, input
    preparation, sampling, output processing) where a published profile gives it, the second part growing with
    the sequences one scheduler steps; with ``overhead_hidden`` (the scheduler prepares iteration i+1 while the
    GPU runs iteration i) an iteration takes max(GPU, CPU), else GPU + CPU."""

    chunk_tokens: float | None = PREFILL_CHUNK_TOKENS
    overhead_s: float = 0.0
    overhead_per_sequence_s: float = 0.0
    overhead_hidden: bool = False
    overlap_max_pp: int | None = None
    """Deepest pipeline the overlap scheduler runs with; deeper plans expose the CPU time (None: any depth)."""
    kv_reserve: bool = True
    """A sequence's whole KV (prompt + output) is reserved at admission (:func:`evaluate_serving`)."""
    redundant_experts: int = 0
    """Extra copies of busy routed experts over the expert-parallel ranks (EPLB), held in memory."""
    prefill_alone: bool = False
    """Prompts are prefilled in steps of their own while every decode waits (vLLM's V0 scheduler without
    chunked prefill), not in the decode iteration's pass: :func:`_iteration`."""
    token_budget: float | None = None
    """Tokens one scheduled step may carry (the engine's max_num_tokens); bounds a prefill-alone step."""
    graph_batch_sizes: tuple[int, ...] | None = None
    """Batch sizes of the captured CUDA graphs a decode-only iteration is padded up to (TensorRT-LLM
    ``cuda_graph_config`` with ``enable_padding``): :func:`_graph_padding`; None = no padding."""
    max_sequences: float | None = None
    """Most sequences one scheduler runs at once (max_num_seqs, max_batch_size): under a TTFT target, arrivals
    finding every slot taken wait for one (:mod:`flopwatt.perf.serving_slots`); None = no cap but memory."""
    memory: EngineMemory = EngineMemory()
    """What the engine keeps out of the KV cache (:mod:`flopwatt.perf.engine_memory`); the default fills
    :data:`flopwatt.perf.engine_memory.USABLE_MEMORY` of the device with weights and KV."""

    def chunk(self, input_len: float) -> float:
        """Prompt tokens prefilled per iteration for a prompt of ``input_len`` tokens."""
        return float(input_len) if self.chunk_tokens is None else min(float(input_len), float(self.chunk_tokens))

    def cycle(self, gpu_s, sequences=0.0, pp=1.0):
        """Wall time of an iteration whose GPU work takes ``gpu_s`` while one scheduler steps ``sequences``, in a
        plan of ``pp`` pipeline stages (class docstring)."""
        cpu_s = self.overhead_s + self.overhead_per_sequence_s * np.asarray(sequences, dtype=float)
        if self.overhead_s <= 0.0 and self.overhead_per_sequence_s <= 0.0:
            return gpu_s
        if not self.overhead_hidden:
            return gpu_s + cpu_s
        if self.overlap_max_pp is None:
            return np.maximum(gpu_s, cpu_s)
        return np.where(np.asarray(pp) <= self.overlap_max_pp, np.maximum(gpu_s, cpu_s), gpu_s + cpu_s)


def kv_bytes_per_token(model: ModelSpec, kv_bytes: float) -> float:
    """KV-cache bytes one token occupies across all layers."""
    if model.mla is not None:
        return (model.mla.kv_lora_rank + model.mla.qk_rope_head_dim) * model.layers * kv_bytes
    return 2.0 * model.layers * model.kv_heads * model.head_size * kv_bytes


@dataclass(frozen=True, slots=True)
class ServingPlans:
    tp: np.ndarray
    pp: np.ndarray
    batch: np.ndarray
    """Concurrent sequences per replica."""
    ep: np.ndarray | None = None
    """Attention groups per replica, over which the MoE experts are spread (expert parallelism,
    :mod:`flopwatt.perf.serving_ep`); None = 1 everywhere."""
    overlap: np.ndarray | None = None
    """Two micro-batches per stage pass whose expert All-to-Alls overlap each other's compute
    (:func:`_iteration`); None = off everywhere."""


@dataclass(frozen=True, slots=True)
class ServingResult:
    plans: ServingPlans
    feasible: np.ndarray
    reason: np.ndarray
    metrics: dict[str, np.ndarray]


REASONS = ("ok", "devices", "oom", "slo")


@dataclass(frozen=True, slots=True)
class Slo:
    """Latency targets (None = none) met by ``percentile`` % of requests."""

    ttft_s: float | None = None
    tpot_s: float | None = None
    percentile: float = 50.0


@dataclass(frozen=True, slots=True)
class ServingHardware:
    rates: DeviceRates
    scale_up: coll.Tier
    memory_bytes: float
    """Memory one device offers for weights and KV cache (HBM, or SRAM for chips without HBM)."""
    scale_out: coll.Tier | None = None
    """Each device's NIC, which expert All-to-Alls use beyond the scale-up domain (None: scale-up only)."""
    domain_devices: int | None = None
    """Devices per scale-up domain (None: a replica never leaves it)."""
    layer_fixed_s: float = 0.0
    """Fixed time a forward pass spends per layer on one device, however few its tokens (catalog ``[layer_pass]``):
    :func:`_stage`."""


def kv_bytes_per_token_layer_on_rank(model: ModelSpec, kv_bytes: float, tp: np.ndarray) -> np.ndarray:
    """KV bytes per token per layer on one TP rank: GQA/MHA split their KV heads over TP (replicated
    beyond ``kv_heads`` ranks); the MLA latent is shared by all heads, so every rank keeps all of it."""
    per_layer = kv_bytes_per_token(model, kv_bytes) / model.layers
    if model.mla is not None:
        return np.full_like(tp, per_layer, dtype=float)
    return per_layer / np.minimum(tp, model.kv_heads)


def _cycle_time(model: ModelSpec, hw: ServingHardware, tp, pp, batch, lengths, element_bytes,
                extra_prompt: float = 0.0) -> dict:
    """:func:`_iteration` of plans without expert parallelism (ep = 1)."""
    tp = np.asarray(tp, dtype=float)
    return _iteration(model, hw, (tp, pp, np.ones_like(tp)), batch, lengths, element_bytes, extra_prompt)


def _iteration(model: ModelSpec, hw: ServingHardware, shape: tuple, batch, lengths, element_bytes,
               extra_prompt: float = 0.0, overlap: np.ndarray | None = None) -> dict:
    """Time for every sequence of a replica to gain one token: ``pp`` stage passes of ``batch / pp``
    sequences each (micro-batches keep every stage busy), components per stage pass. ``shape`` =
    (tp, pp, ep): each of the ``ep`` attention groups runs ``1 / ep`` of a micro-batch and all their tokens
    meet at the experts. ``extra_prompt`` adds one prompt chunk to one group's micro-batch (the cycle a
    newly arrived request is prefilled in); that group then sets the pace of the iteration.

    Where ``overlap``, a stage pass runs as two halves whose expert All-to-Alls hide under each other's
    compute (DeepSeek-V3 Sec. 3.4.2 decoding; SGLang's two-batch overlap): the pass takes
    ``max(compute of both halves, All-to-Alls of both halves)``, each half streaming the weights again,
    and ``ep_all_to_all_s`` is the exposed part. The new prompt's chunk is split over the halves.

    An engine that runs prompts in steps of their own takes :func:`_iteration_prefill_alone` instead
    (:func:`evaluate_serving`; the All-to-All overlap is then not applied). An engine that pads its decode-only
    iterations to captured CUDA-graph batch sizes adds :func:`_graph_padding`."""
    tp, pp, ep = shape
    micro = batch / pp
    parts, streamed, prompt_tokens = _stage(model, hw, shape, micro, lengths, element_bytes, extra_prompt)
    if overlap is not None and np.any(overlap):
        halves, half_streamed, _ = _stage(model, hw, shape, micro / 2.0, lengths, element_bytes, extra_prompt / 2.0)
        compute = 2.0 * sum(v for k, v in halves.items() if k != "ep_all_to_all_s")
        hidden = {**{k: 2.0 * v for k, v in halves.items()},
                  "ep_all_to_all_s": np.maximum(2.0 * halves["ep_all_to_all_s"] - compute, 0.0)}
        parts = {k: np.where(overlap, hidden[k], v) for k, v in parts.items()}
        streamed = np.where(overlap, 2.0 * half_streamed, streamed)
    stage = sum(parts.values())
    return {"cycle_s": pp * stage, "prefill_tokens": prompt_tokens * pp,
            "weights_streamed_bytes": streamed, **{k: pp * v for k, v in parts.items()}}


def _graph_padding(model: ModelSpec, hw: ServingHardware, shape: tuple, batch, lengths, element_bytes,
                   engine: EngineIteration, iteration: dict) -> dict:
    """``iteration`` (:func:`_iteration`) plus what CUDA-graph padding adds on average. A decode-only iteration
    replays the graph of the next captured batch size (:func:`flopwatt.perf.serving_step.graph_padded_batch`); its
    empty slots run the GEMMs, element-wise kernels, logits and collectives like real rows, but hold no KV
    (TensorRT-LLM pads with dummy requests), so the decode attention does not grow. Iterations that carry a prompt
    run eagerly, unpadded: the padded slots cost ``share x (decode pass at padded rows - decode pass at the real
    rows)`` per stage pass, ``share`` the decode-only share of iterations
    (:func:`flopwatt.perf.serving_step.decode_only_share`; 1 in a decode-only pool, whose requests arrive
    prefilled)."""
    tp, pp, ep = shape
    lengths = Lengths.of(lengths)
    micro = batch / pp
    seqs = micro / ep
    padded = ep * step.graph_padded_batch(seqs, engine.graph_batch_sizes)
    real, _, _ = _stage(model, hw, shape, micro, lengths, element_bytes, 0.0, "decode")
    pad, _, _ = _stage(model, hw, shape, padded, lengths, element_bytes, 0.0, "decode")
    chunks = np.ceil(lengths.input_tokens / engine.chunk(lengths.input_tokens))
    share = 1.0 if lengths.prefilled else step.decode_only_share(seqs, lengths.output_tokens, chunks)
    extra = {k: pp * share * np.maximum(pad[k] - real[k], 0.0) for k in real if k != "decode_attention_s"}
    out = {k: v + extra[k] if k in extra else v for k, v in iteration.items()}
    out["cycle_s"] = iteration["cycle_s"] + sum(extra.values())
    return out


def _iteration_prefill_alone(model: ModelSpec, hw: ServingHardware, shape: tuple, batch, lengths, element_bytes,
                             extra_prompt: float, engine: EngineIteration) -> dict:
    """:func:`_iteration` for an engine that never mixes prompts into a decode step (vLLM V0 without chunked
    prefill: its scheduler "prioritizes prefills and doesn't batch prefill and decode to the same batch",
    vLLM docs, Performance and Tuning, Chunked Prefill, as quoted in vllm-project/vllm PR #7874). The decodes
    of the batch then wait while the prompts run alone, so a cycle is a decode-only pass plus the prompt
    steps that admit the sequences replacing finished ones (Little's law: ``micro x E[in] / E[o]`` tokens per
    cycle). The prompts arriving in one cycle share a step, which holds at least one whole prompt and at most
    the engine's token budget, so ``tokens / step size`` steps run per cycle, each streaming the weights. A
    new request's own prompt (``extra_prompt``) is one more step of its own."""
    tp, pp, ep = shape
    micro = batch / pp
    lengths = Lengths.of(lengths)
    decode, streamed, _ = _stage(model, hw, shape, micro, lengths, element_bytes, 0.0, "decode")
    steady = micro * lengths.prompt_tokens_per_output_token()
    budget = np.inf if engine.token_budget is None else float(engine.token_budget)
    step_tokens = np.clip(steady, min(lengths.input_tokens, budget), budget)
    steps = np.divide(steady, step_tokens, out=np.zeros_like(step_tokens), where=step_tokens > 0)
    prefill, p_streamed, _ = _stage(model, hw, shape, step_tokens, lengths, element_bytes, 0.0, "prompts")
    parts = {k: v + steps * prefill[k] for k, v in decode.items()}
    streamed = streamed + steps * p_streamed
    if np.any(np.asarray(extra_prompt) > 0):
        own, own_streamed, _ = _stage(model, hw, shape, np.full_like(micro, float(extra_prompt)), lengths,
                                      element_bytes, 0.0, "prompts")
        parts = {k: v + own[k] for k, v in parts.items()}
        streamed = streamed + own_streamed
    stage = sum(parts.values())
    return {"cycle_s": pp * stage, "prefill_tokens": (steady + extra_prompt) * pp,
            "weights_streamed_bytes": streamed, **{k: pp * v for k, v in parts.items()}}


def _stage(model: ModelSpec, hw: ServingHardware, shape: tuple, micro, lengths, element_bytes,
           extra_prompt: float, mode: str = "mixed") -> tuple[dict, np.ndarray, np.ndarray]:
    """(components of one stage pass of ``micro`` sequences, weight bytes it streams per device, prompt
    tokens it prefills) (:func:`_iteration`). ``mode`` "decode": a decode-only pass (no prompt tokens ride
    it); "prompts": a prompt-only pass of ``micro`` prompt tokens (no decoding sequences). Each of the stage's
    layers also takes ``hw.layer_fixed_s`` however few its tokens (``layer_fixed_s``): the gaps and the fill and
    drain of its kernels, which the rooflines of :mod:`flopwatt.perf.serving_step` leave out."""
    tp, pp, ep = shape
    lengths = Lengths.of(lengths)
    inp, out = lengths
    weight_bytes, kv_bytes = element_bytes
    steady = micro * lengths.prompt_tokens_per_output_token()  # prompts of the sequences replacing finished ones
    if mode == "decode":
        steady = np.zeros_like(micro)
    elif mode == "prompts":
        steady, micro = micro, np.zeros_like(micro)
    seqs = micro / ep
    prompt = steady / ep + extra_prompt
    tokens = seqs + prompt
    routed = micro + (steady + extra_prompt)  # every group's tokens reach the experts
    kv = kv_bytes_per_token_layer_on_rank(model, kv_bytes, tp)
    r = hw.rates
    linear, streamed = step.linear_time(model, r, tokens, tp, weight_bytes, ep, routed)
    tiers = (hw.scale_up, hw.scale_out or hw.scale_up)
    quantized = r.linear_peak_flops_per_s is not None and r.linear_peak_flops_per_s > r.peak_flops_per_s
    parts = {
        "linear_s": linear / pp,
        "decode_attention_s": step.decode_attention_time(model, r, seqs, lengths.slot_context_tokens(), kv, tp) / pp
        * balance.busiest_group_factor(seqs, ep, lengths.slot_context_cv()),  # the busiest group's KV sets the pace
        "prefill_attention_s": step.prefill_attention_time(model, r, prompt, lengths.prompt_attention_tokens(), kv,
                                                           tp) / pp,
        "elementwise_s": step.elementwise_time(model, r, tokens, tp) / pp,
        "logits_s": step.logits_time(model, r, seqs, tp, weight_bytes),
        "tp_comm_s": step.tp_comm_time(model, tokens, tp, hw.scale_up, hw.domain_devices) / pp,
        "pp_comm_s": np.where(pp > 1, coll.p2p(step.ACT_BYTES * model.hidden * tokens, hw.scale_up), 0.0),
        "ep_all_to_all_s": ep_par.all_to_all_time(model, tokens, tp, ep, tiers, hw.domain_devices, quantized) / pp,
        "layer_fixed_s": model.layers * hw.layer_fixed_s / pp + np.zeros_like(tokens, dtype=float),
    }
    return parts, streamed / pp, steady + extra_prompt


def _kv_budget(model: ModelSpec, hw: ServingHardware, shape: tuple, lengths: Lengths,
               element_bytes: tuple[float, float], engine: EngineIteration) -> tuple:
    """(weight bytes per device, KV bytes one sequence holds on a device, the device's KV limit) of each plan
    shape ``(tp, pp, ep)`` (:func:`evaluate_serving`: a reserving engine holds a slot's whole reservation)."""
    tp, pp, ep = shape
    weights = ep_par.weights_per_device(model, element_bytes[0], tp, ep, pp, engine.redundant_experts)
    kv_token = kv_bytes_per_token_layer_on_rank(model, element_bytes[1], tp) * model.layers / pp
    held = lengths.slot_reserved_tokens() if engine.kv_reserve else lengths.slot_context_tokens()
    return weights, held * kv_token, engine.memory.kv_limit_bytes(model, hw.memory_bytes, tp, pp)


def kv_batch_limit(model: ModelSpec, hw: ServingHardware, shape: tuple, *, lengths: Lengths | tuple[float, float],
                   element_bytes: tuple[float, float], slo: Slo = Slo(),
                   engine: EngineIteration | None = None) -> np.ndarray:
    """Most sequences per replica whose KV fits beside the weights in each shape ``(tp, pp, ep)``, at the SLO's
    tail batch ``b + z sqrt(b)`` where a percentile is set (:func:`evaluate_serving`'s memory check): with
    ``K = ep (limit - weights) / kv per sequence``, ``sqrt(b) = (-z + sqrt(z^2 + 4 K)) / 2``; 0 where the weights
    alone overflow."""
    engine = engine or EngineIteration()
    shape = tuple(np.asarray(x, dtype=float) for x in shape)
    weights, per_sequence, limit = _kv_budget(model, hw, shape, Lengths.of(lengths), element_bytes, engine)
    room = shape[2] * np.maximum(limit - weights, 0.0) / per_sequence
    z = max(NormalDist().inv_cdf(slo.percentile / 100.0), 0.0)
    exact = ((np.sqrt(z * z + 4.0 * room) - z) / 2.0) ** 2
    return np.floor(exact * (1.0 - 1e-12))  # a limit that rounds onto a whole batch from above is not taken over it


def evaluate_serving(model: ModelSpec, hw: ServingHardware, devices: int, plans: ServingPlans, *,
                     lengths: Lengths | tuple[float, float], element_bytes: tuple[float, float],
                     slo: Slo = Slo(), engine: EngineIteration | None = None) -> ServingResult:
    """Throughput, TTFT, TPOT and memory of every plan; infeasible where memory, devices or SLOs fail.

    ``element_bytes`` = (weight, KV) bytes per element. SLOs apply at ``slo.percentile`` of requests under
    Poisson arrivals: the sequences in service are then Poisson distributed (M/G/inf, whatever the
    service time), so the batch a request shares its decode with reaches ``b + z sqrt(b)`` (normal
    approximation, z the standard normal quantile) and its TPOT and TTFT are read at that batch; the KV
    memory must hold that batch too (a request finding no free KV blocks waits, its TTFT unbounded). Under a
    TTFT target the prompts also wait for a sequence slot where the engine caps its batch
    (:mod:`flopwatt.perf.serving_slots`) and queue for prefill (:mod:`flopwatt.perf.serving_queue`): throughput is
    the share of full load (``load_share``) whose quantile waits plus own TTFT meet the target.

    ``engine.kv_reserve``: a sequence is admitted only with KV blocks for its prompt and all its output
    (TensorRT-LLM's default capacity policy GUARANTEED_NO_EVICT); otherwise blocks are taken as tokens
    arrive (vLLM), so a sequence holds its prompt and half its output on average. With a spread of
    lengths (:class:`flopwatt.perf.lengths.Lengths`) the slots are length-biased: long generations
    hold their slots longer, so a slot's mean context and reservation exceed those of a mean request.

    ``engine``: KV allocation, prompt chunk and any per-iteration CPU time of the serving engine
    (:class:`EngineIteration`; None = its defaults).
    """
    engine = engine or EngineIteration()
    lengths = Lengths.of(lengths)
    tp, pp, b = (np.asarray(x, dtype=float) for x in (plans.tp, plans.pp, plans.batch))
    ep = np.ones_like(tp) if plans.ep is None else np.asarray(plans.ep, dtype=float)
    shape = (tp, pp, ep)
    inp, out = lengths
    n = tp * ep * pp
    replicas = np.floor(devices / n)
    weights, per_sequence, limit = _kv_budget(model, hw, shape, lengths, element_bytes, engine)
    memory = weights + b / ep * per_sequence  # an attention group keeps the KV of its own sequences
    ov = None if plans.overlap is None else np.asarray(plans.overlap, dtype=bool)

    def run(batch, extra_prompt: float = 0.0) -> dict:
        if engine.prefill_alone:
            return _iteration_prefill_alone(model, hw, shape, batch, lengths, element_bytes, extra_prompt, engine)
        it = _iteration(model, hw, shape, batch, lengths, element_bytes, extra_prompt, ov)
        if engine.graph_batch_sizes:
            it = _graph_padding(model, hw, shape, batch, lengths, element_bytes, engine, it)
        return it

    mean = run(b)
    z = NormalDist().inv_cdf(slo.percentile / 100.0)
    tail = mean if z <= 0 else run(b + z * np.sqrt(b))
    # one scheduler per attention group steps its own sequences (engines.toml per_sequence_overhead_s)
    tpot, tpot_q = (engine.cycle(mean["cycle_s"], b / ep, pp),
                    engine.cycle(tail["cycle_s"], (b + max(z, 0.0) * np.sqrt(b)) / ep, pp))
    # a new prompt waits half a cycle for the next iteration, then rides ceil(inp / chunk) cycles, each
    # longer than a plain one by its chunk's share of the marginal prefill time
    chunk = engine.chunk(inp)
    chunks = np.ceil(inp / chunk)
    budget_floor = None
    piece = np.full_like(b, np.inf if engine.chunk_tokens is None else float(engine.chunk_tokens))
    if engine.token_budget is not None and engine.chunk_tokens is not None and not engine.prefill_alone:
        # chunked prompts fill the iteration budget the decodes of their micro-batch leave (serving_queue)
        chunks = np.maximum(chunks, queue.budget_prompt_cycles(inp, b / (ep * pp), engine.token_budget))
        budget_floor = queue.leftover_budget_s_per_token(tpot, b / (ep * pp), engine.token_budget)
        piece = np.minimum(piece, np.maximum(engine.token_budget - b / (ep * pp), 1.0))
    chunk_cycle = engine.cycle(run(b, chunk)["cycle_s"], b / ep, pp)
    ttft = 0.5 * tpot + chunks * tpot + (chunk_cycle - tpot) * inp / chunk
    if z <= 0:
        ttft_q = ttft
    else:
        tail_chunk = engine.cycle(run(b + z * np.sqrt(b), chunk)["cycle_s"], (b + z * np.sqrt(b)) / ep, pp)
        ttft_q = 0.5 * tpot_q + chunks * tpot_q + (tail_chunk - tpot_q) * inp / chunk
        tpot_q = _request_tpot_quantile(lengths, (tpot, tpot_q, chunk_cycle), chunk, mean["prefill_tokens"], z,
                                        slo.percentile, piece)
    per_token = queue.prompt_service_s_per_token(chunk_cycle - tpot, chunk, budget_floor, pp)
    load, wait = _prompt_queue(lengths, tpot, per_token, mean["prefill_tokens"], ttft_q, slo, pp,
                               None if engine.max_sequences is None else (b / (ep * pp), engine.max_sequences))
    tpot_slo = slo.tpot_s
    meets = load > 0  # the TTFT target, queue included (load 0: missed even when idle)
    if tpot_slo is not None:
        meets &= tpot_q <= tpot_slo
    # the KV of the tail batch must fit too, else the extra requests wait for blocks and miss their TTFT
    peak = memory if z <= 0 else memory + z * np.sqrt(b) / ep * per_sequence
    reason = np.select([replicas < 1, peak > limit, ~meets], [1, 2, 3], 0)
    throughput = replicas * b / tpot * load
    metrics = {"output_tokens_per_s": throughput, "tokens_per_s_per_device": throughput / (replicas * n),
               "input_tokens_per_s": throughput * lengths.prompt_tokens_per_output_token(),
               "total_tokens_per_s": throughput * (1 + lengths.prompt_tokens_per_output_token()),
               "tpot_s": tpot, "ttft_s": ttft,
               "tpot_slo_percentile_s": tpot_q, "ttft_slo_percentile_s": ttft_q + wait, "memory_bytes": memory,
               "replicas": replicas, "concurrent_streams": replicas * b * load, "load_share": load,
               "ttft_queue_wait_s": wait, "prefill_tokens_per_cycle": mean["prefill_tokens"],
               "weights_streamed_bytes_per_cycle": mean["weights_streamed_bytes"],
               "engine_overhead_s": tpot - mean["cycle_s"],
               **{k: v for k, v in mean.items() if k.endswith("_s") and k != "cycle_s"}}
    return ServingResult(plans=plans, feasible=reason == 0, reason=reason.astype(np.int8), metrics=metrics)
