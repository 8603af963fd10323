"""Validation runner: published, measured runs (shared/reference/DATASET.md schema) through the model.

Each row gives a model shape, hardware, the published plan and one measured metric. Blank plan
fields are chosen as ``flopwatt train`` chooses them (fastest feasible plan). A row the model cannot
evaluate yet is listed under ``skipped`` with the reason, never dropped and never guessed.

Free text (model names aside, which resolve by documented normalisation; notes, source, network)
is never parsed. What a row's typed columns cannot say (how a source counts TFLOP/s, the system,
the request set, a power limit) comes from the per-source table :mod:`flopwatt.validate.conventions`;
every default rule a row relied on is listed in its ``assumptions``. An unknown framework, engine,
metric or accelerator skips the row with the reason; it never aborts the run.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from flopwatt import catalog
from flopwatt.catalog import engine_profiles
from flopwatt.errors import InputError
from flopwatt.estimate import Estimate, estimate_training
from flopwatt.footprint import default_setting, run_footprint
from flopwatt.perf import flops as fl
from flopwatt.perf.lengths import Lengths
from flopwatt.perf.space import PlanRequest
from flopwatt.serve import ServeRequest, estimate_serving
from flopwatt.specs import ModelSpec, System, TrainingWorkload
from flopwatt.specs.model import MoESpec
from flopwatt.validate import conventions as conv
from flopwatt.validate.reliability import RELIABILITY_SCHEMA, read_reliability_rows, validate_reliability
from flopwatt.validate.rows import (
    KINDS,
    SCHEMA,
    TRAIN_METRICS,
    RowResult,
    Skip,
    _float,
    _int,
    _report,
    publishes_run_inputs,
    read_rows,
)


def _moe(row: dict[str, str], known: ModelSpec | None) -> MoESpec | None:
    experts = _int(row, "moe_experts")
    if experts is None:
        return None
    topk, width = _int(row, "moe_topk"), _int(row, "moe_ffn_hidden")
    if topk is None or width is None:
        if known is None or known.moe is None:
            raise Skip("MoE top-k or expert width not published and no catalog model matches")
        topk, width = topk or known.moe.topk, width or known.moe.ffn_hidden
    same = known is not None and known.moe is not None and known.moe.experts == experts
    return MoESpec(experts=experts, topk=topk, ffn_hidden=width, shared_experts=_int(row, "moe_shared_experts") or 0,
                   first_dense_layers=known.moe.first_dense_layers if same else 0,
                   max_nodes_per_token=known.moe.max_nodes_per_token if same else None)


SHAPE = ("layers", "hidden", "ffn_hidden", "heads", "kv_heads", "vocab")


def _model(row: dict[str, str], notes: list[str]) -> ModelSpec:
    """The row's shape; blanks filled from the catalog model its name resolves to. A name that resolves to
    no catalog model needs the whole shape and params_b: the MLP (2 or 3 matrices) and tied or untied
    embeddings are then those whose total is nearest the published params_b (a stated rule)."""
    known = catalog.model_by_name(row["model"])
    shape = {k: _int(row, k) for k in SHAPE}
    if known is None:
        return _unknown_model(row, shape, notes)
    for key, value in shape.items():
        if value is None:
            shape[key] = getattr(known, key)
    return ModelSpec(id=row["id"], name=row["model"], mlp=known.mlp, source=row["source"], retrieved="n/a",
                     position=known.position, tied_embeddings=known.tied_embeddings, head_dim=known.head_dim,
                     moe=_moe(row, known), mla=known.mla, dropout=known.dropout, **shape)


def _unknown_model(row: dict[str, str], shape: dict, notes: list[str]) -> ModelSpec:
    missing = [k for k, v in shape.items() if v is None]
    params_b = _float(row, "params_b")
    if missing or params_b is None:
        what = missing[0] if missing else "params_b"
        raise Skip(f"model {row['model']!r} is not in the catalog and the row lacks {what}")
    candidates = [ModelSpec(id=row["id"], name=row["model"], mlp=mlp, source=row["source"], retrieved="n/a",
                            position="learned", tied_embeddings=tied, moe=_moe(row, None), **shape)
                  for mlp in ("gelu", "swiglu") for tied in (True, False)]
    best = min(candidates, key=lambda m: abs(m.total_params() - params_b * 1e9))
    notes.append(f"model not in the catalog: {best.mlp_matrices}-matrix MLP, "
                 f"{'tied' if best.tied_embeddings else 'untied'} embeddings (nearest published params_b)")
    return best


def _request(row: dict[str, str], devices: int, notes: list[str]) -> PlanRequest:
    gb = _int(row, "global_batch_seqs")
    if gb is None:
        raise Skip("global batch not published (it sets the pipeline bubble and the data-parallel share)")
    recompute = row["recompute"].strip() or None
    zero = _int(row, "zero_stage")
    micro, note = conv.micro_batch(row["id"], _int(row, "micro_batch"), _int(row, "pp"))
    if note:
        notes.append(note)
    return PlanRequest(devices=devices, global_batch=gb, tp=_int(row, "tp"), pp=_int(row, "pp"),
                       dp=_int(row, "dp"), cp=_int(row, "cp") or 1, ep=_int(row, "ep"), vpp=_int(row, "vpp"),
                       micro_batch=micro, zero_stage=zero, recompute=recompute)


def _system(row: dict[str, str]) -> System:
    """The convention's system for the row's source, else the accelerator's first catalog system."""
    acc = row["accelerator"].strip()
    if acc not in catalog.accelerators():
        raise Skip(f"accelerator {acc!r} is not in the catalog")
    chosen = conv.for_row(row["id"]).system
    return catalog.get("systems", chosen) if chosen else catalog.system_for(acc)


