"""The two serving constants fitted on TensorRT-LLM's published throughput table, and nowhere else.

Both fits read bench/data/trtllm_perf_overview.csv through ``bench/serving_vs_trtllm.py``'s ``predict``
(the MLPerf validation rows are never read) and score a candidate by the mean |log(predicted / measured)|:

- ``roofline``: the exponent n of one GEMM call's smooth roofline, ``(compute^n + memory^n)^(1/n)``
  (a kernel near the ridge point cannot hide all of its memory traffic under its arithmetic; n = inf is
  the sharp max), on the 60 H100/H200 FP8 rows -> ``[gemm_call] roofline_norm`` of efficiency.toml.
- ``fp4``: Blackwell's end-to-end FP4 matmul share (the ``[low_precision]`` fp4 ratio of B200 and GB200)
  on the 40 Blackwell FP4 rows. A bare cuBLASLt FP4 GEMM measures 1.106 (tools/efficiency_tables.py); the
  fitted value lumps what an FP4 serving iteration spends beyond its GEMMs (NVFP4 activation quantisation,
  8/16-bit attention) into the matmul rate -> tools/efficiency_tables.py FITTED. Since the benchmark's
  CUDA-graph padding is modelled (``serving_vs_trtllm.PERF_OVERVIEW_GRAPH_BATCH_SIZES``) it fits 0.70 (0.60
  before: the padded decode slots had been lumped in too).

Both are fitted with ``predict`` as the bench runs it (``flopwatt serve``'s plan, the perf overview's CUDA-graph
padding). Refitted with the padding, ``roofline`` prefers n = 3.0 (mean |log error| 0.0493, 0.0548 at the shipped
2.25); n is left at 2.25, which the training model and the DeepGEMM check (bench/deepgemm_shapes.py) also read.

A third constant is fitted on NVIDIA NIM's latency-versus-concurrency table instead (``bench/nim_latency.py``,
whose rows no other fit and no validation reads):

- ``layer``: the fixed time of one layer of a serving forward pass on NVIDIA devices, whatever its tokens
  (``[layer_pass.NVIDIA] fixed_s``). A throughput table at full batch cannot separate it from the batch size; a
  latency table at a stated concurrency can, so it is scored on both: the mean |log error| of NIM's inter-token
  latency on the rows below the model's KV capacity (the saturated rows' real batch is unknown) plus that of the
  60 H100/H200 FP8 rows of the TensorRT-LLM table (the FP4 rows depend on the ``fp4`` fit, which comes after it).

Each candidate is swapped into the efficiency catalog the serving model reads. Run:
``python bench/calibrate_serving.py [roofline|fp4|layer]`` (all by default).
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
from collections.abc import Callable

import numpy as np

from flopwatt import catalog
from flopwatt.catalog.efficiency import EfficiencyCatalog, LayerPass
from nim_latency import DATA as NIM_DATA
from nim_latency import at_concurrency
from serving_vs_trtllm import DATA, predict

BLACKWELL = ("b200-sxm-180gb", "gb200")


def _with_fp4(eff: EfficiencyCatalog, ratio: float) -> EfficiencyCatalog:
    low = {acc: dict(r) for acc, r in eff.low_precision.items()}
    for acc in BLACKWELL:
        low[acc]["fp4"] = ratio
    return dataclasses.replace(eff, low_precision=low)


def hopper(row: dict) -> bool:
    return row["accelerator"].startswith(("h100", "h200"))


def table_errors(keep: Callable[[dict], bool]) -> Callable[[], tuple[np.ndarray, ...]]:
    """log(predicted / measured) throughput of the kept TensorRT-LLM table rows, under the catalog in force."""
    return lambda: (np.array([np.log(predicted / float(row["output_tokens_per_s"]))
                              for row in csv.DictReader(DATA.open()) if keep(row) and (predicted := predict(row))]),)


def nim_itl_errors() -> np.ndarray:
    """log(predicted TPOT / measured inter-token latency) of the NIM rows below the model's KV capacity."""
    logs = []
    for row in csv.DictReader(NIM_DATA.open()):
        metrics = at_concurrency(row)
        if not metrics["saturated"]:
            logs.append(np.log(metrics["tpot_s"] / float(row["itl_s"])))
    return np.array(logs)


def layer_errors() -> tuple[np.ndarray, np.ndarray]:
    """(NIM inter-token latency, Hopper TensorRT-LLM table throughput) log errors: the ``layer`` fit's two sources."""
    return nim_itl_errors(), table_errors(hopper)()[0]


FITS: dict[str, tuple[tuple, Callable[[EfficiencyCatalog, object], EfficiencyCatalog],
                       Callable[[], tuple[np.ndarray, ...]]]] = {
    "roofline": ((None, 5.0, 4.0, 3.5, 3.0, 2.75, 2.5, 2.25, 2.0, 1.5),
                 lambda eff, n: dataclasses.replace(eff, roofline_norm=n),
                 table_errors(hopper)),
    "fp4": ((1.106, 1.0, 0.9, 0.8, 0.7, 0.65, 0.6, 0.55, 0.5), _with_fp4,
            table_errors(lambda row: row["accelerator"] in BLACKWELL and row["precision"] == "fp4")),
    "layer": (tuple(round(1e-6 * us, 9) for us in range(0, 101, 5)),
              lambda eff, t: dataclasses.replace(eff, layer_pass={**eff.layer_pass, "NVIDIA": LayerPass(t)}),
              layer_errors),
}


def log_errors(trial: EfficiencyCatalog, errors: Callable[[], tuple[np.ndarray, ...]]) -> tuple[np.ndarray, ...]:
    """``errors`` (log errors per source) with ``trial`` as the efficiency catalog."""
    shipped = catalog.efficiency
    catalog.efficiency = lambda: trial  # the serving model reads its efficiencies through this function
    try:
        return errors()
    finally:
        catalog.efficiency = shipped


def fit(name: str) -> None:
    """Print every candidate's score (the sum over its sources of the mean |log error|) and the best."""
    candidates, apply, errors = FITS[name]
    best = None
    for value in candidates:
        sources = log_errors(apply(catalog.efficiency(), value), errors)
        score = float(sum(np.mean(np.abs(logs)) for logs in sources))
        best = (score, value) if best is None or score < best[0] else best
        parts = "; ".join(f"mean |log error| {np.mean(np.abs(logs)):.4f}, median |log error| "
                          f"{np.median(np.abs(logs)):.4f}, median log error {np.median(logs):+.4f} "
                          f"over {len(logs)} rows" for logs in sources)
        total = f" (sum {score:.4f})" if len(sources) > 1 else ""
        print(f"{name} {'max' if value is None else value!s:>5}: {parts}{total}")
    print(f"{name}: best {best[1]} (score {best[0]:.4f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("fits", nargs="*", help=f"any of {', '.join(sorted(FITS))} (default: all)")
    names = parser.parse_args().fits or sorted(FITS)
    if unknown := [n for n in names if n not in FITS]:
        parser.error(f"unknown fit {unknown[0]!r}: expected one of {', '.join(sorted(FITS))}")
    for name in names:
        fit(name)


if __name__ == "__main__":
    main()
