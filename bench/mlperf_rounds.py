"""MLPerf llama2-70b across submission rounds: the same hardware, newer engines, one serving model.

The validation rows (``validation/visible.csv``, kind ``infer``) are NVIDIA's v4.0 and v4.1
llama2-70b results; ``bench/data/mlperf_inference_v5.csv`` holds 27 v5.0 results the validation never
reads: llama2-70b (Offline, Server, Interactive), Mixtral 8x7B and Llama 3.1 405B on H100, H200, B200,
GB200 NVL72, MI300X and MI325X systems of several submitters. Each row goes through the same path as
``flopwatt validate --kind infer``; the table prints the signed error per row and per round, so the
spread that software alone adds between rounds sits next to the model's error. The last lines count the v5.0
rows per engine profile (conventions.toml ``engine``, else the family rule) with their median |error|.
Each Server row shows the p99 limits it is held to (TTFT/TPOT in ms, from the row: MLPerf's loadgen/mlperf.conf
gives 2000/200 for llama2-70b and mixtral-8x7b, 450/40 for llama2-70b-interactive, 6000/175 for llama3_1-405b,
mlcommons/inference@b66003e10e2db4b8c36a448b0545ec90fcc6e9e9) and the plan the model picked (tp x replicas,
attention groups, sequences per replica).
Run: ``python bench/mlperf_rounds.py [--visible PATH]``.
"""

from __future__ import annotations

import argparse
import re
import statistics
from collections import defaultdict
from pathlib import Path

from flopwatt.validate import FRAMEWORKS, read_rows, validate
from flopwatt.validate import conventions as conv

HELD_OUT = Path(__file__).with_name("data") / "mlperf_inference_v5.csv"
VISIBLE = Path(__file__).resolve().parents[1] / "validation" / "visible.csv"


def _round(source: str) -> str:
    found = re.search(r"MLPerf Inference (v\d\.\d)", source)
    return found[1] if found else "?"


def _benchmark(row: dict[str, str]) -> str:
    text = f"{row['source']} {row['notes']}".lower()
    for name in ("llama2-70b-interactive", "mixtral-8x7b", "llama3.1-405b", "llama2-70b"):
        if name in text:
            return name
    return "?"


def _profile(row: dict[str, str]) -> str:
    """The engines.toml profile the row runs under (conventions.toml ``engine``), or the family rule."""
    named = conv.for_row(row["id"]).engine
    return named if named is not None else f"family({FRAMEWORKS.get(row['framework'].strip(), '?')})"


def _limits(row: dict[str, str]) -> str:
    """The row's p99 TTFT/TPOT limits in ms ("-" for Offline)."""
    if not row["ttft_p99_s"].strip():
        return "-"
    return f"{1e3 * float(row['ttft_p99_s']):.0f}/{1e3 * float(row['tpot_p99_s']):.0f}"


def _plan(plan: dict | None) -> str:
    if not plan:
        return "?"
    groups = f" ep{plan['ep']}" if plan.get("ep", 1) > 1 else ""
    return f"tp{plan['tp']}x{plan['replicas']}{groups} b{plan['batch_per_replica']}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visible", type=Path, default=VISIBLE)
    args = parser.parse_args()
    rows = [r for r in read_rows(args.visible) if r["id"].startswith("MLPI")] + read_rows(HELD_OUT)
    by_id = {r["id"]: r for r in rows}
    report = validate(rows, kind="infer")
    errors: dict[str, list[float]] = defaultdict(list)
    print(f"{'id':10} {'round':5} {'benchmark':24} {'accelerator':16} {'scenario':8} {'measured':>9} "
          f"{'predicted':>9}  error  limits   plan")
    for res in report["rows"]:
        row = by_id[res["id"]]
        group, err = (_round(row["source"]), _benchmark(row)), res["predicted"] / res["measured"] - 1.0
        errors[group].append(err)
        print(f"{res['id']:10} {group[0]:5} {group[1]:24} {row['accelerator']:16} {row['scenario']:8} "
              f"{res['measured']:9.0f} {res['predicted']:9.0f} {100 * err:+6.1f}% {_limits(row):8} "
              f"{_plan(res.get('plan'))}")
    for (rnd, bench), errs in sorted(errors.items()):
        print(f"{rnd} {bench}: median signed error {100 * statistics.median(errs):+.1f}%, median |error| "
              f"{100 * statistics.median(map(abs, errs)):.1f}% over {len(errs)} rows")
    held = [abs(e) for (rnd, _), errs in errors.items() if rnd == "v5.0" for e in errs]
    profiles: dict[str, list[float]] = defaultdict(list)
    for res in report["rows"]:
        if _round(by_id[res["id"]]["source"]) == "v5.0":
            profiles[_profile(by_id[res["id"]])].append(res["predicted"] / res["measured"] - 1.0)
    for name, errs in sorted(profiles.items()):
        print(f"v5.0 engine profile {name}: {len(errs)} rows, median |error| "
              f"{100 * statistics.median(map(abs, errs)):.1f}%")
    print(f"v5.0 (held out): median |error| {100 * statistics.median(held):.1f}% over {len(held)} rows")


if __name__ == "__main__":
    main()
