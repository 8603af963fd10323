"""Validation runner: published, measured runs (shared/reference/DATASET.md schema) through the model.

Each row gives a model shape, hardware, the published plan and one measured metric. Blank plan
fields are chosen as ``flopwatt train`` chooses them (fastest feasible plan). A row the model cannot
evaluate yet is listed under ``skipped`` with the reason, never dropped and never guessed.

Counting conventions for ``tflops_per_device`` (DATASET.md): rows whose notes cite Narayanan et
al.'s eq. 3 count a full recompute forward pass whatever the plan does; rows that report model FLOPs
exclude recompute; otherwise the plan's hardware FLOPs (with its own recompute) are used.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from flopwatt import catalog
from flopwatt.errors import InputError
from flopwatt.estimate import Estimate, estimate_training
from flopwatt.footprint import default_setting, run_footprint
from flopwatt.perf import flops as fl
from flopwatt.perf.lengths import Lengths
from flopwatt.perf.space import PlanRequest
from flopwatt.reliability import DAY_S
from flopwatt.serve import ServeRequest, estimate_serving
from flopwatt.specs import ModelSpec, System, TrainingWorkload
from flopwatt.specs.model import MoESpec

SCHEMA = ("id,kind,source,model,params_b,layers,hidden,ffn_hidden,heads,kv_heads,vocab,seq_len,moe_experts,"
          "moe_topk,moe_ffn_hidden,moe_shared_experts,accelerator,n_devices,tp,pp,dp,cp,ep,vpp,micro_batch,"
          "global_batch_seqs,zero_stage,recompute,precision,framework,network,input_len,output_len,scenario,"
          "ttft_p99_s,tpot_p99_s,tokens_total_b,metric,value,unit,notes").split(",")
KINDS = ("train", "infer", "energy")
TRAIN_METRICS = ("tflops_per_device", "mfu", "hfu", "tokens_per_s", "step_time_s", "time_to_train_s")


class Skip(Exception):  # noqa: N818 - a control-flow signal, not an error
    """The row lacks what the model needs; the message says what."""


@dataclass(frozen=True, slots=True)
class RowResult:
    id: str
    metric: str
    measured: float
    predicted: float
    plan: dict[str, object]

    @property
    def ape(self) -> float:
        return abs(self.predicted - self.measured) / abs(self.measured)


def read_rows(path: Path) -> list[dict[str, str]]:
    """Rows of a published-runs CSV; the header must be the DATASET.md schema exactly."""
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            header = reader.fieldnames or []
            if list(header) != SCHEMA:
                missing = [c for c in SCHEMA if c not in header]
                detail = f"missing column {missing[0]}" if missing else "columns in the DATASET.md order"
                raise InputError(f"{path} header", f"the DATASET.md schema ({detail})")
            rows = list(reader)
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError("validation file", f"a readable CSV file ({exc.__class__.__name__})", str(path)) from exc
    except csv.Error as exc:
        raise InputError(f"{path}", f"well-formed CSV ({exc})") from exc
    for line, row in enumerate(rows, start=2):
        if None in row or any(v is None for v in row.values()):
            raise InputError(f"{path} line {line}", f"{len(SCHEMA)} fields")
    return rows


def _int(row: dict[str, str], key: str) -> int | None:
    text = row[key].strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError as exc:
        raise InputError(f"row {row['id']} {key}", "a number", text) from exc
    if value != int(value) or value < 0:
        raise InputError(f"row {row['id']} {key}", "a non-negative integer", text)
    return int(value)


def _float(row: dict[str, str], key: str) -> float | None:
    text = row[key].strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError as exc:
        raise InputError(f"row {row['id']} {key}", "a number", text) from exc
    if not np.isfinite(value):
        raise InputError(f"row {row['id']} {key}", "a finite number", text)
    return value


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


def _model(row: dict[str, str]) -> ModelSpec:
    """The row's shape; blanks filled from the catalog model the row names (its own source)."""
    known = catalog.model_by_name(row["model"])
    shape = {k: _int(row, k) for k in ("layers", "hidden", "ffn_hidden", "heads", "kv_heads", "vocab")}
    for key, value in shape.items():
        if value is None:
            if known is None:
                raise Skip(f"{key} not published and no catalog model matches '{row['model']}'")
            shape[key] = getattr(known, key)
    notes = row["notes"].lower()
    mlp = "swiglu" if "swiglu" in notes else "geglu" if ("geglu" in notes or "gated-gelu" in notes) else "gelu"
    if known is not None:
        mlp = known.mlp
    mla = known.mla if known is not None else None
    if mla is None and not row["kv_heads"].strip() and "mla" in notes:
        raise Skip("multi-head latent attention dimensions not published and no catalog model matches")
    return ModelSpec(id=row["id"], name=row["model"], mlp=mlp, source=row["source"], retrieved="n/a",
                     position=known.position if known else "learned",
                     tied_embeddings=known.tied_embeddings if known else True,
                     head_dim=known.head_dim if known else None, moe=_moe(row, known), mla=mla, **shape)