def _stack(row: dict[str, str], notes: list[str]):
    framework = row["framework"].strip()
    if not framework:
        notes.append("framework not published: stack megatron-core (rule)")
        return catalog.get("stacks", "megatron-core")
    if framework not in catalog.stacks():
        raise Skip(f"framework {framework!r} has no training stack profile")
    return catalog.get("stacks", framework)


def _estimate_row(row: dict[str, str], notes: list[str]) -> tuple[TrainingWorkload, System, int, Estimate]:
    """The row's workload, system and device count, and the fastest feasible plan for it."""
    model = _model(row, notes)
    devices = _int(row, "n_devices", minimum=1)
    if devices is None:
        raise Skip("device count not published (throughput per device depends on the scale)")
    seq = _int(row, "seq_len")
    if seq is None:
        raise Skip("sequence length not published")
    system = _system(row)
    # blank = "mixed precision, 16-bit type not stated": fp16 and bf16 share the peak where both exist
    precision = row["precision"].strip() or system.accelerator.half_precision()
    if precision not in system.accelerator.peak_flops_per_s:
        raise Skip(f"precision {precision!r} has no published peak on {system.accelerator.id}")
    tokens = _float(row, "tokens_total_b")
    workload = TrainingWorkload(model=model, seq_len=seq, precision=precision,
                                tokens=tokens * 1e9 if tokens else None)
    stack = _stack(row, notes)
    estimate = estimate_training(workload, system, stack, _request(row, devices, notes))
    if estimate.best is None:
        raise Skip(f"no feasible plan ({estimate.infeasible_counts()})")
    return workload, system, devices, estimate


def _footprint(workload: TrainingWorkload, system: System, devices: int, estimate: Estimate) -> dict:
    if workload.tokens is None:
        raise Skip("training tokens not published")
    best = estimate.result.take(np.array([estimate.best]))
    out = run_footprint(best, workload, system, devices, default_setting())
    return {k: float(v[0]) for k, v in out.items()}


