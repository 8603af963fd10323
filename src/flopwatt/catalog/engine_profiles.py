"""Serving-engine profiles (engines.toml): documented defaults per engine release, and what they set
in the serving model (:func:`settings`: physical knobs only, each a profile field with its source; a
deployment profile's parallelism fixes the plan's tp/pp/ep unless the request gives its own).
"""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path
from typing import Any

from flopwatt.catalog import check_keys, engine_memory, read_toml
from flopwatt.errors import InputError
from flopwatt.perf.engine_memory import EngineMemory
from flopwatt.specs import Accelerator
from flopwatt.specs.engine import EngineProfile

FILENAME = "engines.toml"


def _profile(entry_id: str, entry: Any) -> EngineProfile:
    owner = f"engine {entry_id}"
    if not isinstance(entry, dict):
        raise InputError(owner, "a table of profile fields", entry)
    check_keys(owner, entry, EngineProfile)
    if "id" in entry:
        raise InputError(f"{owner}.id", "no id key (the table name is the id)", entry["id"])
    try:
        return EngineProfile(id=entry_id, **entry)
    except TypeError as exc:  # a key of the wrong kind reaches the constructor
        raise InputError(owner, f"fields of the right types ({exc})") from exc


def load(path: Path | str = FILENAME) -> dict[str, EngineProfile]:
    """Every profile of an engines TOML file (the shipped one by default), with exact keys."""
    data = read_toml(path, f"catalog {path}")
    return {entry_id: _profile(entry_id, entry) for entry_id, entry in data.items()}


@functools.cache
def engines() -> dict[str, EngineProfile]:
    """The shipped engine profiles, by id."""
    return load(FILENAME)


DEFAULT_ENGINE = "vllm-0.14.0"
"""The engine a serving estimate assumes when none is named: the newest profiled release of an open engine
with every field the serving model reads given by its source (KV allocation, token budget, max batch,
chunked prefill, schedule overlap, and the start-up memory fields: GPU memory share, sampler bytes per logit)."""

ROCM_KERNEL_NOTE = ("engine kernels on ROCm: the AMD matmul rates are best measured ones (hipBLASLt, AMD's aiter "
                    "tuner; catalog efficiency.toml), as AMD's images run them; vLLM releases leave "
                    "VLLM_ROCM_USE_AITER off, and published runs with it off measured from as fast to 3.7x slower, "
                    "by model, kernel and prompt length (bench/data/rocm_aiter_switch.csv): that path is not "
                    "modelled")
"""Said wherever a vLLM profile serves on an AMD device: the kernel path the serving model assumes there."""

KV_RULE = "reserve"
"""KV allocation where neither the request nor the profile gives one: a sequence's whole KV reserved at
admission (TensorRT-LLM's documented default capacity policy GUARANTEED_NO_EVICT, tensorrt-llm-0.11): a
stated rule."""


def get(engine_id: str) -> EngineProfile:
    """One shipped profile; an unknown id is an InputError naming the closest ids."""
    from flopwatt.errors import unknown_id

    table = engines()
    if engine_id not in table:
        raise unknown_id("engine", engine_id, table)
    return table[engine_id]


# cuda_graph_batch_sizes is not agreed over a family: padding is a deployment's stated setting (only profiles
# whose source states graph sizes with padding on give it), so a release without a profile is never padded.
AGREED = ("kv_allocation", "max_num_tokens", "max_batch_size", "chunked_prefill", "cuda_graphs", "schedule_overlap",
          "schedule_overlap_max_pp",
          "per_iteration_overhead_s", "per_sequence_overhead_s", "sampling_overhead_s", "attention_kernel",
          "gpu_memory_utilization", "sampler_bytes_per_logit", "benchmark_prompts")


