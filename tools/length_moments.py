"""First and second moments of a serving request set's prompt/output lengths.

Input: a CSV with one row per request and integer token-count columns ``input_length`` and
``output_length`` (e.g. openshift-psap/performance-dashboard mlperf-data/summaries/llama2-70b-99.csv,
the 24,576-sample MLPerf llama2-70b OpenOrca set). Column names can be changed with --input/--output.

Prints, over all rows (population moments, divided by n, not n - 1):

- n, the token sums, the means E[in], E[out] and the maxima;
- the raw second moments E[in^2], E[out^2], E[in*out];
- std, coefficient of variation (std / mean) of each, and the in-out correlation coefficient;
- the two length-biased means a continuous-batching model needs (a request of output o holds its
  batch slot for o decode iterations, so slots are occupied in proportion to o):
  mean KV context of a busy slot = (E[in*out] + E[out^2]/2) / E[out], and
  mean KV reserved by a slot (prompt + full output) = (E[in*out] + E[out^2]) / E[out];
- the catalog keys (6 significant digits) for src/flopwatt/catalog/datasets.toml.

Sums are exact (Python integers); only the final divisions are floating point.

Run: python tools/length_moments.py /tmp/openorca/llama2-70b-99.csv
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
from pathlib import Path


def read_lengths(path: Path, input_col: str, output_col: str) -> tuple[list[int], list[int]]:
    """The (input, output) token counts of every row; rejects missing or non-integer values."""
    ins: list[int] = []
    outs: list[int] = []
    with path.open(newline="", encoding="utf-8") as fh:
        for line_no, row in enumerate(csv.DictReader(fh), start=2):
            try:
                ins.append(int(row[input_col]))
                outs.append(int(row[output_col]))
            except (KeyError, TypeError, ValueError) as exc:
                raise SystemExit(f"{path}:{line_no}: bad row {row!r} ({exc})") from exc
    if not ins:
        raise SystemExit(f"{path}: no data rows")
    return ins, outs


def moments(ins: list[int], outs: list[int]) -> dict[str, float]:
    """Means, raw second moments, std, CV, correlation and the length-biased KV means."""
    n = len(ins)
    s_i, s_o = sum(ins), sum(outs)
    s_ii = sum(x * x for x in ins)
    s_oo = sum(y * y for y in outs)
    s_io = sum(x * y for x, y in zip(ins, outs, strict=True))
    e_i, e_o = s_i / n, s_o / n
    e_ii, e_oo, e_io = s_ii / n, s_oo / n, s_io / n
    var_i, var_o = (n * s_ii - s_i * s_i) / n**2, (n * s_oo - s_o * s_o) / n**2  # exact numerators
    cov = (n * s_io - s_i * s_o) / n**2
    std_i, std_o = math.sqrt(var_i), math.sqrt(var_o)
    return {
        "n": n,
        "sum_input": s_i,
        "sum_output": s_o,
        "max_input": max(ins),
        "max_output": max(outs),
        "mean_input": e_i,
        "mean_output": e_o,
        "mean_input_sq": e_ii,
        "mean_output_sq": e_oo,
        "mean_input_output": e_io,
        "std_input": std_i,
        "std_output": std_o,
        "cv_input": std_i / e_i,
        "cv_output": std_o / e_o,
        "corr_input_output": cov / (std_i * std_o),
        "busy_slot_kv_context": (e_io + e_oo / 2) / e_o,
        "slot_kv_reserved": (e_io + e_oo) / e_o,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv", type=Path, help="per-request CSV with input/output token counts")
    parser.add_argument("--input", default="input_length", help="input-length column (default input_length)")
    parser.add_argument("--output", default="output_length", help="output-length column (default output_length)")
    args = parser.parse_args(argv)

    m = moments(*read_lengths(args.csv, args.input, args.output))
    print(f"# {args.csv}")
    for key, value in m.items():
        print(f"{key:22s} {value}" if isinstance(value, int) else f"{key:22s} {value:.6g}")
    print("\n# catalog keys (6 significant digits)")
    print(f"mean_output_sq_tokens2 = {m['mean_output_sq']:.6g}")
    print(f"mean_input_output_tokens2 = {m['mean_input_output']:.6g}")
    print(f"mean_input_sq_tokens2 = {m['mean_input_sq']:.6g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
