"""Serving-engine profiles: the documented defaults of one release of an inference engine.

Facts about the code or the documentation of that release (how KV cache is taken, the token budget
of one iteration, whether CPU scheduling overlaps GPU work), each with a source; never a per-run
factor fitted to a measurement. A field the source does not give stays None (unknown). A deployment
profile (one published run's own settings) may also state the parallelism that run used
(``tensor_parallel_size`` ...); a release's defaults never do.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from flopwatt.errors import InputError
from flopwatt.specs._check import one_of, positive_int

ENGINES = ("tensorrt-llm", "vllm", "sglang", "deepseek-infer")
"""Engines with profiles; a vendor MLPerf harness is profiled under the engine it drives. ``deepseek-infer``
is DeepSeek's own (unreleased) V3/R1 inference system, profiled from what its operator published."""

KV_ALLOCATIONS = ("reserve", "on-demand")
"""``reserve``: a request's whole KV (prompt + maximum output) is reserved at admission, so a started
request is never paused (TensorRT-LLM's GUARANTEED_NO_EVICT capacity policy); ``on-demand``: KV pages
are taken as tokens arrive and a request may be paused or preempted when they run out (vLLM's
PagedAttention blocks, SGLang's token slots, TensorRT-LLM's MAX_UTILIZATION)."""

PARALLEL_SIZES = ("tensor_parallel_size", "pipeline_parallel_size", "expert_parallel_size")
"""The parallel degrees a deployment profile may state (positive integers)."""

_MAX_BYTES_PER_ELEMENT = 256.0
"""Upper bound for bytes held per logit; more would be a unit error (bits or kB for bytes)."""
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MAX_OVERHEAD_S = 1.0
"""Upper bound for a per-iteration CPU cost; a second per iteration would be a unit error (ms for s)."""


def _date(owner: str, name: str, value: str | None, *, allow_none: bool) -> None:
    if value is None and allow_none:
        return
    if not isinstance(value, str) or not _DATE.match(value):
        raise InputError(f"{owner}.{name}", "a date YYYY-MM-DD", value)


def _flag(owner: str, name: str, value: bool | None) -> None:
    if value is not None and not isinstance(value, bool):
        raise InputError(f"{owner}.{name}", "true or false", value)


def _overhead(owner: str, name: str, value: float | None) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InputError(f"{owner}.{name}", "a finite number of seconds", value)
    if not 0.0 < value < _MAX_OVERHEAD_S:
        raise InputError(f"{owner}.{name}", f"seconds in (0, {_MAX_OVERHEAD_S})", value)


def _share(owner: str, name: str, value: float | None) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 < value <= 1.0:
        raise InputError(f"{owner}.{name}", "a share of device memory in (0, 1]", value)


def _bytes(owner: str, name: str, value: float | None) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 < value < _MAX_BYTES_PER_ELEMENT:
        raise InputError(f"{owner}.{name}", f"bytes in (0, {_MAX_BYTES_PER_ELEMENT})", value)