DEPLOYMENTS = frozenset({"sglang-large-ep-2025-05", "deepseek-infer-2025-02", "trtllm-perf-overview-v1.0-dense",
                         "mlperf-nvidia-v5.1-deepseek-r1-offline",
                         "mlperf-nvidia-v5.1-deepseek-r1-server",
                         "mlperf-nvidia-v5.1-llama3.1-8b-b200",
                         "mlperf-nvidia-v5.0-llama2-70b-interactive-hopper",
                         "mlperf-hpe-v5.0-llama2-70b-interactive-h100",
                         "mlperf-nvidia-v5.0-mixtral-8x7b-h200-server",
                         "mlperf-nvidia-v5.0-llama2-70b-h200",
                         "mlperf-nvidia-v5.0-llama2-70b-h100-offline", "mlperf-nvidia-v5.0-llama2-70b-h100-server",
                         "mlperf-nvidia-v5.0-mixtral-8x7b-h200-offline",
                         "mlperf-cisco-v5.0-mixtral-8x7b-h100-offline",
                         "mlperf-cisco-v5.0-mixtral-8x7b-h100-server",
                         "mlperf-nvidia-v5.0-llama3.1-405b-h200-offline",
                         "mlperf-nvidia-v5.0-llama3.1-405b-h200-server",
                         "mlperf-dell-v5.0-llama3.1-405b-h100-offline",
                         "mlperf-dell-v5.0-llama3.1-405b-h100-server",
                         "mlperf-nvidia-v5.0-llama2-70b-b200",
                         "mlperf-nvidia-v5.0-llama2-70b-interactive-b200",
                         "mlperf-nvidia-v5.0-mixtral-8x7b-b200-offline",
                         "mlperf-nvidia-v5.0-mixtral-8x7b-b200-server",
                         "mlperf-nvidia-v5.0-llama3.1-405b-b200-offline",
                         "mlperf-nvidia-v5.0-llama3.1-405b-b200-server",
                         "mlperf-nvidia-v5.0-llama3.1-405b-gb200-offline",
                         "mlperf-nvidia-v5.0-llama3.1-405b-gb200-server",
                         "mlperf-amd-v5.1-llama2-70b-mi300x-offline",
                         "mlperf-amd-v5.1-llama2-70b-mi300x-server",
                         "mlperf-amd-v5.1-llama2-70b-mi300x-interactive",
                         "mlperf-amd-v5.1-llama2-70b-mi325x-offline",
                         "mlperf-amd-v5.1-llama2-70b-mi325x-server",
                         "mlperf-amd-v5.1-mixtral-8x7b-mi300x-offline",
                         "mlperf-amd-v5.1-mixtral-8x7b-mi300x-server",
                         "mlperf-amd-v5.1-mixtral-8x7b-mi325x-offline",
                         "mlperf-amd-v5.1-mixtral-8x7b-mi325x-server",
                         "mlperf-amd-v5.0-llama2-70b-mi325x-offline",
                         "mlperf-mangoboost-v5.0-llama2-70b-mi300x"})
"""Profiles of one published deployment (its own token budget and batch, set for that run) or benchmark
configuration (trtllm-perf-overview-v1.0-dense: the engine options one published table was measured with), not
of a release's defaults: :func:`family` leaves them out."""


def family(engine: str) -> EngineProfile:
    """A profile of ``engine`` (tensorrt-llm, vllm, sglang) for a run whose release has no profile: only the
    fields every profiled release of it agrees on (a field any release leaves unknown stays unknown;
    deployment profiles, :data:`DEPLOYMENTS`, are not releases and take no part)."""
    members = [p for p in engines().values() if p.engine == engine and p.id not in DEPLOYMENTS]
    if not members:
        raise InputError("engine", "an engine with profiles (tensorrt-llm, vllm, sglang)", engine)
    agreed = {}
    for name in AGREED:
        values = {getattr(p, name) for p in members}
        agreed[name] = values.pop() if len(values) == 1 else None
    return EngineProfile(id=f"{engine} (release not profiled)", name=f"{engine}, fields all profiled releases share",
                         engine=engine, release="any profiled", retrieved=members[0].retrieved,
                         source="; ".join(p.id for p in members), **agreed)


