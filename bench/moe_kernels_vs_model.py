"""The serving model's tensor-parallel MoE layer against the open engines' published fused-MoE kernel timings.

Reads bench/data/open_engine_moe_kernels.csv (vLLM ``benchmark_moe.py`` / SGLang ``tuning_fused_moe_triton.py``
times of one whole fused MoE call, pasted in pull requests; bench/data/README.md) and prints, per row, the
measured time beside the model's time for the same call on the same device: the routed experts' two grouped
GEMMs (:func:`flopwatt.perf.serving_moe.moe_tp_gemms`, weights of the touched experts streamed) and the token
shuffle around them (:func:`flopwatt.perf.serving_moe.token_shuffle_time`), at the row's tokens and expert slice
(tp = the model's expert width / the row's slice). The router GEMM and the shared experts are left out: the
benchmarks feed random gating logits and time the routed experts only. The model's GEMM rates are the
cuBLAS-class tables of ``catalog/efficiency.toml`` (fitted on TensorRT-LLM); no row here is fitted on.

Run: ``python bench/moe_kernels_vs_model.py``. Nothing reads its output; it says how far the open engines'
kernels sit from the rates the serving model assumes for them.
"""

from __future__ import annotations

import csv
import statistics
from collections import defaultdict
from pathlib import Path

import numpy as np

from flopwatt import catalog
from flopwatt import serve as serving_api
from flopwatt.perf import serving_moe
from flopwatt.perf.serving_step import ACT_BYTES, _gemm_group

DATA = Path(__file__).with_name("data") / "open_engine_moe_kernels.csv"
MODELS = {(7168, 256): "deepseek-v3", (7168, 257): "deepseek-v3", (4096, 8): "mixtral-8x7b",
          (2048, 128): "qwen3-30b-a3b", (4096, 128): "qwen3-235b-a22b"}
"""(hidden, experts) of a table -> the catalog model of that MoE shape (257: SGLang fuses DeepSeek's shared
expert into the routed kernel as a 257th; the model runs the 256 routed ones, so its time is a lower bound)."""


def model_time(row: dict[str, str]) -> float:
    """The model's time for the row's fused MoE call (module docstring)."""
    model = catalog.get("models", MODELS[(int(row["hidden"]), int(row["experts"]))])
    tp = model.moe.ffn_hidden / float(row["moe_inter_per_gpu"])
    precision = "bf16" if row["dtype"] == "bf16" else "fp8"
    rates = serving_api._rates(catalog.system_for(row["device"]), precision)  # noqa: SLF001 - serve's own rates
    tokens = np.array([float(row["tokens"])])
    spec = model.moe
    gemms = {k: v for k, v in serving_moe.moe_tp_gemms(model, tokens, np.array([tp]), ACT_BYTES).items()
             if k in ("expert_up", "expert_down")}
    share = 1.0 - (1.0 - spec.topk / spec.experts) ** tokens
    touched = {name: (tokens * spec.topk / spec.experts, share) for name in gemms}
    weight_bytes = 2.0 if precision == "bf16" else 1.0
    time, _ = _gemm_group(gemms, rates, tokens, weight_bytes, touched)
    return float((time + serving_moe.token_shuffle_time(model, rates, tokens, ACT_BYTES))[0])


def main() -> None:
    with DATA.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    ratios: dict[str, list[float]] = defaultdict(list)
    print(f"{'table':58s} {'tokens':>6s} {'measured us':>11s} {'model us':>9s} {'meas/model':>10s}")
    for row in rows:
        table = f"{row['kernel']} {row['engine_version_or_pr']} {row['device']} {row['dtype']}"
        measured, modelled = float(row["time_s"]), model_time(row)
        ratios[table].append(measured / modelled)
        print(f"{table[:58]:58s} {row['tokens']:>6s} {measured * 1e6:11.1f} {modelled * 1e6:9.1f} "
              f"{measured / modelled:10.2f}")
    print("\nmedian measured / model per table:")
    for table, values in ratios.items():
        print(f"  {statistics.median(values):6.2f}  over {len(values):2d} rows  {table}")


if __name__ == "__main__":
    main()
