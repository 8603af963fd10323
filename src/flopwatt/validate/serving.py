"""Serving rows of the validation runner: the row's engine, request set and published plan through
:func:`flopwatt.serve.estimate_serving` (the best plan within the row's p99 limits).

A row of a source conventions.toml knows takes its engine release and request set from there; a row of any
other source stands on its typed columns and the stated rules below (listed in its assumptions).
"""

from __future__ import annotations

import dataclasses

from flopwatt import catalog
from flopwatt.catalog import engine_profiles
from flopwatt.errors import InputError
from flopwatt.perf.lengths import Lengths
from flopwatt.serve import ServeRequest, estimate_serving, weight_notes
from flopwatt.specs import Accelerator, ModelSpec
from flopwatt.specs.engine import EngineProfile
from flopwatt.specs.workload import ServingDataset
from flopwatt.validate import conventions as conv
from flopwatt.validate.row_specs import _measured, _model, _system
from flopwatt.validate.rows import RowResult, Skip, _float, _int

INFER_METRICS = {"output_tokens_per_s": "output_tokens_per_s", "input_tokens_per_s": "input_tokens_per_s",
                 "ttft_s": "ttft_s", "tpot_s": "tpot_s"}


FRAMEWORKS = {"tensorrt-llm": "tensorrt-llm", "mlperf-nvidia": "tensorrt-llm", "mlperf-amd": "vllm", "vllm": "vllm",
              "sglang": "sglang", "deepseek-infer": "deepseek-infer"}
"""Serving engine each schema framework runs (DATASET_infer.md: NVIDIA's MLPerf harness drives TensorRT-LLM,
AMD's harness_llm a ROCm build of vLLM). The release's profile comes from conventions.toml (``engine``); a row
whose release has none gets the fields all profiled releases of its engine share
(:func:`flopwatt.catalog.engine_profiles.family`)."""


def _row_profile(row: dict[str, str], notes: list[str]) -> EngineProfile:
    """The row's engine profile: the release its source names (conventions.toml ``engine``); else the fields all
    profiled releases of its framework's engine share; else, for a framework that names no profiled engine (blank
    in the shared schema: not TensorRT-LLM or NVIDIA's harness), the default engine of ``flopwatt serve``
    (:data:`~flopwatt.catalog.engine_profiles.DEFAULT_ENGINE`, a stated rule)."""
    framework = row["framework"].strip()
    convention = conv.for_row(row["id"])
    if convention.engine is not None:
        profile = engine_profiles.get(convention.engine)
        if framework in FRAMEWORKS and profile.engine != FRAMEWORKS[framework]:
            raise InputError(f"conventions {row['id']}.engine", f"a {FRAMEWORKS[framework]} profile (framework "
                             f"{framework})", convention.engine)
    elif framework in FRAMEWORKS:
        profile = engine_profiles.family(FRAMEWORKS[framework])
        notes.append(f"engine release of the row has no profile: fields all {profile.engine} profiles share (rule)")
    else:
        profile = engine_profiles.get(engine_profiles.DEFAULT_ENGINE)
        said = f"framework {framework!r} has no engine profile" if framework else "framework not published"
        notes.append(f"{said}: engine {profile.id}, the default engine of flopwatt serve (rule)")
    return profile


def _engine(row: dict[str, str], notes: list[str], plan: dict[str, int | None],
            accelerator: Accelerator | None = None, profile: EngineProfile | None = None):
    """The row's engine settings (:func:`flopwatt.catalog.engine_profiles.settings`) of its profile (``profile``,
    else :func:`_row_profile`). ``plan``: the row's own tp/pp/ep (None where blank), which win over a deployment
    profile's; ``accelerator``: the row's (what the engine keeps out of the KV cache depends on it; None = the plain
    share)."""
    profile = profile or _row_profile(row, notes)
    convention = conv.for_row(row["id"])
    settings = engine_profiles.settings(profile, limits=not convention.run_sets_batch_limits,
                                        accelerator=accelerator, **plan)
    notes.extend(settings.notes)
    return settings


