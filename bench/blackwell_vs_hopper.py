"""NVIDIA's Blackwell-vs-Hopper inference claim, reproduced with the serving model and broken into causes.

Claim (bench/data/blackwell_vs_hopper_claim.md): GB200 NVL72 at FP4 gives up to 30x the per-GPU
real-time throughput of H100 at FP8 on GPT-MoE-1.8T, 32,768 input / 1,024 output tokens, 50 ms per
output token (20 tokens/s per user) and 5 s to the first token. The chain below changes one thing at
a time, each step's factor is the ratio of best per-GPU output tokens/s under the same SLOs:

    H100 FP8 (8-GPU NVLink domain) -> B200-class silicon at FP8 in an 8-GPU domain (compute + HBM)
    -> the 72-GPU NVLink domain -> FP4 weights and matmuls

Pipeline depth is searched here (``--pp``) because 1.8T parameters do not fit one 8-GPU node.
Run: ``python bench/blackwell_vs_hopper.py [--tpot 0.05] [--ttft 5]``.
"""

from __future__ import annotations

import argparse
import dataclasses

from flopwatt import catalog
from flopwatt.errors import InputError
from flopwatt.serve import ServeRequest, estimate_serving

MODEL, INPUT, OUTPUT = "gpt-moe-1.8t", 32768, 1024


def best(system, devices: int, precision: str, slo: tuple[float | None, float | None]) -> dict | None:
    """The most output tokens/s per GPU over pipeline depths (TP and batch chosen inside)."""
    found = None
    for pp in (1, 2, 3, 4, 6, 8, 9, 12, 16, 18, 24):
        if devices % pp:
            continue
        req = ServeRequest(model=catalog.get("models", MODEL), system=system, devices=devices, input_len=INPUT,
                           output_len=OUTPUT, precision=precision, ttft_slo_s=slo[0], tpot_slo_s=slo[1], pp=pp)
        try:
            out = estimate_serving(req)
        except InputError:
            continue
        if found is None or out["metrics"]["tokens_per_s_per_device"] > found["metrics"]["tokens_per_s_per_device"]:
            found = out
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tpot", type=float, default=0.05, help="seconds per output token (claim: 0.05)")
    parser.add_argument("--ttft", type=float, default=5.0, help="seconds to the first token (claim: 5)")
    args = parser.parse_args()
    h100, gb200 = catalog.get("systems", "dgx-h100"), catalog.get("systems", "gb200-nvl72")
    gb200_in_8 = dataclasses.replace(gb200, scale_up_domain_devices=8)
    steps = [("H100 FP8, NVLink 8", h100, 64, "fp8"), ("GB200 FP8, NVLink 8", gb200_in_8, 72, "fp8"),
             ("GB200 FP8, NVLink 72", gb200, 72, "fp8"), ("GB200 FP4, NVLink 72", gb200, 72, "fp4")]
    for label, slo in (("with the claim's SLOs", (args.ttft, args.tpot)), ("without SLOs", (None, None))):
        print(f"GPT-MoE-1.8T, in {INPUT} / out {OUTPUT}, {label}")
        previous = first = None
        for name, system, devices, precision in steps:
            out = best(system, devices, precision, slo)
            if out is None:
                print(f"  {name:22} no feasible plan")
                continue
            m, p = out["metrics"], out["plan"]
            rate = m["tokens_per_s_per_device"]
            step = f"x{rate / previous:5.2f}" if previous else "     "
            total = f"x{rate / first:5.2f}" if first else "     "
            print(f"  {name:22} {rate:8.1f} tok/s/GPU  step {step}  total {total}  tp{p['tp']} pp{p['pp']} "
                  f"b{p['batch_per_replica']} x{p['replicas']}  TPOT {m['tpot_s'] * 1e3:5.1f} ms  "
                  f"TTFT {m['ttft_s']:.2f} s")
            previous, first = rate, first or rate


if __name__ == "__main__":
    main()