def _train_row(row: dict[str, str]) -> RowResult:
    if row["metric"] not in TRAIN_METRICS:
        raise Skip(f"metric {row['metric']} is not predicted for training rows")
    notes: list[str] = []
    workload, system, devices, estimate = _estimate_row(row, notes)
    summary = estimate.best_summary()
    if row["metric"] == "time_to_train_s":  # published wall-clock times include interruptions
        predicted = _footprint(workload, system, devices, estimate)["reliability/expected_wall_s"]
    else:
        predicted = _metric_value(row, workload, summary, devices, notes)
    return RowResult(row["id"], row["metric"], _measured(row), predicted, summary["plan"], notes)


def _measured(row: dict[str, str]) -> float:
    value = _float(row, "value")
    if value is None or value <= 0:
        raise InputError(f"row {row['id']} value", "a positive measured value", row["value"])
    return value


def _energy_row(row: dict[str, str]) -> RowResult:
    """GPU-hours = expected wall time with interruptions x devices. Energy follows the row's own
    definition: a 'TDP' estimate is GPU-hours x board power (x the PUE it states); otherwise the
    modelled facility energy."""
    metric = row["metric"]
    if metric not in ("gpu_hours", "energy_kwh"):
        raise Skip(f"metric {metric} is not predicted for energy rows")
    notes: list[str] = []
    workload, system, devices, estimate = _estimate_row(row, notes)
    fp = _footprint(workload, system, devices, estimate)
    gpu_hours = fp["reliability/expected_wall_s"] * devices / 3600.0
    convention = conv.for_row(row["id"])
    board_w = system.accelerator.board_power_w
    if metric == "gpu_hours":
        predicted = gpu_hours
    elif convention.energy == "tdp" and board_w is not None:
        predicted = gpu_hours * board_w / 1e3 * (convention.stated_pue or 1.0)
    elif "energy/facility_j" in fp:
        predicted = fp["energy/facility_j"] / 3.6e6
    else:
        raise Skip(f"{system.accelerator.id} board power unpublished: energy unknown")
    return RowResult(row["id"], metric, _measured(row), predicted, estimate.best_summary()["plan"], notes)


INFER_METRICS = {"output_tokens_per_s": "output_tokens_per_s", "input_tokens_per_s": "input_tokens_per_s",
                 "ttft_s": "ttft_s", "tpot_s": "tpot_s"}


FRAMEWORKS = {"tensorrt-llm": "tensorrt-llm", "mlperf-nvidia": "tensorrt-llm", "mlperf-amd": "vllm", "vllm": "vllm",
              "sglang": "sglang", "deepseek-infer": "deepseek-infer"}
"""Serving engine each schema framework runs (DATASET_infer.md: NVIDIA's MLPerf harness drives TensorRT-LLM,
AMD's harness_llm a ROCm build of vLLM). The release's profile comes from conventions.toml (``engine``); a row
whose release has none gets the fields all profiled releases of its engine share
(:func:`flopwatt.catalog.engine_profiles.family`)."""


