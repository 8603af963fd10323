"""Regenerate the GEMM part of src/flopwatt/catalog/efficiency.toml from one shared rule.

Rule (documented in each table's `source`):

    eff(F) = e_acc * F / (F + t0 * e_acc * peak_acc)       F = FLOPs of one GEMM call

- e_acc = K * MAMF_acc / peak_acc: K is the fraction of the best measured matmul rate (MAMF,
  stas00/ml-engineering @ 744d01e compute/accelerator/README.md) that framework GEMMs reach;
  t0 is a fixed per-call cost of the order of a kernel launch. K is fitted ONCE, on A100 Megatron-LM
  rows (bench/calibrate_gemm.py prints the fit); K and t0 are shared by every accelerator.
- Devices without a published MAMF are marked ASSUMED and take the A100's MAMF fraction.

Run: python tools/efficiency_tables.py > /tmp/gemm.toml, then paste over the [gemm.*] tables.
"""

from __future__ import annotations

import numpy as np

K = 0.7599  # = 0.66 / (271 / 312): e_max fitted on A100 rows (bench/calibrate_gemm.py) over the A100 MAMF fraction
T0_S = 5e-6  # fixed cost of one GEMM call: order of a kernel launch (see bench/calibrate_gemm.py)
MAMF = {  # best measured BF16 matmul TFLOP/s, dense peak TFLOP/s ([ML-acc])
    "a100-sxm4-80gb": (271, 312), "a100-sxm4-40gb": (271, 312),
    "h100-sxm5-80gb": (794.5, 989.4), "h800-sxm5-80gb": (794.5, 989.4), "h200-sxm-141gb": (794.5, 989.4),
    "b200-sxm-180gb": (1745, 2250), "gb200": (1822, 2500),
    "mi300x": (668, 1307.4), "mi325x": (785, 1307.4), "gaudi3": (1243, 1835),
}
SAME_SILICON = {"a100-sxm4-40gb": "A100 80GB", "h800-sxm5-80gb": "H100", "h200-sxm-141gb": "H100"}
ASSUMED = {  # no MAMF published: take the A100 fraction
    "v100-sxm2-32gb": 125, "gaudi2": 432, "tpu-v3": 123, "tpu-v4": 275, "tpu-v5e": 197, "tpu-v5p": 459,
    "tpu-v6e": 918,
}
SIZES = np.logspace(6, 14, 17)


def table(acc: str, mamf: float, peak: float, note: str) -> str:
    e = K * mamf / peak
    f_half = T0_S * e * peak * 1e12
    eff = e * SIZES / (SIZES + f_half)
    xs = ", ".join(f"{x:.3g}" for x in SIZES)
    ys = ", ".join(f"{y:.4g}" for y in eff)
    return (f"[gemm.{acc}]\nop_flops = [{xs}]\nefficiency = [{ys}]\n"
            f'source = "DERIVED (tools/efficiency_tables.py): eff = e*F/(F + t0*e*peak), e = K*MAMF/peak = '
            f'{K}*{mamf}/{peak} = {e:.3f}, t0 = {T0_S:g} s; K fitted on A100 Megatron-LM rows, '
            f't0 = kernel-launch order (bench/calibrate_gemm.py); MAMF from stas00/ml-engineering@744d01e{note}"\n'
            f'retrieved = "2026-11-22"\n')


def main() -> None:
    for acc, (mamf, peak) in MAMF.items():
        note = f"; same silicon as {SAME_SILICON[acc]}" if acc in SAME_SILICON else ""
        print(table(acc, mamf, peak, note))
    a100 = MAMF["a100-sxm4-80gb"][0] / MAMF["a100-sxm4-80gb"][1]
    for acc, peak in ASSUMED.items():
        print(table(acc, a100 * peak, peak, "; ASSUMED: no MAMF published for this device, A100's fraction used"))


if __name__ == "__main__":
    main()
