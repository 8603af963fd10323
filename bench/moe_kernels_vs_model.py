"""The serving model's tensor-parallel MoE layer against the open engines' published fused-MoE kernel timings.

Reads bench/data/open_engine_moe_kernels.csv (vLLM ``benchmark_moe.py`` / SGLang ``tuning_fused_moe_triton.py``
times of one whole fused MoE call, pasted in pull requests; bench/data/README.md) and prints, per row, the
measured time beside the model's time for the same call on the same device: the routed experts' two grouped
GEMMs (:func:`flopwatt.perf.serving_moe.moe_tp_gemms`, weights of the touched experts streamed) and the token
shuffle around them (:func:`flopwatt.perf.serving_moe.token_shuffle_time`), at the row's tokens and expert slice
(tp = the model's expert width / the row's slice). The router GEMM and the shared experts are left out: the
benchmarks feed random gating logits and time the routed experts only. The model's GEMM rates are the
cuBLAS-class tables of ``catalog/efficiency.toml`` (fitted on TensorRT-LLM); no row here is fitted on.

A second column times the same call as one grouped kernel per GEMM (:func:`grouped_time`: one launch, each touched
expert's rows padded to 64-row tiles, vLLM's default ``BLOCK_SIZE_M``; efficiency at the whole group's FLOPs), an
alternative the serving model does not use: it fits these tables at few tokens per expert but runs 1.6-4.8x faster
than the fp8 kernels at hundreds to thousands of tokens, and it made every full-load MoE validation set worse.

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


TILE_ROWS = 64.0
"""vLLM fused_moe ``get_default_config``: ``BLOCK_SIZE_M`` 64 for more tokens than experts and for block FP8 (vllm 0.9.2
wheel, vllm/model_executor/layers/fused_moe/fused_moe.py:760-817)."""


def grouped_time(row: dict[str, str]) -> float:
    """The row's call as one grouped GEMM kernel per shape (module docstring), plus the model's token shuffle."""
    model = catalog.get("models", MODELS[(int(row["hidden"]), int(row["experts"]))])
    rates = serving_api._rates(catalog.system_for(row["device"]),  # noqa: SLF001 - serve's own rates
                               "bf16" if row["dtype"] == "bf16" else "fp8")
    spec, tokens = model.moe, float(row["tokens"])
    width, weight_bytes = float(row["moe_inter_per_gpu"]), 2.0 if row["dtype"] == "bf16" else 1.0
    touched = spec.experts * (1.0 - (1.0 - spec.topk / spec.experts) ** tokens)
    rows = tokens * spec.topk
    padded = touched * np.ceil(rows / touched / TILE_ROWS) * TILE_ROWS
    time = 0.0
    for n, k in (((model.mlp_matrices - 1) * width, model.hidden), (model.hidden, width)):
        nbytes = touched * n * k * weight_bytes + ACT_BYTES * rows * (n + k)
        time += float(rates.gemm_time(np.array([2.0 * padded * n * k]), np.array([nbytes]), linear=True)[0])
    return time + float(serving_moe.token_shuffle_time(model, rates, np.array([tokens]), ACT_BYTES)[0])


def main() -> None:
    with DATA.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    ratios: dict[str, list[tuple[float, float]]] = defaultdict(list)
    print(f"{'table':58s} {'tokens':>6s} {'measured us':>11s} {'model us':>9s} {'meas/model':>10s} "
          f"{'meas/grouped':>12s}")
    for row in rows:
        table = f"{row['kernel']} {row['engine_version_or_pr']} {row['device']} {row['dtype']}"
        measured, modelled, grouped = float(row["time_s"]), model_time(row), grouped_time(row)
        ratios[table].append((measured / modelled, measured / grouped))
        print(f"{table[:58]:58s} {row['tokens']:>6s} {measured * 1e6:11.1f} {modelled * 1e6:9.1f} "
              f"{measured / modelled:10.2f} {measured / grouped:12.2f}")
    print("\nmedian measured / model and measured / grouped alternative, per table:")
    for table, values in ratios.items():
        print(f"  {statistics.median(v[0] for v in values):6.2f} {statistics.median(v[1] for v in values):6.2f}"
              f"  over {len(values):2d} rows  {table}")


if __name__ == "__main__":
    main()