def _memory_bound(owner: str, name: str, value: float | None) -> None:
    """A device-memory bound of a defaults tier: None or a positive number of bytes."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0):
        raise InputError(f"{owner}.{name}", "a positive number of bytes", value)


def share_steps(field: str, value) -> tuple[tuple[int, float], ...] | None:
    """``value`` as [(smallest tp, share)] steps (tp whole, strictly increasing from 1; share in (0, 1])."""
    if value is None:
        return None
    expected = "a list of [tp, share] pairs, tp whole and strictly increasing from 1, share in (0, 1]"
    try:
        steps = tuple((t, float(v)) for t, v in value)
    except (TypeError, ValueError):
        raise InputError(field, expected, value) from None
    whole = all(isinstance(t, int) and not isinstance(t, bool) for t, _ in steps)
    rising = all(b[0] > a[0] for a, b in zip(steps, steps[1:], strict=False))
    ok = steps and steps[0][0] == 1 and whole and rising and all(0.0 < v <= 1.0 for _, v in steps)
    if not ok:
        raise InputError(field, expected, value)
    return steps


def reserved_rows(field: str, value) -> tuple[tuple[float, float, float], ...] | None:
    """``value`` as [(device memory from, reserved, reserved per rank)] rows in bytes, bounds increasing from 0."""
    if value is None:
        return None
    expected = "a list of [memory from, reserved, reserved per rank] byte triples, bounds strictly increasing from 0"
    try:
        rows = tuple((float(a), float(b), float(c)) for a, b, c in value)
    except (TypeError, ValueError):
        raise InputError(field, expected, value) from None
    ok = (rows and rows[0][0] == 0 and all(r[1] >= 0 and r[2] >= 0 and math.isfinite(sum(r)) for r in rows)
          and all(b[0] > a[0] for a, b in zip(rows, rows[1:], strict=False)))
    if not ok:
        raise InputError(field, expected, value)
    return rows


def graph_batch_sizes(field: str, value) -> tuple[int, ...] | None:
    """``value`` as a tuple of captured CUDA-graph batch sizes (whole numbers >= 1, strictly increasing), or
    None; anything else is one InputError naming ``field``."""
    if value is None:
        return None
    expected = "a non-empty list of whole batch sizes >= 1, strictly increasing"
    if not isinstance(value, (list, tuple)) or not value:
        raise InputError(field, expected, value)
    if any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in value):
        raise InputError(field, expected, value)
    if any(b <= a for a, b in zip(value, value[1:], strict=False)):
        raise InputError(field, expected, value)
    return tuple(value)


def _text(owner: str, name: str, value: str | None, *, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"{owner}.{name}", "a non-empty text", value)


@dataclass(frozen=True, kw_only=True, slots=True)
class EngineProfile:
    """One release of a serving engine (or of a vendor's MLPerf harness around it), as documented."""

    id: str
    name: str
    engine: str
    """One of ``ENGINES``."""
    release: str
    """Version string or commit as the source names it."""
    source: str
    retrieved: str
    released: str | None = None
    """Release (or commit) date, YYYY-MM-DD."""
    kv_allocation: str | None = None
    """One of ``KV_ALLOCATIONS``."""
    max_num_tokens: int | None = None
    """Default token budget of one iteration (prompt chunks plus decode tokens)."""
    max_batch_size: int | None = None
    """Default cap on sequences in flight in one engine instance."""
    chunked_prefill: bool | None = None
    """Long prompts are split across iterations by default."""
    cuda_graphs: bool | None = None
    """Decode iterations are replayed from captured CUDA/HIP graphs by default."""
    cuda_graph_batch_sizes: tuple[int, ...] | None = None
    """Batch sizes of the captured CUDA graphs, given only where the source states them WITH padding on
    (TensorRT-LLM ``cuda_graph_config: enable_padding: true, batch_sizes: [...]``): a decode-only iteration is
    padded up to the next captured size (:func:`flopwatt.perf.serving._graph_padding`). None = no padding
    modelled (not stated, or padding off). A list in TOML; strictly increasing whole numbers >= 1."""
    schedule_overlap: bool | None = None
    """CPU scheduling of iteration i+1 overlaps GPU execution of iteration i by default."""
    schedule_overlap_max_pp: int | None = None
    """Deepest pipeline the overlap scheduler runs with (vLLM 0.14.0: 1, its async scheduling is off with pipeline
    parallelism); None = any depth."""
    per_iteration_overhead_s: float | None = None
    """CPU time per iteration (the fixed part), only where a published profile gives it."""
    per_sequence_overhead_s: float | None = None
    """CPU time per iteration for each sequence the scheduler steps (scheduling, input preparation, output
    processing grow with the batch), only where a published profile gives it; hidden under the GPU with
    ``schedule_overlap``, else added to the GPU's time (:class:`flopwatt.perf.serving.EngineIteration`)."""
    sampling_overhead_s: float | None = None
    """Sampling time per iteration, only where a published profile gives it."""
    gpu_memory_utilization: float | None = None
    """Share of each device's memory the engine fills with weights, activations and KV (vLLM's
    ``gpu_memory_utilization``); with ``sampler_bytes_per_logit`` the KV gets this share less the weights and the
    activation peak of its start-up profile at ``max_num_tokens`` and ``max_batch_size``
    (:mod:`flopwatt.perf.engine_memory`)."""
    sampler_bytes_per_logit: float | None = None
    """Bytes the sampler holds per logit (requests x vocabulary) at its peak in the start-up profile."""
    reduced_defaults_below_bytes: float | None = None
    """Devices with less memory than this (vLLM V1: 70 GiB) take ``reduced_max_num_tokens`` and
    ``reduced_max_batch_size`` instead of ``max_num_tokens`` and ``max_batch_size``."""
    reduced_defaults_accelerators: tuple[str, ...] | None = None
    """Catalog accelerators that take the reduced defaults whatever their memory (vLLM V1: the A100s)."""
    reduced_max_num_tokens: int | None = None
    reduced_max_batch_size: int | None = None
    large_defaults_from_bytes: float | None = None
    """Devices with at least this much memory (vLLM 0.34: 160 GiB) take ``large_max_num_tokens`` and
    ``large_max_batch_size`` instead of ``max_num_tokens`` and ``max_batch_size``."""
    large_max_num_tokens: int | None = None
    large_max_batch_size: int | None = None
    mem_fraction_static_by_tp: tuple[tuple[int, float], ...] | None = None
    """SGLang's default ``mem_fraction_static`` (the share weights and KV fill) as [smallest tp, share] steps,
    tp strictly increasing from 1."""
    reserved_memory_by_device_memory: tuple[tuple[float, float, float], ...] | None = None
    """SGLang's default memory kept back from weights and KV for activations and CUDA graphs, as [device memory
    from (bytes), reserved bytes, reserved bytes per rank of tp x pp] rows, bounds strictly increasing from 0: the
    last row whose bound the device's memory reaches applies."""
    attention_kernel: str | None = None
    """Default attention kernel family (e.g. flashinfer, flash-attention-3)."""
    benchmark_prompts: int | None = None
    """Prompts the release's own benchmark client sends by default (vLLM's and SGLang's ``--num-prompts``): the
    length of a benchmark run whose source does not say (:mod:`flopwatt.perf.serving_run`)."""
    tensor_parallel_size: int | None = None
    """Deployments only: the engine's tensor-parallel degree as the run's config sets it (TensorRT-LLM
    tensor_parallelism, vLLM tensor_parallel_size, SGLang --tp-size). With ``attention_data_parallel`` its
    ranks run attention data-parallel, so each is an attention group of its own."""
    pipeline_parallel_size: int | None = None
    """Deployments only: pipeline stages of one engine instance as the run's config sets it."""
    expert_parallel_size: int | None = None
    """Deployments only: ranks the routed experts are spread over (TensorRT-LLM moe_expert_parallelism);
    1 = every engine instance holds all experts (no expert parallelism)."""
    attention_data_parallel: bool | None = None
    """Deployments only: attention runs data-parallel over the tensor-parallel ranks (TensorRT-LLM
    enable_attention_dp, SGLang --enable-dp-attention)."""
    notes: str = ""

    def __post_init__(self) -> None:
        owner = f"engine {self.id}"
        _text(owner, "name", self.name)
        one_of(owner, "engine", self.engine, ENGINES)
        _text(owner, "release", self.release)
        _text(owner, "source", self.source)
        _date(owner, "retrieved", self.retrieved, allow_none=False)
        _date(owner, "released", self.released, allow_none=True)
        if self.kv_allocation is not None:
            one_of(owner, "kv_allocation", self.kv_allocation, KV_ALLOCATIONS)
        positive_int(owner, "max_num_tokens", self.max_num_tokens, allow_none=True)
        positive_int(owner, "max_batch_size", self.max_batch_size, allow_none=True)
        positive_int(owner, "benchmark_prompts", self.benchmark_prompts, allow_none=True)
        positive_int(owner, "schedule_overlap_max_pp", self.schedule_overlap_max_pp, allow_none=True)
        for name in ("chunked_prefill", "cuda_graphs", "schedule_overlap"):
            _flag(owner, name, getattr(self, name))
        object.__setattr__(self, "cuda_graph_batch_sizes", graph_batch_sizes(
            f"{owner}.cuda_graph_batch_sizes", self.cuda_graph_batch_sizes))
        if self.cuda_graph_batch_sizes is not None and self.cuda_graphs is False:
            raise InputError(f"{owner}.cuda_graph_batch_sizes", "none when cuda_graphs is false (no graphs are "
                             "captured, so none pads)", list(self.cuda_graph_batch_sizes))
        _overhead(owner, "per_iteration_overhead_s", self.per_iteration_overhead_s)
        _overhead(owner, "per_sequence_overhead_s", self.per_sequence_overhead_s)
        _overhead(owner, "sampling_overhead_s", self.sampling_overhead_s)
        self._check_reduced_defaults(owner)
        self._check_large_defaults(owner)
        _share(owner, "gpu_memory_utilization", self.gpu_memory_utilization)
        _bytes(owner, "sampler_bytes_per_logit", self.sampler_bytes_per_logit)
        object.__setattr__(self, "mem_fraction_static_by_tp", share_steps(
            f"{owner}.mem_fraction_static_by_tp", self.mem_fraction_static_by_tp))
        object.__setattr__(self, "reserved_memory_by_device_memory", reserved_rows(
            f"{owner}.reserved_memory_by_device_memory", self.reserved_memory_by_device_memory))
        _text(owner, "attention_kernel", self.attention_kernel, allow_none=True)
        for name in PARALLEL_SIZES:
            positive_int(owner, name, getattr(self, name), allow_none=True)
        _flag(owner, "attention_data_parallel", self.attention_data_parallel)
        if not isinstance(self.notes, str):
            raise InputError(f"{owner}.notes", "a text", self.notes)

    def _check_reduced_defaults(self, owner: str) -> None:
        for name in ("reduced_max_num_tokens", "reduced_max_batch_size"):
            positive_int(owner, name, getattr(self, name), allow_none=True)
        below = self.reduced_defaults_below_bytes
        _memory_bound(owner, "reduced_defaults_below_bytes", below)
        ids = self.reduced_defaults_accelerators
        if ids is not None:
            if not isinstance(ids, (list, tuple)) or not all(isinstance(i, str) and i for i in ids):
                raise InputError(f"{owner}.reduced_defaults_accelerators", "a list of accelerator ids", ids)
            object.__setattr__(self, "reduced_defaults_accelerators", tuple(ids))
        when = below is not None or ids is not None
        values = self.reduced_max_num_tokens is not None or self.reduced_max_batch_size is not None
        if when != values:
            raise InputError(f"{owner}.reduced_max_num_tokens", "reduced defaults together with the devices they "
                             "apply to (reduced_defaults_below_bytes or reduced_defaults_accelerators)",
                             self.reduced_max_num_tokens)

    def _check_large_defaults(self, owner: str) -> None:
        for name in ("large_max_num_tokens", "large_max_batch_size"):
            positive_int(owner, name, getattr(self, name), allow_none=True)
        start = self.large_defaults_from_bytes
        _memory_bound(owner, "large_defaults_from_bytes", start)
        values = self.large_max_num_tokens is not None or self.large_max_batch_size is not None
        if (start is not None) != values:
            raise InputError(f"{owner}.large_max_num_tokens", "large-device defaults together with the memory they "
                             "start from (large_defaults_from_bytes)", self.large_max_num_tokens)
        below = self.reduced_defaults_below_bytes
        if start is not None and below is not None and not start > below:
            raise InputError(f"{owner}.large_defaults_from_bytes",
                             f"more than reduced_defaults_below_bytes ({below:g})", start)
