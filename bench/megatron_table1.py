"""Megatron Table 1 (Narayanan et al. 2021): is the searched plan at least as fast as the published one?

For each weak-scaling case the published plan (its tp and pp, the rest open) and the whole plan
space (everything open) are evaluated on the megatron-2021 stack, DGX A100 80GB; the report prints
both predicted step times and what the best plan changes.

    python bench/megatron_table1.py
"""

from __future__ import annotations

from pathlib import Path

from flopwatt import catalog
from flopwatt.estimate import estimate_training
from flopwatt.perf.space import PlanRequest
from flopwatt.specs import ModelSpec, TrainingWorkload
from flopwatt.validate import read_rows

CSV = Path(__file__).resolve().parents[1] / "validation" / "visible.csv"


def cases() -> list[dict]:
    out = []
    for row in read_rows(CSV):
        if not row["id"].startswith("MEG21-"):
            continue
        shape = {k: int(row[k]) for k in ("layers", "hidden", "ffn_hidden", "heads", "kv_heads", "vocab")}
        model = ModelSpec(id=row["id"], name=row["model"], source=row["source"], retrieved="n/a", **shape)
        workload = TrainingWorkload(model=model, seq_len=int(row["seq_len"]))
        system = catalog.get("systems", "dgx-a100-80gb")
        stack = catalog.get("stacks", "megatron-2021")
        n, gb = int(row["n_devices"]), int(row["global_batch_seqs"])
        published = estimate_training(workload, system, stack, PlanRequest(
            devices=n, global_batch=gb, tp=int(row["tp"]), pp=int(row["pp"]), recompute="full"))
        best = estimate_training(workload, system, stack, PlanRequest(devices=n, global_batch=gb))
        out.append({"id": row["id"], "published": published.best_summary(), "best": best.best_summary(),
                    "plans": len(best.result)})
    return out


def main() -> None:
    print(f"{'case':<9} {'published plan':<28} {'step s':>8} {'best plan':<34} {'step s':>8} {'gain':>6}")
    for c in cases():
        p, b = c["published"]["plan"], c["best"]["plan"]
        tp, tb = c["published"]["metrics"]["step_time_s"], c["best"]["metrics"]["step_time_s"]
        print(f"{c['id']:<9} tp{p['tp']} pp{p['pp']} v{p['vpp']} mb{p['micro_batch']} {p['recompute']:<9} "
              f"{tp:>8.2f} tp{b['tp']} pp{b['pp']} v{b['vpp']} mb{b['micro_batch']} {b['recompute']:<9} "
              f"{tb:>8.2f} {tp / tb - 1:>6.1%}")


if __name__ == "__main__":
    main()