def _request(row: dict[str, str], devices: int) -> PlanRequest:
    gb = _int(row, "global_batch_seqs")
    if gb is None:
        raise Skip("global batch not published (it sets the pipeline bubble and the data-parallel share)")
    recompute = row["recompute"].strip() or None
    zero = _int(row, "zero_stage")
    return PlanRequest(devices=devices, global_batch=gb, tp=_int(row, "tp"), pp=_int(row, "pp"),
                       dp=_int(row, "dp"), cp=_int(row, "cp") or 1, ep=_int(row, "ep"), vpp=_int(row, "vpp"),
                       micro_batch=_int(row, "micro_batch"), zero_stage=zero, recompute=recompute)


def _flops_convention(notes: str) -> str:
    text = notes.lower()
    if re.search(r"eq\.?\s*3", text) or "counts the extra recompute" in text:
        return "eq3"
    if "model flops" in text and "counts the" not in text:
        return "model"
    return "hardware"


def _estimate_row(row: dict[str, str]) -> tuple[TrainingWorkload, System, int, Estimate]:
    """The row's workload, system and device count, and the fastest feasible plan for it."""
    model = _model(row)
    devices = _int(row, "n_devices")
    if devices is None:
        raise Skip("device count not published (throughput per device depends on the scale)")
    seq = _int(row, "seq_len")
    if seq is None:
        raise Skip("sequence length not published")
    system = catalog.system_for(row["accelerator"].strip(), row["network"])
    # blank = "mixed precision, 16-bit type not stated": fp16 and bf16 share the peak where both exist
    precision = row["precision"].strip() or system.accelerator.half_precision()
    tokens = _float(row, "tokens_total_b")
    workload = TrainingWorkload(model=model, seq_len=seq, precision=precision,
                                tokens=tokens * 1e9 if tokens else None)
    stack = catalog.get("stacks", row["framework"].strip() or "megatron-core")
    estimate = estimate_training(workload, system, stack, _request(row, devices))
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
    workload, system, devices, estimate = _estimate_row(row)
    summary = estimate.best_summary()
    if row["metric"] == "time_to_train_s":  # published wall-clock times include interruptions
        predicted = _footprint(workload, system, devices, estimate)["reliability/expected_wall_s"]
    else:
        predicted = _metric_value(row, workload, summary, devices)
    return RowResult(row["id"], row["metric"], float(row["value"]), predicted, summary["plan"])


