"""Serving model against the latency distributions MLPerf LoadGen prints (bench/data/mlperf_latency_tails.csv).

For each Server/Interactive run whose plan, precision, batch cap and token budget its configuration states:

- at the rate the run measured (completed tokens/s), the batch per replica the model needs for it, and there the
  model's mean and p99 TPOT beside the printed ones (the step time and its spread at a known load);
- the rate the model admits under the run's own p99 TTFT/TPOT targets beside the measured rate (what `validate`
  would predict for such a row).

Engine: TensorRT-LLM's release profile with the run's own batch cap (``gpu_batch_size``) and token budget
(``max_num_tokens``, chunked context on), KV taken on demand (NVIDIA's configs set ``batch_scheduler_policy``
``max_util``, e.g. closed/Dell/configs/XE9680L_B200_SXM_180GBx8/Interactive/llama2-70b.py in the v5.1 mirror); the
request set is the benchmark's (catalog/datasets.toml) with the run's own generated tokens per sample (printed
tokens/s over samples/s). A fit set that no fit reads yet.
Run: ``python bench/latency_tails_vs_model.py``.
"""

from __future__ import annotations

import csv
import statistics
from pathlib import Path

import numpy as np

from flopwatt import catalog
from flopwatt import serve as serving_api
from flopwatt.catalog import engine_profiles
from flopwatt.perf.lengths import Lengths
from flopwatt.perf.serving import ServingPlans, Slo, evaluate_serving
from flopwatt.serve import ServeRequest, estimate_serving

DATA = Path(__file__).with_name("data") / "mlperf_latency_tails.csv"
STATED = ("tp", "pp", "max_batch", "max_num_tokens", "precision")


def _request(row: dict[str, str]) -> ServeRequest:
    """The run as a serve request: its model, request set, devices, plan, precision, p99 targets and engine limits."""
    model_id = row["benchmark"].replace("-99.9", "").replace("-99", "")  # the MLPerf task names the catalog model
    dataset = catalog.serving_dataset("mlperf-inference", model_id)
    lengths = Lengths.from_dataset(dataset, float(row["tokens_per_s"]) / float(row["samples_per_s"]))
    system = catalog.system_for(row["accelerator"])
    knobs = engine_profiles.settings(engine_profiles.get("tensorrt-llm-0.11"), accelerator=system.accelerator).knobs()
    budget = int(row["max_num_tokens"])
    knobs.update(kv_reserve=False, max_batch=int(row["max_batch"]), max_tokens_per_iteration=budget,
                 prefill_chunk_tokens=budget, tp=int(row["tp"]), pp=int(row["pp"]))
    return ServeRequest(model=catalog.get("models", model_id), system=system, devices=int(row["n_devices"]),
                        input_len=lengths.input_tokens,
                        output_len=lengths.output_tokens, length_moments=lengths, precision=row["precision"],
                        ttft_slo_s=float(row["ttft_target_s"]), tpot_slo_s=float(row["tpot_target_s"]),
                        slo_percentile=99.0, **knobs)


def at_measured_rate(req: ServeRequest, rate: float) -> dict[str, float] | None:
    """Model metrics at the smallest batch per replica whose rate (no TTFT target, so no queue share) reaches the
    measured ``rate``; None where no batch within the cap and memory does."""
    hardware, element_bytes, _ = serving_api._setup(req)  # noqa: SLF001 - the hardware flopwatt serve uses
    batch = np.arange(1, req.max_batch * req.pp + 1, dtype=float)
    ones = np.ones_like(batch)
    plans = ServingPlans(tp=ones * req.tp, pp=ones * req.pp, batch=batch)
    result = evaluate_serving(req.model, hardware, req.devices, plans, lengths=req.lengths,
                              element_bytes=element_bytes, slo=Slo(percentile=99.0), engine=req.engine)
    reached = np.flatnonzero(result.feasible & (result.metrics["output_tokens_per_s"] >= rate))
    if not len(reached):
        return None
    i = int(reached[0])
    return {"batch": float(batch[i]), **{k: float(v[i]) for k, v in result.metrics.items()}}


def main() -> None:
    tpot_ratio: dict[str, list[float]] = {}
    tail_ratio: dict[str, list[float]] = {}
    rate_ratio: dict[str, list[float]] = {}
    print(f"{'id':8} {'accelerator':15} {'benchmark':14} {'scenario':11} {'b*':>5} {'TPOT ms':>7} {'model':>6} "
          f"{'p99/mean':>8} {'model':>6} {'tok/s':>9} {'admitted':>9} ratio")
    for row in csv.DictReader(DATA.open()):
        if not all(row[k] for k in STATED):
            print(f"{row['id']:8} skipped: {', '.join(k for k in STATED if not row[k])} not stated")
            continue
        req = _request(row)
        rate = float(row["tokens_per_s"])
        at = at_measured_rate(req, rate)
        admitted = estimate_serving(req)["metrics"]["output_tokens_per_s"]
        scen = row["scenario"]
        rate_ratio.setdefault(scen, []).append(admitted / rate)
        measured_mean, measured_p99 = float(row["tpot_mean_s"]), float(row["tpot_p99_s"])
        if at is None:
            print(f"{row['id']:8} {row['accelerator']:15} {row['benchmark']:14} {scen:11} the measured rate is beyond "
                  f"the model's at the cap; admitted {admitted:9.0f} ratio {admitted / rate:5.2f}")
            continue
        tpot_ratio.setdefault(scen, []).append(at["tpot_s"] / measured_mean)
        model_tail = at["tpot_slo_percentile_s"] / at["tpot_s"]
        tail_ratio.setdefault(scen, []).append(model_tail / (measured_p99 / measured_mean))
        print(f"{row['id']:8} {row['accelerator']:15} {row['benchmark']:14} {scen:11} {at['batch']:5.0f} "
              f"{1e3 * measured_mean:7.1f} {1e3 * at['tpot_s']:6.1f} {measured_p99 / measured_mean:8.2f} "
              f"{model_tail:6.2f} {rate:9.0f} {admitted:9.0f} {admitted / rate:5.2f}")
    for name, table in (("mean TPOT at the measured rate, model/measured", tpot_ratio),
                        ("p99/mean TPOT, model/measured", tail_ratio),
                        ("rate admitted under the run's targets, model/measured", rate_ratio)):
        for scen, values in sorted(table.items()):
            print(f"{name}, {scen}: median {statistics.median(values):.2f} over {len(values)} runs "
                  f"(min {min(values):.2f}, max {max(values):.2f})")


if __name__ == "__main__":
    main()
