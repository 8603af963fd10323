"""NVIDIA's Blackwell-vs-Hopper inference claim, reproduced with the serving model and broken into causes.

Claim (bench/data/blackwell_vs_hopper_claim.md): GB200 NVL72 at FP4 gives up to 30x the per-GPU
real-time throughput of H100 at FP8 on GPT-MoE-1.8T, 32,768 input / 1,024 output tokens, 50 ms per
output token (20 tokens/s per user) and 5 s to the first token. The chain below changes one thing at
a time; each step's factor is the ratio of best per-GPU output tokens/s (per GPU a replica uses) under
the same SLOs:

    H100 FP8, experts only inside the 8-GPU NVLink node (tp x ep <= 8)
    -> H100 FP8, expert parallelism across nodes over InfiniBand (NVIDIA's Hopper baseline spreads the
       experts over IB; its All-to-Alls leave the node, :mod:`flopwatt.perf.serving_ep`)
    -> B200-class silicon (GB200's compute and HBM) at FP8, still 8 GPUs per NVLink domain + IB
    -> the 72-GPU NVLink domain (expert All-to-Alls stay on NVLink 5)
    -> FP4 weights and matmuls

and the same chain without SLOs, whose ratio to the SLO chain is what the per-user target itself adds.
Pipeline depth and EP are searched here (TP and batch inside :func:`flopwatt.serve.estimate_serving`)
because 1.8T parameters do not fit one 8-GPU node. Nothing is tuned to the claim.
Run: ``python bench/blackwell_vs_hopper.py [--tpot 0.05] [--ttft 5]``.
"""

from __future__ import annotations

import argparse
import dataclasses

from flopwatt import catalog
from flopwatt.errors import InputError
from flopwatt.serve import ServeRequest, estimate_serving

MODEL, INPUT, OUTPUT = "gpt-moe-1.8t", 32768, 1024
PIPELINES = (1, 2, 3, 4, 6, 8, 9, 12, 16, 18, 24)
TENSOR = (1, 2, 3, 4, 6, 8)
EXPERT = (1, 2, 4, 8, 16)  # divisors of GPT-MoE-1.8T's 16 experts


def _plans(devices: int, max_group: int | None) -> list[dict]:
    """(pp, ep[, tp]) to try: every pipeline depth and EP degree; with ``max_group`` the experts stay
    inside that many devices, so tp is fixed too (tp x ep <= max_group)."""
    if max_group is None:
        return [{"pp": pp, "ep": ep} for pp in PIPELINES for ep in EXPERT if pp * ep <= devices]
    return [{"pp": pp, "ep": ep, "tp": tp} for pp in PIPELINES for ep in EXPERT for tp in TENSOR
            if tp * ep <= max_group and pp * ep * tp <= devices]


def best(system, devices: int, precision: str, slo: tuple[float | None, float | None],
         max_group: int | None = None) -> dict | None:
    """The most output tokens/s per GPU over pipeline depths and EP degrees (TP and batch chosen inside)."""
    found = None
    model = catalog.get("models", MODEL)
    for plan in _plans(devices, max_group):
        if devices % plan["pp"]:
            continue
        req = ServeRequest(model=model, system=system, devices=devices, input_len=INPUT, output_len=OUTPUT,
                           precision=precision, ttft_slo_s=slo[0], tpot_slo_s=slo[1], **plan)
        try:
            out = estimate_serving(req)
        except InputError:
            continue
        if found is None or out["metrics"]["tokens_per_s_per_device"] > found["metrics"]["tokens_per_s_per_device"]:
            found = out
    return found


def _line(name: str, out: dict, previous: float | None, first: float | None) -> str:
    m, p = out["metrics"], out["plan"]
    rate = m["tokens_per_s_per_device"]
    step = f"x{rate / previous:5.2f}" if previous else "      "
    total = f"x{rate / first:5.2f}" if first else "      "
    plan = f"tp{p['tp']} ep{p['ep']} pp{p['pp']} b{p['batch_per_replica']} x{p['replicas']}"
    return (f"  {name:26} {rate:7.1f} tok/s/GPU  step {step}  total {total}  {plan:22} "
            f"TPOT {m['tpot_s'] * 1e3:5.1f} ms  TTFT {m['ttft_s']:4.2f} s  "
            f"all-to-all {m['ep_all_to_all_s'] * 1e3:4.1f} ms over {p['expert_link'] or '-'}"
            + (" (exposed; two micro-batches overlap it)" if p["all_to_all_overlap"] else ""))


def chain(steps, slo) -> float | None:
    """Print one chain of causes; return its total factor (last over first feasible step)."""
    previous = first = None
    for name, system, devices, precision, max_group in steps:
        out = best(system, devices, precision, slo, max_group)
        if out is None:
            print(f"  {name:26} no feasible plan")
            continue
        print(_line(name, out, previous, first))
        rate = out["metrics"]["tokens_per_s_per_device"]
        previous, first = rate, first or rate
    return previous / first if first else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tpot", type=float, default=0.05, help="seconds per output token (claim: 0.05)")
    parser.add_argument("--ttft", type=float, default=5.0, help="seconds to the first token (claim: 5)")
    args = parser.parse_args()
    h100, gb200 = catalog.get("systems", "dgx-h100"), catalog.get("systems", "gb200-nvl72")
    gb200_in_8 = dataclasses.replace(gb200, scale_up_domain_devices=8)
    steps = [("H100 FP8, EP inside node", h100, 64, "fp8", 8), ("H100 FP8, EP over IB", h100, 64, "fp8", None),
             ("GB200 FP8, NVLink 8 + IB", gb200_in_8, 72, "fp8", None),
             ("GB200 FP8, NVLink 72", gb200, 72, "fp8", None), ("GB200 FP4, NVLink 72", gb200, 72, "fp4", None)]
    totals = {}
    for label, slo in ((f"with the claim's SLOs (TTFT {args.ttft:g} s, TPOT {args.tpot * 1e3:g} ms)",
                        (args.ttft, args.tpot)), ("without SLOs", (None, None))):
        print(f"GPT-MoE-1.8T, in {INPUT} / out {OUTPUT}, {label}")
        totals[label] = chain(steps, slo)
    with_slo, without = totals.values()
    if with_slo and without:
        print(f"GB200 FP4 over H100 FP8 (from the first feasible H100 step): x{with_slo:.2f} at the SLOs, "
              f"x{without:.2f} without; the per-user target itself is worth x{with_slo / without:.2f}. "
              f"NVIDIA claims up to 30x.")


if __name__ == "__main__":
    main()
