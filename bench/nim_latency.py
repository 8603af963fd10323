"""Serving model against NVIDIA NIM's published latency-versus-concurrency tables (TensorRT-LLM profile).

Reads bench/data/nim_llama_latency.csv (docs.nvidia.com/nim/benchmarking/llm/1.0.0/performance: TTFT, ITL and
output tokens/s of a NIM at a stated concurrency of closed-loop AIPerf clients, fixed input/output lengths, TP
as published) and prints, row by row, the measured inter-token latency (ITL) and TTFT beside the model's TPOT and
TTFT at a batch of ``concurrency`` sequences, the iteration time of moderate batches that a throughput table
cannot separate from the batch size. Where the concurrency exceeds the model's KV capacity the batch is that
capacity (the server is saturated: the extra clients queue, so TTFT is not comparable and is not scored).

The engine is flopwatt's default (TensorRT-LLM defaults: whole KV reserved at admission, 8192-token chunks, no
CUDA-graph padding): the NIM profile's own engine options are not published. These rows are read by no fit.
Run: ``python bench/nim_latency.py``.
"""

from __future__ import annotations

import csv
import statistics
from pathlib import Path

import numpy as np

from flopwatt import catalog
from flopwatt import serve as serving_api
from flopwatt.perf.serving import ServingPlans, evaluate_serving
from flopwatt.serve import ServeRequest

DATA = Path(__file__).with_name("data") / "nim_llama_latency.csv"


def at_concurrency(row: dict[str, str]) -> dict[str, float]:
    """Model metrics at a batch of the row's concurrency, or at the KV capacity when fewer fit."""
    tp, clients = int(row["tp"]), int(row["concurrency"])
    req = ServeRequest(model=catalog.get("models", row["model"]), system=catalog.system_for(row["accelerator"]),
                       devices=tp, tp=tp, input_len=float(row["input_len"]), output_len=float(row["output_len"]),
                       precision=row["precision"])
    hardware, element_bytes, slo = serving_api._setup(req)  # noqa: SLF001 - the hardware flopwatt serve uses
    batch = np.arange(1, clients + 1, dtype=float)
    ones = np.ones_like(batch)
    result = evaluate_serving(req.model, hardware, req.devices, ServingPlans(tp=ones * tp, pp=ones, batch=batch),
                              lengths=req.lengths, element_bytes=element_bytes, slo=slo, engine=req.engine)
    fits = np.flatnonzero(result.feasible)
    i = int(fits[-1]) if len(fits) else 0
    return {"batch": float(batch[i]), "saturated": float(batch[i] < clients),
            **{k: float(v[i]) for k, v in result.metrics.items()}}


def main() -> None:
    itl: dict[bool, list[float]] = {False: [], True: []}
    print(f"{'model':13} {'accelerator':15} {'tp':>2} {'in/out':>9} {'conc':>4} {'batch':>5} "
          f"{'ITL ms':>7} {'TPOT ms':>7} {'ratio':>5} {'TTFT ms':>8} {'pred ms':>8} ratio")
    for row in csv.DictReader(DATA.open()):
        m = at_concurrency(row)
        measured_itl, ttft = float(row["itl_s"]), float(row["ttft_s"])
        r_itl = m["tpot_s"] / measured_itl
        saturated = m["saturated"] > 0
        itl[saturated].append(r_itl)
        predicted_ttft = "queued" if saturated else f"{1e3 * m['ttft_s']:.1f}"
        ttft_ratio = "" if saturated else f"{m['ttft_s'] / ttft:5.2f}"
        lengths = row["input_len"] + "/" + row["output_len"]
        print(f"{row['model']:13} {row['accelerator']:15} {row['tp']:>2} {lengths:>9} {row['concurrency']:>4} "
              f"{m['batch']:5.0f} {1e3 * measured_itl:7.2f} {1e3 * m['tpot_s']:7.2f} {r_itl:5.2f} "
              f"{1e3 * ttft:8.1f} {predicted_ttft:>8} {ttft_ratio}")
    for saturated, ratios in itl.items():
        if ratios:
            print(f"ITL {'at the KV capacity (saturated)' if saturated else 'below the KV capacity'}: median "
                  f"predicted/measured {statistics.median(ratios):.2f} over {len(ratios)} rows "
                  f"(min {min(ratios):.2f}, max {max(ratios):.2f})")
    print("TTFT: the model's excludes the wait behind other clients' prompts (no TTFT target given), so only the "
          "concurrency-1 row compares like with like")


if __name__ == "__main__":
    main()