def _engine(row: dict[str, str], notes: list[str], plan: dict[str, int | None]):
    """The row's engine settings (:func:`flopwatt.catalog.engine_profiles.settings`), from its framework and
    the release its source names (conventions.toml). ``plan``: the row's own tp/pp/ep (None where blank),
    which win over a deployment profile's."""
    framework = row["framework"].strip()
    if framework not in FRAMEWORKS:
        raise Skip(f"engine {framework or '(blank)'!r} has no serving profile")
    convention = conv.for_row(row["id"])
    if convention.engine is None:
        profile = engine_profiles.family(FRAMEWORKS[framework])
        notes.append(f"engine release of the row has no profile: fields all {profile.engine} profiles share (rule)")
    else:
        profile = engine_profiles.get(convention.engine)
        if profile.engine != FRAMEWORKS[framework]:
            raise InputError(f"conventions {row['id']}.engine", f"a {FRAMEWORKS[framework]} profile (framework "
                             f"{framework})", convention.engine)
    settings = engine_profiles.settings(profile, limits=not convention.run_sets_batch_limits, **plan)
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
    ep = _int(row, "ep") if row["moe_experts"].strip() else None
    engine = _engine(row, notes, {"tp": tp, "pp": _int(row, "pp"), "ep": ep})
    devices = _int(row, "n_devices", minimum=1)
    out_len = _float(row, "output_len")
    if out_len is None and convention.phase is not None:
        out_len = 1.0
        notes.append(f"{convention.phase} pool measured alone (conventions phase): "
                     + ("each request ends at its first token, output_len 1 (rule)" if convention.phase == "prefill"
                        else "steady-state decode, each sequence holding input_len of KV; output_len 1 (rule)"))
    if devices is None or out_len is None:
        raise Skip("device count or mean output length not published")
    model = _model(row, notes)
    in_len, moments = _input_lengths(row, model, out_len)
    if convention.max_output_tokens is not None:
        moments = dataclasses.replace(moments or Lengths(in_len, out_len),
                                      max_output_tokens=convention.max_output_tokens)
        notes.append(f"each request capped at {convention.max_output_tokens} generated tokens (conventions "
                     "max_output_tokens): a reserving engine holds KV for the cap")
    if convention.attention_dp:
        notes.append(f"attention data-parallel (conventions attention_dp): the source's tp {_int(row, 'tp')} ranks "
                     "are attention groups of tp 1 sharing the experts")
    if convention.redundant_experts:
        notes.append(f"{convention.redundant_experts} redundant experts held over the EP ranks (conventions)")
    _check_serving_plan(row, devices, tp)
    server = row["scenario"].strip().lower() == "server"
    precision = row["precision"].strip() or "bf16"
    if not row["precision"].strip():
        notes.append("precision not published: bf16 (rule)")
    try:
        request = ServeRequest(model=model, system=_system(row), devices=devices, input_len=in_len,
                               output_len=out_len, precision=precision, decode_only=convention.phase == "decode",
                               redundant_experts=convention.redundant_experts,
                               ttft_slo_s=_float(row, "ttft_p99_s") if server else None,
                               tpot_slo_s=_float(row, "tpot_p99_s") if server else None,
                               slo_percentile=99.0 if server else 50.0, length_moments=moments,
                               power_cap_w=_power_limit(row), **engine.knobs())
    except InputError as exc:  # a degree the engine profile fixed is named as the profile's field
        raise engine.blame(exc) from exc
    try:
        best = estimate_serving(request)
    except InputError as exc:
        if exc.field != "plan":  # a malformed row stays an input error; only infeasibility is a skip
            raise
        raise Skip(f"no feasible serving plan ({exc})") from exc
    predicted = best["metrics"][INFER_METRICS[row["metric"]]]
    return RowResult(row["id"], row["metric"], _measured(row), predicted, best["plan"], notes)


def _check_serving_plan(row: dict[str, str], devices: int, tp: int | None) -> None:
    """A published tp x ep x pp beyond the devices counts expert-parallel ranks inside the TP group
    (TensorRT-LLM's moe_ep), not the attention groups of :mod:`flopwatt.perf.serving_ep`: skipped, not mapped
    (unless conventions say the tp ranks run attention data-parallel: ``tp`` is then 1)."""
    ep = _int(row, "ep") if row["moe_experts"].strip() else None
    used = (tp or 1) * (ep or 1) * (_int(row, "pp") or 1)
    if used > devices:
        raise Skip(f"published tp x ep x pp = {used} exceeds the {devices} devices: the source's ep counts "
                   "expert ranks within the TP group, a plan convention not mapped to attention groups")