@dataclasses.dataclass(frozen=True, slots=True)
class EngineSettings:
    """The knobs of :class:`flopwatt.serve.ServeRequest` an engine profile sets, and why (``notes``)."""

    kv_reserve: bool
    prefill_chunk_tokens: int | None
    max_tokens_per_iteration: int | None
    max_batch: int | None
    iteration_overhead_s: float
    sequence_overhead_s: float
    overhead_hidden: bool
    overlap_max_pp: int | None
    """Deepest pipeline the overlap scheduler hides the CPU time under (None: any)."""
    prefill_alone: bool
    cuda_graph_batch_sizes: tuple[int, ...] | None
    """Captured CUDA-graph batch sizes decode-only iterations are padded to (the profile's; None = no padding)."""
    engine_memory: EngineMemory
    """What the engine keeps out of the KV cache (:func:`flopwatt.catalog.engine_memory.memory`)."""
    tp: int | None
    pp: int | None
    ep: int | None
    """The plan degrees: the request's own where it gives them, else the deployment profile's (:func:`plan_fixes`),
    else None (searched)."""
    notes: tuple[str, ...]
    profile_id: str = ""
    from_profile: tuple[str, ...] = ()
    benchmark_prompts: int | None = None
    """The profile's benchmark client's default prompt count (not a knob: a run's length, for validation)."""
    """The plan degrees (tp, pp, ep) whose value came from the profile, not the request."""

    def knobs(self) -> dict[str, Any]:
        """Keyword arguments of :class:`flopwatt.serve.ServeRequest` (tp, pp and ep included)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in _NOT_KNOBS}

    def blame(self, exc: InputError) -> InputError:
        """``exc``, raised while building a ServeRequest from these knobs, named after the profile field when
        the degree it rejects (``--tp``/``--pp``/``--ep``) came from the profile rather than the request."""
        knob = exc.field.removeprefix("--")
        if knob not in self.from_profile:
            return exc
        return InputError(f"engine {self.profile_id}.{PLAN_FIELDS[knob]}", f"{exc.expected} (the profile fixes "
                          f"{knob}={getattr(self, knob)}; give {exc.field} to override it)", exc.got)


_NOT_KNOBS = frozenset({"notes", "profile_id", "from_profile", "benchmark_prompts"})

PLAN_FIELDS = {"tp": "tensor_parallel_size", "pp": "pipeline_parallel_size", "ep": "expert_parallel_size"}
"""Plan degree of :class:`flopwatt.serve.ServeRequest` -> the profile field that states it."""


def plan_fixes(profile: EngineProfile) -> tuple[dict[str, int], list[str]]:
    """The plan degrees (tp, pp, ep of :class:`flopwatt.serve.ServeRequest`) a deployment profile fixes, and a
    note for each degree it states that the plan cannot take. In a plan, tp is the devices of one attention group
    and ep the attention groups that share one copy of the experts (:mod:`flopwatt.perf.serving_ep`). So:
    attention data-parallel -> tp 1, and ep = expert_parallel_size (the ranks the experts are spread over, each
    its own attention group); otherwise tp = tensor_parallel_size, and ep = 1 where expert_parallel_size is 1 (each
    engine holds all experts); an expert_parallel_size > 1 without attention data-parallel counts expert ranks
    inside one TP group (TensorRT-LLM moe_ep), which is not a plan's ep: ep stays searched. pp =
    pipeline_parallel_size. Release profiles state none of these (a test holds it)."""
    fixed: dict[str, int] = {}
    notes: list[str] = []
    ep = profile.expert_parallel_size
    if profile.attention_data_parallel:
        fixed["tp"] = 1
        if ep is not None:
            fixed["ep"] = ep
    else:
        if profile.tensor_parallel_size is not None:
            fixed["tp"] = profile.tensor_parallel_size
        if ep == 1:
            fixed["ep"] = 1
        elif ep is not None:
            notes.append(f"engine profile {profile.id}: expert_parallel_size {ep} without attention data-parallel "
                         "counts expert ranks inside a TP group, not attention groups: ep left to the search")
    if profile.pipeline_parallel_size is not None:
        fixed["pp"] = profile.pipeline_parallel_size
    return fixed, notes


def _plan(profile: EngineProfile, asked: dict[str, int | None]) -> tuple[dict[str, int | None], tuple[str, ...],
                                                                         list[str]]:
    """(tp/pp/ep, those taken from the profile, notes): the request's own degrees win over the profile's."""
    fixed, notes = plan_fixes(profile)
    plan, taken = dict(asked), []
    for knob in PLAN_FIELDS:
        if knob not in fixed:
            continue
        value = fixed[knob]
        if asked[knob] is None:
            plan[knob] = value
            taken.append(knob)
        elif asked[knob] != value:
            notes.append(f"engine profile {profile.id} fixes {knob}={value}, but the request asks {knob}="
                         f"{asked[knob]}: the request's value is used (the request wins over the profile)")
    if taken:
        how = " (attention data-parallel: one attention group per rank)" if profile.attention_data_parallel else ""
        notes.append(f"engine profile {profile.id} fixes " + ", ".join(f"{k}={plan[k]}" for k in taken)
                     + f"{how} (the deployment's own config: engines.toml [{profile.id}] source)")
    return plan, tuple(taken), notes


def settings(profile: EngineProfile, kv_allocation: str | None = None, *, limits: bool = True,
             tp: int | None = None, pp: int | None = None, ep: int | None = None,
             accelerator: Accelerator | None = None) -> EngineSettings:
    """What ``profile`` sets in the serving model: KV allocation (``kv_allocation`` when given, else the
    profile's, else :data:`KV_RULE`), the prompt chunk and iteration token budget (max_num_tokens; the whole
    prompt per iteration when chunked prefill is off), the max batch, the per-iteration CPU time hidden or
    not by an overlapped scheduler, the captured CUDA-graph batch sizes decode-only iterations are padded to
    (a fact of the graphs, not a limit: kept with ``limits=False``), and a deployment's parallelism
    (:func:`plan_fixes`). ``limits=False``: the run set its own max batch and token budget, so the profile's
    defaults for those are not applied.
    ``tp``/``pp``/``ep``: the request's own degrees (None = not given); a degree the request gives wins over
    the profile's, and a note says so where they differ. ``accelerator``: the device served on (what the engine
    keeps out of the KV cache depends on it: :func:`flopwatt.catalog.engine_memory.memory`)."""
    from flopwatt.perf.serving import PREFILL_CHUNK_TOKENS

    notes = [f"engine: {profile.id} ({profile.name})"]
    profile, device_note = for_device(profile, accelerator)
    if device_note:
        notes.append(device_note)
    if accelerator is not None and accelerator.vendor == "AMD" and profile.engine == "vllm":
        notes.append(ROCM_KERNEL_NOTE)
    if kv_allocation is not None:
        kv, why = kv_allocation, "asked (kv_admission)"
    elif profile.kv_allocation is not None:
        kv, why = profile.kv_allocation, "the profile's"
    else:
        kv, why = KV_RULE, "not in the profile: rule, TensorRT-LLM's documented default GUARANTEED_NO_EVICT"
    notes.append(f"engine KV allocation: {kv} ({why})")
    budget = profile.max_num_tokens if limits else None
    if profile.chunked_prefill is False:
        chunk = None
        notes.append("engine prefill: whole prompt in one iteration (profile: chunked prefill off)")
    elif budget is not None:
        chunk = budget
        notes.append(f"engine prefill: chunks of {budget} tokens (profile max_num_tokens, chunked prefill "
                     f"{'on' if profile.chunked_prefill else 'not stated'})")
    else:
        chunk = PREFILL_CHUNK_TOKENS
        notes.append(f"engine prefill: chunks of {chunk} tokens (rule: the profile gives no token budget"
                     f"{' that applies to this run' if not limits else ''}; TensorRT-LLM's default max_num_tokens)")
    if budget is not None:
        notes.append(f"engine iteration budget: at most {budget} tokens per scheduled batch (profile max_num_tokens)")
    batch = profile.max_batch_size if limits else None
    notes.append(f"engine max batch: {batch} sequences per scheduler (profile max_batch_size)" if batch is not None
                 else "engine max batch: none applied (" + ("the run set its own" if not limits and
                                                             profile.max_batch_size else "not in the profile") + ")")
    overhead = sum(v for v in (profile.per_iteration_overhead_s, profile.sampling_overhead_s) if v is not None)
    per_sequence = profile.per_sequence_overhead_s or 0.0
    hidden = profile.schedule_overlap is True
    max_pp = profile.schedule_overlap_max_pp if hidden else None
    notes.append(_overhead_note(overhead, per_sequence, hidden, max_pp))
    alone = prefill_alone(profile)
    if alone:
        notes.append("engine prompts: prefilled in steps of their own while the decodes wait (vLLM V0 scheduler "
                     "without chunked prefill)")
    graphs = profile.cuda_graph_batch_sizes
    if graphs is not None:
        notes.append(f"engine profile {profile.id} pads decode-only iterations to its captured CUDA-graph batch sizes "
                     f"{', '.join(map(str, graphs))} (engines.toml [{profile.id}] source)")
    held, memory_note = engine_memory.memory(profile, limits=limits, accelerator=accelerator)
    notes.append(memory_note)
    plan, taken, plan_notes = _plan(profile, {"tp": tp, "pp": pp, "ep": ep})
    notes.extend(plan_notes)
    return EngineSettings(kv_reserve=kv == "reserve", prefill_chunk_tokens=chunk, max_tokens_per_iteration=budget,
                          max_batch=batch, iteration_overhead_s=float(overhead),
                          sequence_overhead_s=float(per_sequence), overhead_hidden=hidden, overlap_max_pp=max_pp,
                          prefill_alone=alone, cuda_graph_batch_sizes=graphs, engine_memory=held, **plan,
                          notes=tuple(notes), profile_id=profile.id, from_profile=taken,
                          benchmark_prompts=profile.benchmark_prompts)


def _overhead_note(fixed_s: float, per_sequence_s: float, hidden: bool, max_pp: int | None = None) -> str:
    if not fixed_s and not per_sequence_s:
        return "engine CPU time per iteration: none published, none counted"
    how = "hidden under the GPU (overlap scheduler)" if hidden else "exposed, added to the GPU's time"
    if hidden and max_pp is not None:
        how += f"; exposed beyond {max_pp} pipeline stage{'s' if max_pp > 1 else ''}, where the release turns it off"
    parts = ([f"{fixed_s * 1e3:.3g} ms"] if fixed_s else []) + (
        [f"{per_sequence_s * 1e6:.3g} us per sequence stepped"] if per_sequence_s else [])
    return f"engine CPU time per iteration: {' + '.join(parts)}, {how}"


def for_device(profile: EngineProfile, accelerator: Accelerator | None) -> tuple[EngineProfile, str]:
    """``profile`` with the token budget and max batch its release sets on ``accelerator``: the reduced defaults
    on a CUDA/ROCm device under ``reduced_defaults_below_bytes`` or named in ``reduced_defaults_accelerators``
    (vLLM V1 on an A100 or a GPU under 70 GiB), the large ones on a device of ``large_defaults_from_bytes`` or more
    (vLLM 0.34 from 160 GiB), else as it is; and the note that says so (empty: unchanged)."""
    if accelerator is None or accelerator.vendor not in engine_memory.GPU_WORKER_VENDORS:
        return profile, ""
    below = profile.reduced_defaults_below_bytes
    small = below is not None and accelerator.hbm_bytes < below
    named = accelerator.id in (profile.reduced_defaults_accelerators or ())
    start = profile.large_defaults_from_bytes
    if profile.reduced_max_num_tokens is not None or profile.reduced_max_batch_size is not None:
        if small or named:
            why = ("an accelerator the profile names for them" if named
                   else f"under {below / 2**30:g} GiB of memory")
            return _tier(profile, accelerator, why, "reduced", profile.reduced_max_num_tokens,
                         profile.reduced_max_batch_size)
    if start is not None and accelerator.hbm_bytes >= start:
        return _tier(profile, accelerator, f"{start / 2**30:g} GiB of memory or more", "large",
                     profile.large_max_num_tokens, profile.large_max_batch_size)
    return profile, ""


def _tier(profile: EngineProfile, accelerator: Accelerator, why: str, tier: str, tokens: int | None,
          batch: int | None) -> tuple[EngineProfile, str]:
    """``profile`` with a device tier's token budget and max batch (each falling back to the profile's own)."""
    tokens, batch = tokens or profile.max_num_tokens, batch or profile.max_batch_size
    note = (f"engine defaults on {accelerator.id} ({why}): {tokens} tokens and {batch} sequences per iteration "
            f"(profile {profile.id} {tier}_max_num_tokens / {tier}_max_batch_size)")
    return dataclasses.replace(profile, max_num_tokens=tokens, max_batch_size=batch), note


def prefill_alone(profile: EngineProfile) -> bool:
    """Whether the engine runs prompts in steps without the decodes: vLLM with chunked prefill off. That is its
    V0 scheduler (V1 "always uses chunked prefills", vllm 0.8.0/0.9.2 arg_utils _set_default_args_v1, as in
    engines.toml), which "prioritizes prefills and doesn't batch prefill and decode to the same batch" unless
    chunked prefill is on (vLLM docs, Performance and Tuning, Chunked Prefill; quoted in vllm-project/vllm PR
    #7874, merged 2024-09-02). TensorRT-LLM's in-flight batching runs context and generation requests in one
    batch whether or not context chunking is on, so its profiles keep prompts in the decode iteration."""
    return profile.engine == "vllm" and profile.chunked_prefill is False