def _infer_row(row: dict[str, str]) -> RowResult:
    """Serving throughput/latency of the best plan (max tokens/s within the row's p99 limits).

    A blank mean prompt length is taken from the request set of the row's benchmark suite
    (conventions.toml) for its model (datasets.toml, measured from the request set itself). The engine
    (KV allocation, prefill chunk, token budget, max batch) is the profile of the row's framework and
    release (:func:`_engine`). MLPerf's Interactive scenario is stored as ``server`` with its tighter limits,
    so it takes the same path.
    """
    if row["metric"] not in INFER_METRICS:
        raise Skip(f"metric {row['metric']} is not predicted for inference rows")
    notes: list[str] = []
    convention = conv.for_row(row["id"])
    tp = 1 if convention.attention_dp else _int(row, "tp")
    devices = _int(row, "n_devices", minimum=1)
    profile = _row_profile(row, notes)
    tp, ep = _plan_tp_ep(row, devices, tp, notes, profile.engine)
    system = _system(row)
    engine = _engine(row, notes, {"tp": tp, "pp": _int(row, "pp"), "ep": ep}, system.accelerator, profile)
    out_len = _float(row, "output_len")
    if out_len is None and convention.phase is not None:
        out_len = 1.0
        notes.append(f"{convention.phase} pool measured alone (conventions phase): "
                     + ("each request ends at its first token, output_len 1 (rule)" if convention.phase == "prefill"
                        else "steady-state decode, each sequence holding input_len of KV; output_len 1 (rule)"))
    if devices is None or out_len is None:
        raise Skip("device count or mean output length not published")
    model = _model(row, notes)
    in_len, moments = _capped_lengths(row, model, out_len, convention, notes)
    if convention.attention_dp:
        notes.append(f"attention data-parallel (conventions attention_dp): the source's tp {_int(row, 'tp')} ranks "
                     "are attention groups of tp 1 sharing the experts")
    if convention.redundant_experts:
        notes.append(f"{convention.redundant_experts} redundant experts held over the EP ranks (conventions)")
    server = row["scenario"].strip().lower() == "server"
    precision = row["precision"].strip() or "bf16"
    if not row["precision"].strip():
        notes.append("precision not published: bf16 (rule)")
    load = _replica_load(row, notes)
    prompts = _run_prompts(row, engine, convention.phase, notes)
    notes.extend(weight_notes(model, precision, system.accelerator))
    try:
        request = ServeRequest(model=model, system=system, devices=devices, input_len=in_len,
                               output_len=out_len, precision=precision, decode_only=convention.phase == "decode",
                               redundant_experts=convention.redundant_experts,
                               ttft_slo_s=_float(row, "ttft_p99_s") if server else None,
                               tpot_slo_s=_float(row, "tpot_p99_s") if server else None,
                               slo_percentile=99.0 if server else 50.0, length_moments=moments,
                               power_cap_w=_power_limit(row), max_replica_batch=load, prompts=prompts,
                               **engine.knobs())
    except InputError as exc:
        knob = exc.field.removeprefix("--")
        if knob in ("tp", "pp", "ep") and knob not in engine.from_profile:  # the row's own degree
            raise Skip(f"published {knob} {exc.got} cannot be run: expected {exc.expected}") from exc
        raise engine.blame(exc) from exc  # a degree the engine profile fixed is named as the profile's field
    try:
        best = estimate_serving(request)
    except InputError as exc:
        if exc.field != "plan":  # a malformed row stays an input error; only infeasibility is a skip
            raise
        raise Skip(f"no feasible serving plan ({exc})") from exc
    predicted = best["metrics"][INFER_METRICS[row["metric"]]]
    return RowResult(row["id"], row["metric"], _measured(row), predicted, best["plan"], notes)


def _capped_lengths(row: dict[str, str], model: ModelSpec, out_len: float, convention,
                    notes: list[str]) -> tuple[float, Lengths | None]:
    """The row's mean prompt length and length spread (:func:`_input_lengths`), each request's output capped
    where conventions.toml or the benchmark's request set gives a generation cap."""
    in_len, moments, dataset = _input_lengths(row, model, out_len, notes)
    cap, whose = convention.max_output_tokens, "conventions max_output_tokens"
    if cap is None and dataset is not None and dataset.max_output_tokens is not None:
        cap, whose = dataset.max_output_tokens, f"the benchmark's cap, datasets.toml {dataset.id}"
    if cap is not None and cap < out_len:
        raise Skip(f"mean output {out_len:g} tokens above the {cap} generation cap of {whose}: not that benchmark's "
                   "request set")
    if cap is not None:
        moments = dataclasses.replace(moments or Lengths(in_len, out_len), max_output_tokens=cap)
        notes.append(f"each request capped at {cap} generated tokens ({whose}): a reserving engine holds KV for "
                     "the cap")
    return in_len, moments


def _replica_load(row: dict[str, str], notes: list[str]) -> int | None:
    """A serving row's ``micro_batch``: the sequences one model replica runs at once (DATASET.md: "Sequences per
    micro-batch per model replica or device"), e.g. a fixed-concurrency benchmark's load per replica. The batch
    search is held to it (a stated rule); blank leaves the load to the engine's limits (full load)."""
    load = _int(row, "micro_batch", minimum=1)
    if load is not None:
        notes.append(f"published micro_batch {load}: at most {load} sequences in flight per replica, the batch held "
                     "there (rule)")
    return load