def _input_lengths(row: dict[str, str], model: ModelSpec, out_len: float) -> tuple[float, Lengths | None]:
    in_len = _float(row, "input_len")
    if in_len is not None:
        return in_len, None
    suite = conv.for_row(row["id"]).suite
    known = catalog.model_by_name(row["model"])
    dataset = catalog.serving_dataset(suite, known.id) if suite and known else None
    if dataset is None:
        raise Skip("mean input length not published and no request set of the row's benchmark for its model")
    return dataset.mean_input_tokens, _dataset_lengths(dataset, out_len)


def _power_limit(row: dict[str, str]) -> float | None:
    """The board power limit the run used, from the submitter's configuration (conventions -> power_limits)."""
    limit = conv.for_row(row["id"]).power_limit
    return None if limit is None else catalog.power_limits()[limit].power_limit_w


def _dataset_lengths(dataset, output_len: float) -> Lengths | None:
    """The request set's length spread, its outputs scaled to the row's generated mean (the dataset
    records reference answers; generation keeps their coefficient of variation: an assumption)."""
    if dataset.mean_output_sq_tokens2 is None:
        return None
    sampled = Lengths(dataset.mean_input_tokens, dataset.mean_output_tokens, dataset.mean_output_sq_tokens2,
                      dataset.mean_input_output_tokens2, dataset.mean_input_sq_tokens2)
    return sampled.with_output_mean(output_len)


def _metric_value(row: dict[str, str], workload: TrainingWorkload, summary: dict, devices: int,
                  notes: list[str]) -> float:
    metric = row["metric"]
    metrics = summary["metrics"]
    step = metrics["step_time_s"]
    if metric == "tflops_per_device":
        convention = conv.for_row(row["id"]).flops_convention
        if convention is None:
            notes.append("TFLOP/s counting convention of the source not in conventions.toml: the plan's hardware "
                         "FLOPs (rule)")
            convention = "hardware"
        if convention == "narayanan-eq3":  # Narayanan eq. 3 counts one recomputed forward of every layer, always
            gb = np.array([summary["plan"]["global_batch"]])
            flops = (fl.model_flops_per_step(workload.model, workload.seq_len, gb)
                     + fl.recompute_flops_per_step(workload.model, workload.seq_len, gb, np.array([2])))
            return float(flops[0]) / (step * devices) / 1e12
        if convention == "model":
            return metrics["model_flops_per_s_per_device"] / 1e12
        return metrics["hardware_flops_per_s_per_device"] / 1e12
    if metric in ("mfu", "hfu", "tokens_per_s", "step_time_s"):
        return metrics[metric]
    if metric == "time_to_train_s":
        if "time_to_train_s" not in metrics:
            raise Skip("training tokens not published")
        return metrics["time_to_train_s"]
    raise Skip(f"metric {metric} is not predicted for training rows")


def validate(rows: list[dict[str, str]], kind: str | None = None) -> dict[str, object]:
    """Run rows (optionally one ``kind``) and return the JSON-ready report."""
    if kind is not None and kind not in KINDS:
        raise InputError("--kind", f"one of {', '.join(KINDS)}", kind)
    results: list[RowResult] = []
    skipped: list[dict[str, str]] = []
    with_inputs: set[str] = set()
    for row in rows:
        if kind is not None and row["kind"] != kind:
            continue
        if publishes_run_inputs(row):
            with_inputs.add(row["id"])
        try:
            runner = RUNNERS.get(row["kind"])
            if runner is None:
                raise Skip(f"kind {row['kind']!r} is not one of {', '.join(KINDS)}")
            results.append(runner(row))
        except Skip as why:
            skipped.append({"id": row["id"], "reason": str(why)})
    return _report(results, skipped, with_inputs)


RUNNERS = {"train": _train_row, "energy": _energy_row, "infer": _infer_row}


__all__ = ["KINDS", "RELIABILITY_SCHEMA", "SCHEMA", "TRAIN_METRICS", "RowResult", "Skip", "read_reliability_rows",
           "read_rows", "validate", "validate_reliability"]
