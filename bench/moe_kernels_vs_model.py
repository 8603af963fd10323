"""The serving model's tensor-parallel MoE layer against the open engines' published fused-MoE kernel timings.

Reads bench/data/open_engine_moe_kernels.csv (vLLM ``benchmark_moe.py`` / SGLang ``tuning_fused_moe_triton.py``
times of one whole fused MoE call, pasted in pull requests; bench/data/README.md) and prints, per row, the
measured time over three readings of the same call on the same device, each plus the token shuffle around the
GEMMs (:func:`flopwatt.perf.serving_moe.token_shuffle_time`), at the row's tokens and expert slice (tp = the
model's expert width / the row's slice):

- model: what the serving model runs, :func:`flopwatt.perf.serving_moe.routed_expert_time`;
- per expert: one GEMM call per expert at the small-GEMM efficiency of ``catalog/efficiency.toml`` (the model's
  reading before the grouped pass, and still its reading once an expert's rows fill a tile);
- grouped: :func:`flopwatt.perf.serving_moe.grouped_expert_time`, one pass per GEMM shape, 64-row tiles.

The router GEMM and the shared experts are left out: the benchmarks feed random gating logits and time the routed
experts only. No row here is fitted on.

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
from flopwatt.perf.serving_step import ACT_BYTES, ROUTED_EXPERTS, _expert_shapes, _gemm_group

DATA = Path(__file__).with_name("data") / "open_engine_moe_kernels.csv"
MODELS = {(7168, 256): "deepseek-v3", (7168, 257): "deepseek-v3", (4096, 8): "mixtral-8x7b",
          (2048, 128): "qwen3-30b-a3b", (4096, 128): "qwen3-235b-a22b"}
"""(hidden, experts) of a table -> the catalog model of that MoE shape (257: SGLang fuses DeepSeek's shared
expert into the routed kernel as a 257th; the model runs the 256 routed ones, so its time is a lower bound)."""


def readings(row: dict[str, str]) -> tuple[float, float, float]:
    """(model, per-expert, grouped) time of the row's fused MoE call (module docstring)."""
    model = catalog.get("models", MODELS[(int(row["hidden"]), int(row["experts"]))])
    tp = np.array([model.moe.ffn_hidden / float(row["moe_inter_per_gpu"])])
    precision = "bf16" if row["dtype"] == "bf16" else "fp8"
    rates = serving_api._rates(catalog.system_for(row["device"]), precision)  # noqa: SLF001 - serve's own rates
    tokens, spec = np.array([float(row["tokens"])]), model.moe
    weight_bytes = 2.0 if precision == "bf16" else 1.0
    gemms = {k: v for k, v in serving_moe.moe_tp_gemms(model, tokens, tp, ACT_BYTES).items() if k in ROUTED_EXPERTS}
    share = 1.0 - (1.0 - spec.topk / spec.experts) ** tokens
    touched = {name: (tokens * spec.topk / spec.experts, share) for name in gemms}
    per_expert, _ = _gemm_group(gemms, rates, tokens, weight_bytes, touched)
    experts, rows = spec.experts * share, tokens * spec.topk
    grouped = serving_moe.grouped_expert_time(rates, experts, rows, _expert_shapes(model, spec.ffn_hidden / tp),
                                              weight_bytes, ACT_BYTES)
    modelled = serving_moe.routed_expert_time(per_expert, grouped, rows / experts)
    shuffle = serving_moe.token_shuffle_time(model, rates, tokens, ACT_BYTES)
    return tuple(float((t + shuffle)[0]) for t in (modelled, per_expert, grouped))


def main() -> None:
    with DATA.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    ratios: dict[str, list[tuple[float, ...]]] = defaultdict(list)
    print(f"{'table':58s} {'tokens':>6s} {'measured us':>11s} {'model us':>9s} {'meas/model':>10s} "
          f"{'meas/per-expert':>15s} {'meas/grouped':>12s}")
    for row in rows:
        table = f"{row['kernel']} {row['engine_version_or_pr']} {row['device']} {row['dtype']}"
        measured = float(row["time_s"])
        ratio = tuple(measured / t for t in readings(row))
        ratios[table].append(ratio)
        print(f"{table[:58]:58s} {row['tokens']:>6s} {measured * 1e6:11.1f} {measured / ratio[0] * 1e6:9.1f} "
              f"{ratio[0]:10.2f} {ratio[1]:15.2f} {ratio[2]:12.2f}")
    print("\nmedian measured / model, / per expert, / grouped, per table:")
    for table, values in ratios.items():
        medians = (statistics.median(v[i] for v in values) for i in range(3))
        print("  " + " ".join(f"{m:6.2f}" for m in medians) + f"  over {len(values):2d} rows  {table}")


if __name__ == "__main__":
    main()
