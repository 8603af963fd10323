"""Serving model against TensorRT-LLM's published MoE throughput (a check set: nothing is fitted on it).

Reads bench/data/trtllm_perf_overview_moe.csv (Mixtral 8x7B / 8x22B rows of the v0.17 perf overview, Qwen3-30B-A3B
rows of the v1.0 one) and, with ``--dense``, the dense LLaMA rows of the same v0.17 table
(bench/data/trtllm_perf_overview_v0.17_dense.csv) as a control: a MoE-only cost the model misses shows as MoE rows
off while the dense rows of the same release are not. Each row goes through ``serving_vs_trtllm.predict`` (the
same ``flopwatt serve`` plan) under the engine profile of its release (:func:`engine_for`):

- v0.17: the TensorRT engine path (``trtllm-bench build`` then ``trtllm-bench throughput --engine_dir``, no
  ``--backend pytorch``, no CUDA-graph option in the document's commands), so no graph padding:
  ``tensorrt-llm-0.11`` (engines.toml: max_num_tokens 8192, no chunked context, GUARANTEED_NO_EVICT = reserve;
  the document's sample run prints 'Max Runtime Tokens: 8192' and 'Scheduling Policy: Guaranteed No Evict'),
  and the engine is built for at most 4096 sequences (``trtllm-bench build`` tunes its max batch size as
  ``min(kv_cache_max_requests, 4096)``, :data:`serving_vs_trtllm.TRTLLM_BENCH_MAX_BATCH`; the sample run prints
  'Max Runtime Batch Size: 4096'): ``--max-batch 4096``. The profile's 8192-token budget without chunked context
  cannot take a 20000-token prompt, so the 20000/2000 rows of this release are not predicted.
- v1.0: the PyTorch backend with ``cuda_graph_config: enable_padding: true`` and the same captured batch sizes
  for MoE models as for dense ones (the MoE llm_options.yml adds only ``enable_attention_dp``, a no-op at TP1):
  ``trtllm-perf-overview-v1.0-dense``, as :mod:`serving_vs_trtllm` uses.

Prints per row measured, predicted and their ratio, the median ratio per (model, accelerator, TP) table column,
and the median ratio and median |error| of all rows. Run: ``python bench/serving_vs_trtllm_moe.py [--dense]``.
"""

from __future__ import annotations

import argparse
import csv
import statistics
from collections import defaultdict
from pathlib import Path

from serving_vs_trtllm import ENGINE, TRTLLM_BENCH_MAX_BATCH, predict

DATA = Path(__file__).with_name("data") / "trtllm_perf_overview_moe.csv"
DENSE_V017 = Path(__file__).with_name("data") / "trtllm_perf_overview_v0.17_dense.csv"

ENGINES = {"258c7540c03517def55d9a5aadfa9288af474e1b": "tensorrt-llm-0.11", "00f37686aa854010d68bcbd0f4ab000221541ca6":
           ENGINE}
"""Perf-overview commit -> engine profile of that release's benchmark commands (module docstring)."""


MAX_BATCH = {"tensorrt-llm-0.11": TRTLLM_BENCH_MAX_BATCH}
"""Engine profile -> the max batch size its release's benchmark engine was built with (module docstring)."""


def engine_for(row: dict[str, str]) -> str:
    """The engine profile of the row's release, read from the commit its source names."""
    return ENGINES[row["source"].split("@", 1)[1].split(":", 1)[0]]


def ratios(path: Path, show: bool = True) -> dict[tuple[str, str, str], list[float]]:
    """predicted / measured of every predictable row, per (model, accelerator, TP); printed row by row."""
    out: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    for row in csv.DictReader(path.open()):
        engine = engine_for(row)
        measured = float(row["output_tokens_per_s"])
        predicted = predict(row, engine=engine, max_batch=MAX_BATCH.get(engine))
        ratio = predicted / measured if predicted else float("nan")
        if predicted:
            out[(row["model"], row["accelerator"], row["tp"])].append(ratio)
        if show:
            print(f"{row['model']:14} {row['accelerator']:15} {row['tp']:>2} {row['precision']:4} "
                  f"{row['input_len'] + '/' + row['output_len']:>11} {measured:9.0f} "
                  f"{predicted or float('nan'):9.0f} {ratio:5.2f}")
    return out


def summary(label: str, groups: dict[tuple[str, str, str], list[float]]) -> None:
    for (model, acc, tp), r in groups.items():
        print(f"{label} {model} {acc} tp{tp}: median predicted/measured {statistics.median(r):.2f} over {len(r)}")
    every = [x for r in groups.values() for x in r]
    print(f"{label} all: median predicted/measured {statistics.median(every):.2f}, median |error| "
          f"{100 * statistics.median(abs(x - 1.0) for x in every):.1f}% over {len(every)} rows")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dense", action="store_true", help="also the dense rows of the v0.17 table (control)")
    args = parser.parse_args()
    print(f"{'model':14} {'accelerator':15} {'tp':>2} {'prec':4} {'in/out':>11} {'measured':>9} {'predicted':>9} ratio")
    moe = ratios(DATA)
    dense = ratios(DENSE_V017, show=False) if args.dense else {}
    if dense:
        summary("dense v0.17", dense)
    summary("moe", moe)


if __name__ == "__main__":
    main()
