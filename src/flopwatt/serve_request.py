"""The request of one serving estimate (:class:`ServeRequest`): the model, devices and system, the request lengths,
precision, latency targets (SLOs), any fixed plan degrees and the serving engine's knobs, each checked where it is
made (a bad value: one line naming the field, :class:`flopwatt.errors.InputError`).

:func:`flopwatt.serve.estimate_serving` and :func:`flopwatt.serve.estimate_disaggregated` search the plans of one.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from flopwatt.energy.power_cap import clock_ratio
from flopwatt.errors import InputError
from flopwatt.perf.engine_memory import EngineMemory
from flopwatt.perf.lengths import Lengths
from flopwatt.perf.serving import BYTES, PREFILL_CHUNK_TOKENS, EngineIteration
from flopwatt.specs import ModelSpec, System
from flopwatt.specs.engine import graph_batch_sizes


@dataclass(frozen=True, kw_only=True, slots=True)
class ServeRequest:
    model: ModelSpec
    system: System
    devices: int
    input_len: float
    output_len: float
    precision: str = "fp8"
    kv_precision: str | None = None
    ttft_slo_s: float | None = None
    tpot_slo_s: float | None = None
    slo_percentile: float = 50.0
    """Share of requests (in %) that must meet the SLOs (50 = median, 99 = MLPerf server)."""
    kv_reserve: bool = True
    """KV blocks for prompt + output are reserved at admission (TensorRT-LLM GUARANTEED_NO_EVICT)."""
    tp: int | None = None
    pp: int | None = None
    ep: int | None = None
    """Attention groups sharing the experts of an MoE model (expert parallelism,
    :mod:`flopwatt.perf.serving_ep`); None = searched over the divisors of the expert count."""
    overlap: bool | None = None
    """Two micro-batches whose expert All-to-Alls overlap each other's compute (MoE with ep > 1 only;
    :func:`flopwatt.perf.serving._iteration`); None = searched."""
    disaggregate: bool = False
    """Prefill and decode on separate pools of devices (Splitwise, DistServe)."""
    prefill_devices: int | None = None
    """Devices of the prefill pool when disaggregated; None = searched."""
    power_cap_w: float | None = None
    """Board power limit per device (None = none): compute slows by the DVFS rule of
    :mod:`flopwatt.energy.power_cap`, and the device draws at most the limit."""
    length_moments: Lengths | None = None
    """Second moments of the request set's lengths (means equal to input_len/output_len); None = every
    request has the mean lengths."""
    prefill_chunk_tokens: int | None = PREFILL_CHUNK_TOKENS
    """Engine: prompt tokens one iteration prefills for a request (its token budget with chunked
    prefill); None = chunked prefill off, the whole prompt in one iteration."""
    max_tokens_per_iteration: int | None = None
    """Engine: token budget of one scheduled batch (decode plus prompt tokens), a bound on the batch
    search (None = unbounded)."""
    max_batch: int | None = None
    """Engine: most sequences one scheduler runs at once (one micro-batch under pipeline parallelism), a bound on
    the batch search (None = unbounded)."""
    max_replica_batch: int | None = None
    """Most sequences one replica (its ``ep`` attention groups) runs at once per micro-batch: the load a
    fixed-concurrency benchmark keeps in flight per replica, a bound on the batch search (None = unbounded)."""
    iteration_overhead_s: float = 0.0
    """Engine: published CPU time per iteration (scheduling, sampling); 0 = none published."""
    sequence_overhead_s: float = 0.0
    """Engine: published CPU time per iteration for each sequence one scheduler steps; 0 = none published."""
    overhead_hidden: bool = False
    overlap_max_pp: int | None = None
    """Engine: deepest pipeline its overlap scheduler runs with (None: any)."""
    """Engine: CPU scheduling overlaps the GPU's previous iteration (the iteration takes the longer of the two)."""
    redundant_experts: int = 0
    """Engine: redundant copies of busy experts over the EP ranks (EPLB); ep divides experts + these."""
    decode_only: bool = False
    """A PD-disaggregated decode pool measured alone (:attr:`flopwatt.perf.lengths.Lengths.prefilled`)."""
    prefill_alone: bool = False
    """Engine: prompts run in steps of their own while the decodes wait (vLLM V0 without chunked prefill;
    :func:`flopwatt.perf.serving._iteration_prefill_alone`); False = prompts ride the decode iteration."""
    cuda_graph_batch_sizes: tuple[int, ...] | None = None
    """Engine: captured CUDA-graph batch sizes a decode-only iteration is padded up to (an engine profile's
    ``cuda_graph_batch_sizes``; :func:`flopwatt.perf.serving._graph_padding`); None = no padding."""
    prompts: int | None = None
    """A finite run: this many prompts sent at once (a benchmark at request rate inf, an offline batch); the
    throughput is that of the whole run, its drain included (:mod:`flopwatt.perf.serving_run`). None = an endless
    stream at full load (the steady state)."""
    engine_memory: EngineMemory = EngineMemory()
    """Engine: what it keeps out of the KV cache (:mod:`flopwatt.perf.engine_memory`; an engine profile's memory
    fields); the default lets weights and KV fill the rule share of each device
    (:data:`flopwatt.perf.engine_memory.USABLE_MEMORY`)."""

    @property
    def lengths(self) -> Lengths:
        base = self.length_moments or Lengths(float(self.input_len), float(self.output_len))
        return dataclasses.replace(base, prefilled=True) if self.decode_only else base

    @property
    def engine(self) -> EngineIteration:
        """The engine's per-iteration knobs as the serving kernels take them."""
        return EngineIteration(chunk_tokens=self.prefill_chunk_tokens, overhead_s=self.iteration_overhead_s,
                               overhead_per_sequence_s=self.sequence_overhead_s,
                               overhead_hidden=self.overhead_hidden, overlap_max_pp=self.overlap_max_pp,
                               kv_reserve=self.kv_reserve,
                               redundant_experts=self.redundant_experts, prefill_alone=self.prefill_alone,
                               token_budget=self.max_tokens_per_iteration,
                               graph_batch_sizes=self.cuda_graph_batch_sizes, max_sequences=self.max_batch,
                               memory=self.engine_memory)

    def __post_init__(self) -> None:
        if not self.output_len >= 1:
            raise InputError("--output-len", "at least 1 generated token", self.output_len)
        if not self.input_len >= 1:
            raise InputError("--input-len", "at least 1 prompt token", self.input_len)
        if not 1 <= self.slo_percentile <= 99.9:
            raise InputError("--slo-percentile", "a percentage from 1 to 99.9", self.slo_percentile)
        if self.precision not in BYTES:
            raise InputError("--precision", f"one of {', '.join(BYTES)}", self.precision)
        if self.power_cap_w is not None and not self.power_cap_w > 0:
            raise InputError("--power-cap-w", "a positive number of watts", self.power_cap_w)
        clock_ratio(self.system.accelerator, self.power_cap_w)  # a limit this device cannot take: one line
        self._check_engine()
        m = self.length_moments
        if m is not None and not (np.isclose(m.input_tokens, self.input_len) and
                                  np.isclose(m.output_tokens, self.output_len)):
            raise InputError("length_moments", f"means equal to input_len/output_len ({self.input_len}, "
                             f"{self.output_len})", (m.input_tokens, m.output_tokens))
        if self.tp is not None and self.model.heads % self.tp:
            raise InputError("--tp", f"a divisor of the {self.model.heads} attention heads of {self.model.id}",
                             self.tp)
        self._check_ep()
        self._check_overlap()
        if self.disaggregate:
            self._check_split()
        self._check_prompts()

    def _check_prompts(self) -> None:
        if self.prompts is None:
            return
        if not (isinstance(self.prompts, int) and self.prompts >= 1):
            raise InputError("--prompts", "a positive whole number of prompts (or none)", self.prompts)
        if self.disaggregate:
            raise InputError("--prompts", "a colocated run (a finite run is costed on colocated plans only)",
                             self.prompts)
        if self.ttft_slo_s is not None or self.tpot_slo_s is not None:
            raise InputError("--prompts", "no TTFT/TPOT target: a finite run sends every prompt at once, the targets "
                             "are for a steady stream", self.prompts)

    def _check_engine(self) -> None:
        for name in ("prefill_chunk_tokens", "max_tokens_per_iteration", "max_batch", "max_replica_batch"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, int) and value >= 1):
                raise InputError(f"engine {name}", "a positive integer (or none)", value)
        if not isinstance(self.redundant_experts, int) or self.redundant_experts < 0:
            raise InputError("engine redundant_experts", "a whole number of experts >= 0", self.redundant_experts)
        for name in ("iteration_overhead_s", "sequence_overhead_s"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise InputError(f"engine {name}", "seconds in [0, 1)", getattr(self, name))
        sizes = graph_batch_sizes("engine cuda_graph_batch_sizes", self.cuda_graph_batch_sizes)
        object.__setattr__(self, "cuda_graph_batch_sizes", sizes)  # a list given is kept as a tuple

    def prompt_fits(self) -> bool:
        """Without chunked prefill a prompt must fit the iteration's token budget in one piece."""
        budget = self.max_tokens_per_iteration
        return (self.decode_only or self.prefill_chunk_tokens is not None or budget is None
                or self.input_len <= budget)

    def _check_ep(self) -> None:
        ep, moe = self.ep, self.model.moe
        if ep is None:
            return
        if moe is None and ep != 1:
            raise InputError("--ep", f"1 for a dense model (expert parallelism spreads MoE experts; "
                             f"{self.model.id} has none)", ep)
        if moe is not None and (moe.experts + self.redundant_experts) % ep:
            extra = f" plus {self.redundant_experts} redundant" if self.redundant_experts else ""
            raise InputError("--ep", f"a divisor of the {moe.experts}{extra} experts of {self.model.id}", ep)
        others = (self.tp or 1) * (self.pp or 1)
        if ep * others > self.devices:
            raise InputError("--ep", f"at most devices / (tp x pp) = {self.devices // others}", ep)
        if self.disaggregate and ep != 1:
            raise InputError("--ep", "1 with --disaggregate (pools run tensor parallel only)", ep)

    def _check_overlap(self) -> None:
        if not self.overlap:
            return
        if self.model.moe is None or self.ep == 1 or self.disaggregate:
            raise InputError("--overlap-all-to-all", "an MoE model served with expert parallelism (ep > 1, not "
                             "disaggregated): only expert All-to-Alls are overlapped", self.model.id)

    def _check_split(self) -> None:
        if self.devices < 2:
            raise InputError("--devices", "at least 2 with --disaggregate (a prefill and a decode pool)", self.devices)
        if self.prefill_devices is not None and not 1 <= self.prefill_devices < self.devices:
            raise InputError("--prefill-devices", f"1 to {self.devices - 1} devices (the rest decode)",
                             self.prefill_devices)
        if self.pp not in (None, 1):
            raise InputError("--pp", "1 with --disaggregate (pools run tensor parallel only)", self.pp)
        if self.decode_only:
            raise InputError("decode_only", "false with --disaggregate (that searches both pools)", True)
