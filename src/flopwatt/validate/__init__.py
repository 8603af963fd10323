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
from flopwatt.errors import InputError
from flopwatt.estimate import Estimate, estimate_training
from flopwatt.footprint import default_setting, run_footprint
from flopwatt.perf import flops as fl
from flopwatt.perf.space import PlanRequest
from flopwatt.specs import System, TrainingWorkload
from flopwatt.validate import conventions as conv
from flopwatt.validate.reliability import RELIABILITY_SCHEMA, read_reliability_rows, validate_reliability
from flopwatt.validate.row_specs import _measured, _model, _system
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
from flopwatt.validate.serving import FRAMEWORKS, INFER_METRICS, _engine, _infer_row


def _request(row: dict[str, str], devices: int, notes: list[str]) -> PlanRequest:
    gb = _int(row, "global_batch_seqs")
    if gb is None:
        raise Skip("global batch not published (it sets the pipeline bubble and the data-parallel share)")
    recompute = row["recompute"].strip() or None
    zero = _int(row, "zero_stage")
    micro, note = conv.micro_batch(row["id"], _int(row, "micro_batch"), _int(row, "pp"))
    if note:
        notes.append(note)
    tp, pp, cp = _int(row, "tp"), _int(row, "pp"), _int(row, "cp") or 1
    return PlanRequest(devices=devices, global_batch=gb, tp=tp, pp=pp, dp=_dp(row, devices, tp, pp, cp, notes), cp=cp,
                       ep=_int(row, "ep"), vpp=_int(row, "vpp"), micro_batch=micro, zero_stage=zero,
                       recompute=recompute)


def _dp(row: dict[str, str], devices: int, tp: int | None, pp: int | None, cp: int, notes: list[str]) -> int | None:
    """The row's dp, unless tp x pp x cp x dp is not its device count: then dp is left to the devices (a stated rule;
    the other degrees shape each replica, dp only repeats it). Skip when tp x pp x cp does not divide the devices."""
    dp, shaped = _int(row, "dp"), (tp or 1) * (pp or 1) * cp
    if devices % shaped:
        raise Skip(f"published tp x pp x cp = {shaped} does not divide the {devices} devices")
    if dp is None:
        return None
    whole_plan = tp is not None and pp is not None  # else the search fills tp or pp: dp x shaped need only divide
    if (dp * shaped == devices) if whole_plan else (devices % (dp * shaped) == 0):
        return dp
    notes.append(f"published tp {tp} x pp {pp} x cp {cp} x dp {dp} is not the {devices} devices: dp "
                 f"{devices // shaped} from the devices (rule)")
    return None


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
    seq = _seq_len(row, notes)
    system = _system(row)
    # blank = "mixed precision, 16-bit type not stated": fp16 and bf16 share the peak where both exist
    precision = row["precision"].strip() or system.accelerator.half_precision()
    if precision not in system.accelerator.peak_flops_per_s:
        raise Skip(f"precision {precision!r} has no published peak on {system.accelerator.id}")
    tokens = _float(row, "tokens_total_b")
    workload = TrainingWorkload(model=model, seq_len=seq, precision=precision,
                                tokens=tokens * 1e9 if tokens else None)
    stack = _stack(row, notes)
    request = _request(row, devices, notes)
    estimate = estimate_training(workload, system, stack, request)
    if estimate.best is None and request.pp is not None and set(estimate.infeasible_counts()) == {"layers_pp"}:
        estimate = _published_split(workload, system, stack, request, notes)
    if estimate.best is None:
        raise Skip(f"no feasible plan ({estimate.infeasible_counts()})")
    return workload, system, devices, estimate


def _seq_len(row: dict[str, str], notes: list[str]) -> int:
    """The row's sequence length, else its catalog model's published context: the rule ``flopwatt train`` states
    (:func:`flopwatt.api.training.train_outcome`)."""
    seq = _int(row, "seq_len")
    if seq is not None:
        return seq
    known = catalog.model_by_name(row["model"])
    if known is None or known.seq_len is None:
        raise Skip("sequence length not published and no catalog model gives a published context")
    notes.append(f"seq_len = {known.seq_len}: the published context of {known.id} (rule, as flopwatt train)")
    return known.seq_len


def _published_split(workload: TrainingWorkload, system: System, stack, request: PlanRequest,
                     notes: list[str]) -> Estimate:
    """The row's published pipeline layout, which its stack's split rule refuses, ran: its framework split the
    layers some other way. Rule: the layers and the embedding and output layers balanced as L + 2 units over the
    pp x vpp stages (``transformer-embedding``, which Megatron-Core >= 0.13's any-split
    ``--pipeline-model-parallel-layout`` and torchtitan's split points allow; perf/partition.py)."""
    notes.append(f"the published pp x vpp split is not one stack {stack.id}'s '{stack.pipeline_partition}' rule "
                 "accepts, yet the run used it: layers + embedding + output balanced over the stages (rule)")
    relaxed = dataclasses.replace(stack, pipeline_partition="transformer-embedding")
    return estimate_training(workload, system, relaxed, request)


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



def _energy_row(row: dict[str, str]) -> RowResult:
    """GPU-hours = expected wall time with interruptions x devices. Energy follows the source's definition
    (conventions.toml): a 'TDP' estimate is GPU-hours x board power (x the PUE it states); 'modelled' the
    facility energy. A source the table does not know is taken as a TDP estimate without a PUE (a stated rule:
    DATASET.md's energy_kwh is 'mostly TDP- or measured-power x time x PUE estimates, not metered', and model
    cards such as Llama 2's and Llama 3's multiply GPU-hours by board power alone)."""
    metric = row["metric"]
    if metric not in ("gpu_hours", "energy_kwh"):
        raise Skip(f"metric {metric} is not predicted for energy rows")
    notes: list[str] = []
    workload, system, devices, estimate = _estimate_row(row, notes)
    fp = _footprint(workload, system, devices, estimate)
    gpu_hours = fp["reliability/expected_wall_s"] * devices / 3600.0
    convention = conv.for_row(row["id"])
    board_w = system.accelerator.board_power_w
    energy = convention.energy
    if metric == "energy_kwh" and energy is None:
        energy = "tdp"
        notes.append("energy estimate of the source not in conventions.toml: GPU-hours x board power, no PUE (rule)")
    if metric == "gpu_hours":
        predicted = gpu_hours
    elif energy == "tdp" and board_w is not None:
        predicted = gpu_hours * board_w / 1e3 * (convention.stated_pue or 1.0)
    elif "energy/facility_j" in fp:
        predicted = fp["energy/facility_j"] / 3.6e6
    else:
        raise Skip(f"{system.accelerator.id} board power unpublished: energy unknown")
    return RowResult(row["id"], metric, _measured(row), predicted, estimate.best_summary()["plan"], notes)


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


__all__ = ["FRAMEWORKS", "INFER_METRICS", "KINDS", "RELIABILITY_SCHEMA", "SCHEMA", "TRAIN_METRICS", "RowResult", "Skip",
           "_engine", "_infer_row", "read_reliability_rows", "read_rows", "validate", "validate_reliability"]