def _energy_row(row: dict[str, str]) -> RowResult:
    """GPU-hours = expected wall time with interruptions x devices. Energy follows the row's own
    definition: a 'TDP' estimate is GPU-hours x board power (x the PUE it states); otherwise the
    modelled facility energy."""
    workload, system, devices, estimate = _estimate_row(row)
    fp = _footprint(workload, system, devices, estimate)
    gpu_hours = fp["reliability/expected_wall_s"] * devices / 3600.0
    metric = row["metric"]
    if metric == "gpu_hours":
        predicted = gpu_hours
    elif metric == "energy_kwh":
        notes = row["notes"].lower()
        if "tdp" in notes and system.accelerator.board_power_w is not None:
            stated = re.search(r"pue\s*(1\.\d+)", notes)
            predicted = gpu_hours * system.accelerator.board_power_w / 1e3 * (float(stated[1]) if stated else 1.0)
        else:
            predicted = fp["energy/facility_j"] / 3.6e6
    else:
        raise Skip(f"metric {metric} is not predicted for energy rows")
    return RowResult(row["id"], metric, float(row["value"]), predicted, estimate.best_summary()["plan"])


INFER_METRICS = {"output_tokens_per_s": "output_tokens_per_s", "ttft_s": "ttft_s", "tpot_s": "tpot_s"}


def _infer_row(row: dict[str, str]) -> RowResult:
    """Serving throughput/latency of the best plan (max tokens/s within the row's p99 limits).

    A blank mean prompt length is taken from the catalog's benchmark dataset named in the row
    (datasets.toml, measured from the request set itself); none is ever guessed.
    """
    if row["metric"] not in INFER_METRICS:
        raise Skip(f"metric {row['metric']} is not predicted for inference rows")
    devices = _int(row, "n_devices")
    out_len = _float(row, "output_len")
    if devices is None or out_len is None:
        raise Skip("device count or mean output length not published")
    in_len = _float(row, "input_len")
    moments = None
    if in_len is None:
        dataset = catalog.serving_dataset_for(f"{row['model']} {row['notes']}")
        if dataset is None:
            raise Skip("mean input length not published and no catalog dataset matches")
        in_len = dataset.mean_input_tokens
        moments = _dataset_lengths(dataset, out_len)
    server = row["scenario"].strip().lower() == "server"
    request = ServeRequest(model=_model(row), system=catalog.system_for(row["accelerator"].strip(), row["network"]),
                           devices=devices, input_len=in_len, output_len=out_len,
                           precision=row["precision"].strip() or "bf16", tp=_int(row, "tp"), pp=_int(row, "pp"),
                           ep=_int(row, "ep") if row["moe_experts"].strip() else None,
                           kv_reserve=not _grows_kv_on_demand(row),
                           ttft_slo_s=_float(row, "ttft_p99_s") if server else None,
                           tpot_slo_s=_float(row, "tpot_p99_s") if server else None,
                           slo_percentile=99.0 if server else 50.0, length_moments=moments,
                           power_cap_w=_power_limit(row))
    try:
        best = estimate_serving(request)
    except InputError as exc:
        if exc.field != "plan":  # a malformed row stays an input error; only infeasibility is a skip
            raise
        raise Skip(f"no feasible serving plan ({exc})") from exc
    predicted = best["metrics"][INFER_METRICS[row["metric"]]]
    return RowResult(row["id"], row["metric"], float(row["value"]), predicted, best["plan"])


def _grows_kv_on_demand(row: dict[str, str]) -> bool:
    """vLLM and SGLang take KV blocks as tokens arrive (PagedAttention; RadixAttention); TensorRT-LLM, the
    other engine of the schema, reserves a sequence's whole KV at admission (GUARANTEED_NO_EVICT)."""
    text = f"{row['framework']} {row['notes']}".lower()
    return "vllm" in text or "sglang" in text


def _power_limit(row: dict[str, str]) -> float | None:
    """The board power limit the run used, from the submitter's configuration (power_limits.toml)."""
    limit = catalog.power_limit_for(f"{row['model']} {row['accelerator']} {row['source']} {row['notes']}")
    return None if limit is None else limit.power_limit_w


