"""Predictions asked for by issue #6 (published figures unseen here will check them).

1. DeepSeek-V3 on 2,048 H800: PP16, EP64, ZeRO-1, FP8, 4K sequences, global batch 15,360.
2. Llama 3 405B at 128K context with CP16 on 16,384 H100 (TP8, PP16 as in the Llama 3 paper).

    python bench/issue6_reports.py
"""

from __future__ import annotations

import numpy as np

from flopwatt import catalog
from flopwatt.estimate import estimate_training
from flopwatt.footprint import default_setting, run_footprint
from flopwatt.perf.space import PlanRequest
from flopwatt.specs import TrainingWorkload


def report(title, model_id, system_id, stack_id, precision, seq, request, tokens=1e12):
    model = catalog.get("models", model_id)
    system = catalog.get("systems", system_id)
    stack = catalog.get("stacks", stack_id)
    workload = TrainingWorkload(model=model, seq_len=seq, tokens=tokens, precision=precision)
    est = estimate_training(workload, system, stack, request)
    if est.best is None:
        print(f"{title}: no feasible plan: {est.infeasible_counts()}")
        return
    s = est.best_summary()
    fp = run_footprint(est.result.take(np.array([est.best])), workload, system, request.devices, default_setting())
    gpu_hours = float(fp["reliability/expected_wall_s"][0]) * request.devices / 3600
    ideal_hours = s["metrics"]["time_to_train_s"] * request.devices / 3600
    mfu16 = s["metrics"]["mfu_16bit"]
    print(f"== {title}")
    print(f"plan: {s['plan']}")
    print(f"MFU {s['metrics']['mfu']:.1%} of the {precision} peak ({mfu16:.1%} of the BF16 peak); "
          f"step {s['metrics']['step_time_s']:.2f} s; {s['metrics']['tokens_per_s']:,.0f} tokens/s")
    print(f"GPU-hours per trillion tokens: {ideal_hours:,.0f} failure-free, {gpu_hours:,.0f} with interruptions "
          f"(goodput {float(fp['reliability/goodput'][0]):.1%})")
    step = s["time"]["time/step"]
    print("breakdown: " + ", ".join(f"{k[5:]} {v / step:.1%}" for k, v in s["time"].items() if k != "time/step"))
    print("memory GiB: " + ", ".join(f"{k[7:]} {v / 2**30:.1f}" for k, v in s["memory"].items()))


def main() -> None:
    report("DeepSeek-V3 on 2,048 H800 (PP16 EP64 ZeRO-1 FP8)", "deepseek-v3", "hgx-h800", "deepseek", "fp8", 4096,
           PlanRequest(devices=2048, global_batch=15360, tp=1, pp=16, ep=64, zero_stage=1))
    report("Llama 3 405B at 128K, CP16 on 16,384 H100 (TP8 PP16)", "llama3.1-405b", "dgx-h100", "meta-llama3", "bf16",
           131072, PlanRequest(devices=16384, global_batch=128, tp=8, pp=16, cp=16))


if __name__ == "__main__":
    main()
