"""Serving model against TensorRT-LLM's published throughput tables (a set the validation never uses).

Reads bench/data/trtllm_perf_overview.csv (NVIDIA's perf overview: trtllm-bench at an infinite request
rate, fixed input/output lengths, TP as published) and prints, row by row, the measured output tokens/s
of the TP group, what flopwatt's serving model predicts at the same TP, and their ratio, then the median
ratio per accelerator.

The prediction is ``flopwatt serve --engine trtllm-perf-overview-v1.0-dense``'s best plan at the same TP: the
engine profile of the document's own ``llm_options.yml`` (catalog/engines.toml, :data:`ENGINE`), whose captured
CUDA-graph batch sizes pad decode-only iterations (:func:`flopwatt.perf.serving._graph_padding`).

``--at-capacity`` takes instead the benchmark's own operating point: trtllm-bench at an infinite rate keeps as many
sequences running as its KV cache admits (GUARANTEED_NO_EVICT) and its batch limit allows, ``min(KV capacity,
4096)`` (NVIDIA/TensorRT-LLM tensorrt_llm/bench/build/tuning.py ``finetune_setting``: "raw_bs =
min(kv_cache_max_requests, 4096)", the max batch size rounded up from there), the model's KV capacity found one
sequence at a time; ``flopwatt serve`` searches a batch grid and may stop short of a captured size to avoid padding.
Run: ``python bench/serving_vs_trtllm.py [--model llama3.1-70b] [--at-capacity]``.
"""

from __future__ import annotations

import argparse
import csv
import statistics
from collections import defaultdict
from pathlib import Path

import numpy as np

from flopwatt import catalog
from flopwatt import serve as serving_api
from flopwatt.catalog import engine_profiles
from flopwatt.errors import InputError
from flopwatt.perf.serving import ServingPlans, evaluate_serving
from flopwatt.serve import ServeRequest, estimate_serving

DATA = Path(__file__).with_name("data") / "trtllm_perf_overview.csv"

ENGINE = "trtllm-perf-overview-v1.0-dense"
"""The engine profile of the table's trtllm-bench configuration (engines.toml: CUDA-graph padding on, the
document's captured batch sizes)."""

TRTLLM_BENCH_MAX_BATCH = 4096
"""trtllm-bench's cap on its max batch size (tensorrt_llm/bench/build/tuning.py, ``finetune_setting``)."""


def request(row: dict[str, str], engine: str = ENGINE, max_batch: int | None = None) -> ServeRequest:
    """The row as ``flopwatt serve --engine ENGINE --tp TP [--max-batch N]`` builds it
    (:func:`flopwatt.api.serving._core`): the profile's knobs (:func:`flopwatt.catalog.engine_profiles.settings`)
    with the row's TP, and ``max_batch`` where given."""
    tp = int(row["tp"])
    knobs = engine_profiles.settings(engine_profiles.get(engine), tp=tp).knobs()
    if max_batch is not None:
        knobs["max_batch"] = max_batch
    return ServeRequest(model=catalog.get("models", row["model"]), system=catalog.system_for(row["accelerator"]),
                        devices=tp, input_len=float(row["input_len"]), output_len=float(row["output_len"]),
                        precision=row["precision"], **knobs)


def at_kv_capacity(req: ServeRequest) -> dict[str, float] | None:
    """Metrics at the benchmark's concurrency: the most sequences the KV cache holds, at most
    :data:`TRTLLM_BENCH_MAX_BATCH` (module docstring); None when not even one fits."""
    hardware, element_bytes, slo = serving_api._setup(req)  # noqa: SLF001 - the same hardware as flopwatt serve
    batch = np.arange(1, TRTLLM_BENCH_MAX_BATCH + 1, dtype=float)
    ones = np.ones_like(batch)
    plans = ServingPlans(tp=ones * req.tp, pp=ones, batch=batch)
    result = evaluate_serving(req.model, hardware, req.devices, plans, lengths=req.lengths,
                              element_bytes=element_bytes, slo=slo, engine=req.engine)
    fits = np.flatnonzero(result.feasible)
    if not len(fits):
        return None
    i = int(fits[-1])
    return {"batch": float(batch[i]), **{k: float(v[i]) for k, v in result.metrics.items()}}


def predict(row: dict[str, str], at_capacity: bool = False, engine: str = ENGINE,
            max_batch: int | None = None) -> float | None:
    """Predicted output tokens/s of a row under the ``engine`` profile (and ``max_batch``): ``flopwatt serve``'s
    plan, or at the benchmark's KV capacity."""
    req = request(row, engine, max_batch)
    if at_capacity:
        point = at_kv_capacity(req)
        return None if point is None else point["output_tokens_per_s"]
    try:
        return estimate_serving(req)["metrics"]["output_tokens_per_s"]
    except InputError:
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="only rows of this catalog model")
    parser.add_argument("--at-capacity", action="store_true",
                        help="at the benchmark's concurrency (the KV capacity), not flopwatt serve's best plan")
    args = parser.parse_args()
    ratios: dict[str, list[float]] = defaultdict(list)
    print(f"{'model':14} {'accelerator':16} {'tp':>2} {'prec':4} {'in/out':>11} {'measured':>9} {'predicted':>9} ratio")
    for row in csv.DictReader(DATA.open()):
        if args.model and row["model"] != args.model:
            continue
        measured, predicted = float(row["output_tokens_per_s"]), predict(row, args.at_capacity)
        ratio = predicted / measured if predicted else float("nan")
        if predicted:
            ratios[row["accelerator"]].append(ratio)
        print(f"{row['model']:14} {row['accelerator']:16} {row['tp']:>2} {row['precision']:4} "
              f"{row['input_len'] + '/' + row['output_len']:>11} {measured:9.0f} "
              f"{predicted or float('nan'):9.0f} {ratio:5.2f}")
    for acc, r in ratios.items():
        print(f"{acc}: median predicted/measured {statistics.median(r):.2f} over {len(r)} rows "
              f"(min {min(r):.2f}, max {max(r):.2f})")
    errors = [abs(x - 1.0) for r in ratios.values() for x in r]
    if errors:
        print(f"all: median |error| {100 * statistics.median(errors):.2f}% over {len(errors)} rows (in-sample: "
              "[gemm_call] roofline_norm and the Blackwell fp4 ratio are fitted on this table)")


if __name__ == "__main__":
    main()
