"""Write VALIDATION.md from ``flopwatt validate <set> --json`` for every validation set.

Each set is run through the installed CLI (a subprocess, the same command a user types); the page is
generated from the JSON it prints, never written by hand: per set (and per kind where a set mixes kinds)
the rows predicted (n), the rows skipped, coverage = n / (n + skipped), and beside it the coverage of the
rows that publish their run inputs (devices, batch, sequence length; serving: devices, output length), the
median, 90th-percentile and largest absolute percentage error, the frameworks and accelerator vendors of the
predicted rows, and every skip reason with its row ids. The header records the command, the date and the git commit.

    python tools/validation_report.py [--out VALIDATION.md]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SETS = (  # (file under validation/, --kind or None, what it is)
    ("visible.csv", "train", "visible (calibration) set, training rows"),
    ("visible.csv", "energy", "visible set, energy rows"),
    ("visible.csv", "infer", "visible set, serving rows"),
    ("train_fit.csv", None, "training fit set (SPLIT.md)"),
    ("train_heldout.csv", None, "training held-out set (SPLIT.md; nothing fitted on it)"),
    ("train_heldout.csv", "train", "training held-out set, training rows"),
    ("train_heldout.csv", "energy", "training held-out set, energy rows"),
    ("infer_heldout.csv", None, "serving held-out set (SPLIT_infer.md)"),
    ("infer_heldout2.csv", None, "second serving held-out set (SPLIT_infer.md; run once, model frozen)"),
    ("infer_heldout3.csv", None, "third serving held-out set (SPLIT_infer.md; run once, model frozen)"),
    ("infer_heldout4.csv", None, "fourth serving held-out set (SPLIT_infer.md; run once, model frozen)"),
    ("infer_heldout5.csv", None, "fifth serving held-out set (SPLIT_infer.md; run once, model frozen)"),
    ("infer_heldout6.csv", None, "sixth serving held-out set, unknown sources (SPLIT_infer.md; run once)"),
    ("infer_heldout7.csv", None, "seventh serving held-out set, open engines (SPLIT_infer.md; run once)"),
    ("infer_heldout8.csv", None, "eighth serving held-out set, MoE at full load (SPLIT_infer.md; run once)"),
    ("infer_heldout9.csv", None, "ninth serving held-out set, MoE layouts (SPLIT_infer.md; run once)"),
    ("infer_heldout10.csv", None, "tenth serving held-out set, open engines at full load and fixed concurrency "
     "(SPLIT_infer.md; run once)"),
    ("infer_heldout11.csv", None, "eleventh serving held-out set, MoE at fixed load (SPLIT_infer.md; run once)"),
    ("infer_heldout12.csv", None, "twelfth serving held-out set, open engines at full and high fixed load "
                            "(SPLIT_infer.md; run once)"),
    ("infer_heldout13.csv", None, "thirteenth serving held-out set, vLLM builds on MI300X at one batch, offline "
                            "and fixed load (SPLIT_infer.md; run once)"),
    ("infer_heldout14.csv", None, "fourteenth serving held-out set, vLLM and SGLang on NVIDIA at full load, fixed "
                            "load and one batch (SPLIT_infer.md; run once)"),
    ("infer_heldout15.csv", None, "fifteenth serving held-out set, MLPerf v6.0 on MI350X and MI355X "
                            "(SPLIT_infer.md; run once)"),
    ("infer_heldout16.csv", None, "sixteenth serving held-out set, vLLM and SGLang on MI300X, H100 and H200 "
                            "(SPLIT_infer.md; run once)"),
    ("infer_heldout17.csv", None, "seventeenth serving held-out set, MLPerf v6.1 on AMD's vLLM stack, SGLang and "
                            "vLLM on GB200 (SPLIT_infer.md; run once)"),
    ("strong_scaling.csv", None, "MegaScale Table 2 strong scaling (held out as a whole)"),
)


class RunFailed(Exception):
    """The validate command exited with an error; the message is its stderr."""


def run_set(path: Path, kind: str | None) -> dict:
    """The JSON report of ``flopwatt validate path [--kind kind] --json``; RunFailed if it exits non-zero."""
    command = [sys.executable, "-m", "flopwatt", "validate", str(path), "--json"]
    if kind:
        command[4:4] = ["--kind", kind]
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)
    if done.returncode != 0:
        raise RunFailed(f"exit {done.returncode}: {done.stderr.strip()}")
    return json.loads(done.stdout)


def _vendors(ids: list[str], rows: dict[str, dict[str, str]]) -> dict[str, int]:
    from flopwatt import catalog

    accelerators = catalog.accelerators()
    counts: dict[str, int] = defaultdict(int)
    for row_id in ids:
        acc = accelerators.get(rows[row_id]["accelerator"])
        counts[acc.vendor if acc else "unknown"] += 1
    return dict(counts)


def _frameworks(ids: list[str], rows: dict[str, dict[str, str]]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for row_id in ids:
        counts[rows[row_id]["framework"] or "(blank)"] += 1
    return dict(counts)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f} %"


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))) or "-"


def _with_inputs(r: dict) -> str:
    if r.get("rows_with_inputs") is None:
        return "-"
    return f"{_pct(r['coverage_inputs'])} of {r['rows_with_inputs']}"


def summarise(file: str, kind: str | None, what: str) -> dict:
    path = ROOT / "validation" / file
    with open(path, newline="", encoding="utf-8") as handle:
        rows = {row["id"]: row for row in csv.DictReader(handle)}
    try:
        report = run_set(path.relative_to(ROOT), kind)
    except RunFailed as failed:  # reported on the page, never dropped
        return {"file": file, "kind": kind, "what": what, "failed": str(failed)}
    summary = report["summary"]
    ids = [r["id"] for r in report["rows"]]
    return {"file": file, "kind": kind, "what": what, "n": summary["n"], "skipped": summary["skipped"],
            "coverage": summary["coverage"], "rows_with_inputs": summary.get("rows_with_inputs"),
            "coverage_inputs": summary.get("coverage_published_inputs"), "median": summary["median_ape"],
            "p90": summary["p90_ape"],
            "max": summary["max_ape"], "frameworks": _frameworks(ids, rows), "vendors": _vendors(ids, rows)}


def render(results: list[dict], commit: str, today: str) -> str:
    lines = [
        "# Validation figures (generated)",
        "",
        f"Generated by `python tools/validation_report.py` on {today} at commit `{commit}`: for each set it runs",
        "`flopwatt validate validation/<set>.csv [--kind K] --json` and copies the figures below from that JSON.",
        "Do not edit by hand; rerun the tool. APE = |predicted - measured| / measured per row; coverage =",
        "predicted rows / (predicted + skipped); coverage with inputs = predicted rows / rows that publish the",
        "run inputs no model supplies (training: devices, global batch, sequence length; serving: devices, output",
        "length), with that row count. Both figures are shown; rows lacking an input stay in their set.",
        "The fit/held-out split is fixed in validation/SPLIT.md.",
        "",
        "| Set | kind | what | n | skipped | coverage | coverage with inputs | median APE | p90 APE | max APE |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        if "failed" in r:
            lines.append(f"| `{r['file']}` | {r['kind'] or 'all'} | {r['what']} | run failed: {r['failed']} "
                         "| | | | | | |")
            continue
        lines.append(f"| `{r['file']}` | {r['kind'] or 'all'} | {r['what']} | {r['n']} | {len(r['skipped'])} | "
                     f"{_pct(r['coverage'])} | {_with_inputs(r)} | {_pct(r['median'])} | {_pct(r['p90'])} | "
                     f"{_pct(r['max'])} |")
    results = [r for r in results if "failed" not in r]
    lines += ["", "## Predicted rows by framework and accelerator vendor", ""]
    for r in results:
        lines.append(f"- `{r['file']}` ({r['kind'] or 'all'}): frameworks {len(r['frameworks'])} "
                     f"({_counts(r['frameworks'])}); vendors {len(r['vendors'])} ({_counts(r['vendors'])})")
    lines += ["", "## Skipped rows and why", ""]
    for r in results:
        if r["kind"] is not None and any(o["file"] == r["file"] and o["kind"] is None for o in results):
            continue  # the whole-set entry lists them
        reasons: dict[str, list[str]] = defaultdict(list)
        for skip in r["skipped"]:
            reasons[skip["reason"]].append(skip["id"])
        lines.append(f"### `{r['file']}` ({r['kind'] or 'all'}): {len(r['skipped'])} skipped")
        lines.append("")
        lines += [f"- {reason}: {', '.join(ids)}" for reason, ids in sorted(reasons.items())] or ["- none"]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "VALIDATION.md")
    args = parser.parse_args()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            cwd=ROOT, check=False).stdout.strip() or "unknown"
    results = [summarise(file, kind, what) for file, kind, what in SETS]
    args.out.write_text(render(results, commit, dt.date.today().isoformat()), encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