def _run_prompts(row: dict[str, str], engine, phase: str | None, notes: list[str]) -> int | None:
    """A ``max_load`` row (DATASET.md: unbounded request rate) is a benchmark run of a finite set of prompts sent
    at once, its throughput that of the whole run (:mod:`flopwatt.perf.serving_run`). The schema has no prompt
    count: the engine profile's benchmark client default is taken (vLLM's and SGLang's ``--num-prompts``, a stated
    rule); a profile without one, and a prefill or decode pool measured alone, keep the steady state."""
    if row["scenario"].strip().lower() != "max_load" or phase is not None:
        return None
    if engine.benchmark_prompts is None:
        notes.append(f"max_load: {engine.profile_id} gives no benchmark prompt count, so the run is taken at its "
                     "steady state (rule)")
        return None
    notes.append(f"max_load: a benchmark run of {engine.benchmark_prompts} prompts sent at once (prompt count not "
                 f"published: the default --num-prompts of {engine.profile_id}'s benchmark client; rule), throughput "
                 "over the whole run, its drain included")
    return engine.benchmark_prompts


def _plan_tp_ep(row: dict[str, str], devices: int | None, tp: int | None,
                notes: list[str], engine: str) -> tuple[int | None, int | None]:
    """The row's (tp, ep) as plan degrees (tp: devices of one attention group; ep: attention groups sharing one
    copy of the experts, :mod:`flopwatt.perf.serving_ep`). A published tp x ep x pp beyond the devices counts
    expert ranks inside the TP group, with attention tensor-parallel over the group (TensorRT-LLM "TEP", vLLM
    ``--enable-expert-parallel``, SGLang ``--ep-size``) or data-parallel (TensorRT-LLM "DEP", SGLang
    ``--enable-dp-attention``): the columns cannot tell which (a stated rule decides, by the ``engine`` the row
    runs). vLLM and SGLang turn attention data-parallel only on a flag of their own, so their default is taken:
    attention tensor-parallel over the published tp, the experts costed as split over its ranks. TensorRT-LLM's
    published throughput tables run both layouts (trtllm-bench TEP and DEP), so both are left to the search, as
    blank plan fields are. A tp x pp beyond the devices is skipped."""
    ep = _int(row, "ep") if row["moe_experts"].strip() else None
    if devices is None or ep is None:
        return tp, ep
    tp_pp = (tp or 1) * (_int(row, "pp") or 1)
    if tp_pp > devices:
        raise Skip(f"published tp x pp = {tp_pp} exceeds the {devices} devices")
    if tp_pp * ep <= devices:
        return tp, ep
    said = (f"published tp {tp} x ep {ep} on {devices} devices counts expert ranks inside the TP group "
            "(attention tensor- or data-parallel, the columns cannot say)")
    if engine == "tensorrt-llm":
        notes.append(f"{said}: tp and ep left to the search, TensorRT-LLM's tables running both layouts (rule)")
        return None, None
    notes.append(f"{said}: attention tensor-parallel over tp {tp}, the default of {engine}, and the experts split "
                 "over its ranks (rule)")
    return tp, 1


def _input_lengths(row: dict[str, str], model: ModelSpec, out_len: float,
                   notes: list[str]) -> tuple[float, Lengths | None, ServingDataset | None]:
    """The row's mean prompt length, else that of its benchmark's request set (returned with its length
    spread): the suite conventions.toml names for its source, else (a stated rule) the one request set
    datasets.toml holds for the row's catalog model, where exactly one does."""
    in_len = _float(row, "input_len")
    if in_len is not None:
        return in_len, None, None
    suite = conv.for_row(row["id"]).suite
    known = catalog.model_by_name(row["model"])
    if known is None:
        raise Skip("mean input length not published and the model is not in the catalog (no request set)")
    if suite:
        dataset = catalog.serving_dataset(suite, known.id)
    else:
        sets = [d for d in catalog.serving_datasets().values() if d.model == known.id]
        dataset = sets[0] if len(sets) == 1 else None
        if dataset is not None:
            notes.append(f"mean input length not published: the request set of the catalog's one benchmark for "
                         f"{known.id}, {dataset.id} (rule)")
    if dataset is None:
        raise Skip("mean input length not published and no request set of the row's benchmark for its model")
    return dataset.mean_input_tokens, _dataset_lengths(dataset, out_len), dataset


def _power_limit(row: dict[str, str]) -> float | None:
    """The board power limit the run used, from the submitter's configuration (conventions -> power_limits)."""
    limit = conv.for_row(row["id"]).power_limit
    return None if limit is None else catalog.power_limits()[limit].power_limit_w


def _dataset_lengths(dataset, output_len: float) -> Lengths | None:
    """The request set's length spread, its outputs scaled to the row's generated mean
    (:meth:`flopwatt.perf.lengths.Lengths.from_dataset`; the cap is applied by :func:`_capped_lengths`); None
    where the set gives no output spread (the row's requests are then all-mean)."""
    if dataset.mean_output_sq_tokens2 is None:
        return None
    return dataclasses.replace(Lengths.from_dataset(dataset), max_output_tokens=None).with_output_mean(output_len)