def _dataset_lengths(dataset, output_len: float) -> Lengths | None:
    """The request set's length spread, its outputs scaled to the row's generated mean (the dataset
    records reference answers; generation keeps their coefficient of variation: an assumption)."""
    if dataset.mean_output_sq_tokens2 is None:
        return None
    sampled = Lengths(dataset.mean_input_tokens, dataset.mean_output_tokens, dataset.mean_output_sq_tokens2,
                      dataset.mean_input_output_tokens2, dataset.mean_input_sq_tokens2)
    return sampled.with_output_mean(output_len)


def _metric_value(row: dict[str, str], workload: TrainingWorkload, summary: dict, devices: int) -> float:
    metric = row["metric"]
    metrics = summary["metrics"]
    step = metrics["step_time_s"]
    if metric == "tflops_per_device":
        convention = _flops_convention(row["notes"])
        if convention == "eq3":  # Narayanan eq. 3 counts one recomputed forward of every layer, always
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
    for row in rows:
        if kind is not None and row["kind"] != kind:
            continue
        try:
            if row["kind"] == "train":
                results.append(_train_row(row))
            elif row["kind"] == "energy":
                results.append(_energy_row(row))
            else:
                results.append(_infer_row(row))
        except Skip as why:
            skipped.append({"id": row["id"], "reason": str(why)})
    return _report(results, skipped)


def _report(results: list[RowResult], skipped: list[dict[str, str]]) -> dict[str, object]:
    apes = np.array([r.ape for r in results])
    rows = [{"id": r.id, "metric": r.metric, "measured": r.measured, "predicted": r.predicted,
             "ape": r.ape, "status": "ok", "plan": r.plan} for r in results]
    summary: dict[str, object] = {"n": len(results), "skipped": skipped}
    if len(results):
        summary.update(median_ape=float(np.median(apes)), p90_ape=float(np.percentile(apes, 90)),
                       max_ape=float(apes.max()))
    else:
        summary.update(median_ape=None, p90_ape=None, max_ape=None)
    return {"rows": rows, "summary": summary}


RELIABILITY_SCHEMA = ["id", "source", "n_devices", "days", "cause", "count", "notes"]


def read_reliability_rows(path: Path) -> list[dict[str, str]]:
    """Rows of reliability.csv (its own schema: DATASET.md section reliability.csv)."""
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            if list(reader.fieldnames or []) != RELIABILITY_SCHEMA:
                raise InputError(f"{path} header", f"the reliability.csv schema ({','.join(RELIABILITY_SCHEMA)})")
            return list(reader)
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError("reliability file", f"a readable CSV file ({exc.__class__.__name__})", str(path)) from exc


def validate_reliability(rows: list[dict[str, str]]) -> dict[str, object]:
    """Predicted unexpected interruptions (catalog failure rates) against published counts.

    Only rows counting unexpected interruptions of a whole run are predictions; causes, planned
    maintenance and rows without an exact observation window are listed as skipped with the reason.
    """
    model = catalog.failure_model()
    results, skipped = [], []
    for row in rows:
        cause = row["cause"].lower()
        days = _float(row, "days")
        if "planned" in cause and "unplanned" not in cause:
            skipped.append({"id": row["id"], "reason": "planned maintenance is not a failure: not modelled"})
        elif days is None:
            skipped.append({"id": row["id"], "reason": "observation window not published exactly"})
        elif "total" in cause:
            skipped.append({"id": row["id"], "reason": "total includes planned events, which are not modelled"})
        elif not ("unexpected" in cause and "all causes" in cause):
            skipped.append({"id": row["id"], "reason": "single cause: the catalog's component rates are derived "
                                                       "from these counts (circular), see reliability.toml"})
        else:
            devices = _int(row, "n_devices")
            predicted = float(devices * days * DAY_S * model.rate_per_device_s)
            results.append(RowResult(row["id"], "interruptions", float(row["count"]), predicted, {}))
    return _report(results, skipped)
