"""Disaggregated vs colocated serving across prompt lengths and TPOT targets (no measured reference).

Prints, for Llama-2-70B FP8 on H100s, the best disaggregated output tokens/s, the colocated optimum at
the same SLOs, the P:D split and their ratio. No published disaggregated measurement with a complete
configuration was found to compare with: DistServe and Splitwise report SLO-attainment curves and
simulated clusters, TensorRT-LLM's disaggregated blog (tech blog 5) gives DeepSeek-R1 on GB200 with
attention data parallelism as figures only. So this is the model's own qualitative result (DistServe,
Splitwise: the gain grows as TPOT tightens and prompts lengthen), not a validation.
Run: ``python bench/disaggregated_sweep.py [--devices 16] [--accelerator h100-sxm5-80gb]``.
"""

from __future__ import annotations

import argparse

from flopwatt import catalog
from flopwatt.errors import InputError
from flopwatt.serve import ServeRequest, estimate_disaggregated

INPUTS = (512, 2048, 8192)
TPOTS = (None, 0.05, 0.03, 0.02, 0.015)


def cell(req: ServeRequest) -> str:
    try:
        out = estimate_disaggregated(req)
    except InputError:
        return "infeasible"
    col = out["colocated"].get("metrics", {}).get("output_tokens_per_s")
    ratio = f"x{out['disaggregated_over_colocated']:.2f}" if col else "(colocated infeasible)"
    return f"{out['metrics']['output_tokens_per_s']:7,.0f} vs {col or 0:7,.0f} {out['plan']['ratio']:>5} {ratio}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="llama2-70b")
    parser.add_argument("--accelerator", default="h100-sxm5-80gb")
    parser.add_argument("--devices", type=int, default=16)
    parser.add_argument("--output-len", type=float, default=256)
    args = parser.parse_args()
    model, system = catalog.get("models", args.model), catalog.system_for(args.accelerator)
    print(f"{args.model} on {args.devices} x {args.accelerator}, out {args.output_len:g}: "
          "disaggregated vs colocated output tokens/s, P:D, ratio")
    for inp in INPUTS:
        for tpot in TPOTS:
            req = ServeRequest(model=model, system=system, devices=args.devices, input_len=inp,
                               output_len=args.output_len, tpot_slo_s=tpot, disaggregate=True)
            label = "none" if tpot is None else f"{tpot * 1e3:g} ms"
            print(f"in {inp:5d}  TPOT {label:>7}:  {cell(req)}")


if __name__ == "__main__":
    main()
