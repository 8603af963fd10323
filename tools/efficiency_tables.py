"""Regenerate the GEMM part of src/flopwatt/catalog/efficiency.toml from one shared rule.

Rule (documented in each table's `source`):

    eff(F) = e_acc * F / (F + t0 * e_acc * peak_acc)       F = FLOPs of one GEMM call

- e_acc = K * MAMF_acc / peak_acc: K is the fraction of the best measured matmul rate (MAMF,
  stas00/ml-engineering @ 744d01e compute/accelerator/README.md) that framework GEMMs reach;
  t0 is a fixed per-call cost of the order of a kernel launch. K is fitted ONCE, on A100 Megatron-LM
  rows (bench/calibrate_gemm.py prints the fit); K and t0 are shared by every accelerator.
- Devices without a published MAMF are marked ASSUMED and take the A100's MAMF fraction.

Low-precision matmuls (``[low_precision.*]``): FP8/FP4 GEMMs need not reach the same fraction of their
own (2x, 4x) peak as BF16 does of its peak. Each entry is

    ratio_p = (MAMF_p / peak_p) / (MAMF_bf16 / peak_bf16)

and the serving/training models run low-precision linear GEMMs at ``ratio_p x peak_p`` (the efficiency
table still applies on top). MAMF_p is the best sustained cuBLASLt rate of Azure's AI-benchmarking-guide
(random inputs, 10,000 warm-up iterations), brought to the MAMF-finder's scale by the one GPU both
measured in 16 bits (A100: Azure FP16 256.5 vs MAMF 271 TFLOP/s, AZURE_TO_MAMF below). Devices absent
from the table keep ratio 1 (ASSUMED: their low-precision matmuls reach the 16-bit fraction).

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
    "b300-sxm-288gb": (1769, 2250), "mi355x": (1565, 2500),
}
SAME_SILICON = {"a100-sxm4-40gb": "A100 80GB", "h800-sxm5-80gb": "H100", "h200-sxm-141gb": "H100"}
ASSUMED = {  # no MAMF published: take the A100 fraction
    "v100-sxm2-32gb": 125, "gaudi2": 432, "tpu-v3": 123, "tpu-v4": 275, "tpu-v5e": 197, "tpu-v5p": 459,
    "tpu-v6e": 918, "ascend-910c": 752, "cambricon-mlu370-x8": 96, "mtt-s4000": 100,
}
MAMF_OF = {  # no MAMF published: take the measured fraction of the named device (same silicon or generation)
    "h20": ("h100-sxm5-80gb", 148, "same GH100 die as H100, compute capped"),
    "gb300": ("b300-sxm-288gb", 2500, "same Blackwell Ultra GPU as B300"),
    "rubin": ("b300-sxm-288gb", 4000, "announced part; the previous NVIDIA generation's measured fraction"),
}
SIZES = np.logspace(6, 14, 17)

AZURE = "Azure/AI-benchmarking-guide"
AZURE_TO_MAMF = 271 / 256.5  # A100: MAMF-finder BF16 271 vs Azure FP16 256.5 (ND A100 v4, 16384^3)
LOW_PRECISION = {  # accelerator: {precision: (best Azure cuBLASLt TFLOP/s, dense peak TFLOP/s)}, where
    "h100-sxm5-80gb": ({"fp8": (1382.2, 1978.9)},
                       f"{AZURE}@f350e7e 'Azure Results/ND_H100_v5_results.md' GEMM CuBLASLt FP8, 32768^3"),
    "h200-sxm-141gb": ({"fp8": (1366.3, 1978.9)},
                       f"{AZURE}@7f20e5f Azure_Results/ND_H200_v5_results.md GEMM CuBLASLt FP8, 16384^3"),
    "gb200": ({"fp8": (2906.9, 5000), "fp4": (7627.6, 10000)},
              f"{AZURE}@2a370be Azure_Results/ND_GB200_v6_results.md GEMM CuBLASLt FP8 and FP4, 16384^3"),
}
LOW_PRECISION_SAME_SILICON = {"h800-sxm5-80gb": "h100-sxm5-80gb", "b200-sxm-180gb": "gb200",
                              "h20": "h100-sxm5-80gb"}
MAMF_LOW_PRECISION = {  # accelerator: {precision: (MAMF-finder TFLOP/s, dense peak)}, stas00/ml-engineering@744d01e
    "b300-sxm-288gb": {"fp8": (3353.3, 4500)},  # FP8 (float8_e4m3fn) MAMF table
}
MAMF_LOW_PRECISION_AS = {  # no low-precision MAMF: the named device's ratio, plus the Blackwell FP4 fit
    "gb300": ("b300-sxm-288gb", "same Blackwell Ultra GPU as B300"),
    "rubin": ("b300-sxm-288gb", "announced part; the previous NVIDIA generation's measured ratio"),
}
AMD_MAF = "ROCm/rocm-blogs@8e011952aebcdc6ad86b42f5ee236136aa8765dd"
AMD_MAF_PATH = "blogs/software-tools-optimization/measuring-max-achievable-flops-part2/README.md"
AMD_MAF_LOW_PRECISION = {  # accelerator: (BF16 MAF, BF16 peak, FP8 MAF, FP8 peak, method, table row), TFLOP/s
    "mi300x": (708, 1307.4, 1273, 2614.9,
               "hipblaslt-bench, trig_float inputs, rotating 512 MB buffers, M=4096 N=3648/4864 K=32896, ROCm 6.3.0, "
               "hipBLASLt db8e93b4fd6, MI300X 750 W",
               "MI300X: BF16 708 TFLOPs at 1207 MHz, FP8 1273 TFLOPs at 1230 MHz",
               ". The blog's footnote 4 prints the FP8 figure as '1223.6 TFLOPs ... at 1273MHz' (digits apparently "
               "swapped with the table's 1273 TFLOPs at 1230 MHz): the table value is used; with 1223.6 the ratio "
               "would be 0.8641"),
    "mi325x": (843, 1307.4, 1519, 2614.9,
               "hipblaslt-bench, trig_float inputs, rotating buffers, ROCm 6.3.0, hipBLASLt db8e93b4fd6",
               "MI325X: BF16 843 TFLOPs at 1447 MHz, FP8 1519 TFLOPs at 1464 MHz", ""),
}
AITER = "ROCm/aiter@e4048607a535ace3a2b51ded31b1c8c2d45c0879"
AITER_LOW_PRECISION = {  # CDNA 4: AMD's own tuned-GEMM tables (gfx950, 256 CUs; tuned on MI355X per ROCm/aiter
    # PR #2037 and #2092): the fastest shape of each dtype, TFLOP/s recomputed from the tuner's kernel time
    "mi355x": {"bf16": (1596.61, "aiter/configs/model_configs/llama70B_bf16_tuned_gemm.csv:105, M=N=K=8192, "
                                 "688.65 us"),
               "fp8": (2996.65, "aiter/configs/a8w8_bpreshuffle_tuned_gemm.csv:449, per-token FP8 e4m3, M=4096 N=16384 "
                                "K=26624, 1192.47 us"),
               "fp4": (5806.15, "aiter/configs/a4w4_blockscale_tuned_gemm.csv:1358, MXFP4 per-1x32, M=16384 N=8192 "
                                "K=28672, 1325.59 us")},
}
AITER_SAME_SILICON = {"mi350x": ("mi355x", "the MI355X silicon at a lower clock; ROCm/aiter PR #2037 gives peak FP4 "
                                 "5,094 TFLOPS on MI350X against 5,775 on MI355X, the same share of each peak "
                                 "within 4 %")}


FITTED = {  # (accelerator, precision): ratio fitted end to end where the microbenchmark ratio misreads serving
    ("gb200", "fp4"): 0.70, ("b200-sxm-180gb", "fp4"): 0.70,
}
FITTED_NOTE = ("FITTED end to end (python bench/calibrate_serving.py fp4) on the 40 Blackwell FP4 rows of "
               "bench/data/trtllm_perf_overview.csv, with the benchmark's CUDA-graph padding modelled: mean |log "
               "error| 0.270 at the cuBLASLt-derived ratio, 0.082 at 0.70 (0.60 before the padding was modelled); "
               "it lumps what an FP4 serving iteration spends beyond its GEMMs into the matmul rate")


def _low_precision_entry(acc: str, ratios: list[tuple[str, float]], source: str, retrieved: str) -> str:
    """One ``[low_precision.<acc>]`` table: a ratio per precision, its source and retrieval date."""
    lines = [f"[low_precision.{acc}]"] + [f"{precision} = {ratio:.4f}" for precision, ratio in ratios]
    lines += [f'source = "{source}"', f'retrieved = "{retrieved}"']
    return "\n".join(lines) + "\n"


def low_precision_table(acc: str, measured_as: str) -> str:
    rates, where = LOW_PRECISION[measured_as]
    mamf, peak = MAMF[measured_as]
    bf16 = mamf / peak
    ratios, notes = [], []
    for precision, (azure, peak_p) in rates.items():
        ratio = azure * AZURE_TO_MAMF / peak_p / bf16
        fitted = FITTED.get((acc, precision))
        ratios.append((precision, ratio if fitted is None else fitted))
        notes.append(f"{precision}: ({azure} x 271/256.5) / {peak_p} / ({mamf}/{peak}) = {ratio:.4f}"
                     + ("" if fitted is None else f", replaced by {fitted:.2f}: {FITTED_NOTE}"))
    same = "" if acc == measured_as else f"; ASSUMED: same silicon as {measured_as}, its measurement used"
    return _low_precision_entry(acc, ratios, f'DERIVED (tools/efficiency_tables.py): {"; ".join(notes)}; sustained '
                                f'rate from {where} (random init, 10,000 warm-up iterations), x 271/256.5 = '
                                f'MAMF-finder over Azure on A100 (ND_A100_v4_results.md @3bb66ca FP16 256.5); BF16 '
                                f'MAMF stas00/ml-engineering@744d01e{same}', "2026-12-02")


def mamf_low_precision_table(acc: str, measured_as: str, note: str, with_fp4: bool) -> str:
    """ratio_p from the MAMF finder's own low-precision and BF16 rows (no Azure scaling needed)."""
    mamf, peak = MAMF[measured_as]
    ratios, notes = [], []
    for precision, (mamf_p, peak_p) in MAMF_LOW_PRECISION[measured_as].items():
        ratio = (mamf_p / peak_p) / (mamf / peak)
        ratios.append((precision, ratio))
        notes.append(f"{precision}: ({mamf_p}/{peak_p}) / ({mamf}/{peak}) = {ratio:.4f}")
    if with_fp4:
        ratios.append(("fp4", FITTED[("gb200", "fp4")]))
        notes.append(f"fp4: ASSUMED the Blackwell value {FITTED[('gb200', 'fp4')]:.2f} ({FITTED_NOTE})")
    same = "" if acc == measured_as else f"; ASSUMED: {note}, {measured_as}'s measurement used"
    return _low_precision_entry(acc, ratios, f'DERIVED (tools/efficiency_tables.py): {"; ".join(notes)}; MAMF-finder '
                                f'FP8 and BF16 tables of stas00/ml-engineering@744d01e compute/accelerator/README.md'
                                f'{same}', "2026-12-06")


def amd_maf_table(acc: str) -> str:
    """ratio_fp8 from AMD's own Max-Achievable-FLOPs table (FP8 and BF16 rows of one method)."""
    bf16, peak, fp8, peak_fp8, method, row, footnote = AMD_MAF_LOW_PRECISION[acc]
    ratio = (fp8 / peak_fp8) / (bf16 / peak)
    return (f"[low_precision.{acc}]\nfp8 = {ratio:.4f}\n"
            f'source = "DERIVED (the MAF rule of tools/efficiency_tables.py mamf_low_precision_table, by hand): '
            f"fp8: ({fp8}/{peak_fp8}) / ({bf16}/{peak}) = {ratio:.4f}; AMD's own Max-Achievable FLOPs table, FP8 "
            f"and BF16 rows of one method ({method}): {AMD_MAF} {AMD_MAF_PATH}, Table 1 'AMD MAF Results' ({row}); "
            f'peaks of catalog/accelerators.toml {acc}{footnote}"\nretrieved = "2026-12-06"\n')


def aiter_table(acc: str, measured_as: str, note: str = "") -> str:
    """ratio_p from AMD's tuned-GEMM tables (one source for FP4, FP8 and BF16): (p rate / p peak) over (BF16 rate /
    BF16 peak), peaks in TFLOP/s of ``measured_as`` in catalog/accelerators.toml."""
    from flopwatt import catalog

    peaks = {k: v / 1e12 for k, v in catalog.accelerators()[measured_as].peak_flops_per_s.items()}
    rates = AITER_LOW_PRECISION[measured_as]
    bf16_rate, bf16_where = rates["bf16"]
    bf16 = bf16_rate / peaks["bf16"]
    ratios, notes = [], []
    for precision in ("fp8", "fp4"):
        rate, where = rates[precision]
        ratio = rate / peaks[precision] / bf16
        ratios.append((precision, ratio))
        notes.append(f"{precision}: ({rate}/{peaks[precision]:g}) / ({bf16_rate}/{peaks['bf16']:g}) = {ratio:.4f}, "
                     f"{precision.upper()} {where}")
    same = "" if acc == measured_as else f"; ASSUMED: {note}, {measured_as}'s measurement used"
    return _low_precision_entry(acc, ratios, f'DERIVED (tools/efficiency_tables.py aiter_table): {"; ".join(notes)}; '
                                f"BF16 {bf16_where}; {AITER} (AMD's tuner output; clock, power and cache state not "
                                f"recorded); peaks of catalog/accelerators.toml {measured_as}{same}", "2026-12-07")


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
    for acc, (like, peak, why) in MAMF_OF.items():
        fraction = MAMF[like][0] / MAMF[like][1]
        print(table(acc, fraction * peak, peak, f"; ASSUMED: no MAMF published for this device, {like}'s measured "
                    f"fraction used ({why})"))
    for acc in LOW_PRECISION:
        print(low_precision_table(acc, acc))
    for acc, measured_as in LOW_PRECISION_SAME_SILICON.items():
        print(low_precision_table(acc, measured_as))
    for acc in MAMF_LOW_PRECISION:
        print(mamf_low_precision_table(acc, acc, "", with_fp4=False))
    for acc, (measured_as, why) in MAMF_LOW_PRECISION_AS.items():
        print(mamf_low_precision_table(acc, measured_as, why, with_fp4=True))
    for acc in AMD_MAF_LOW_PRECISION:
        print(amd_maf_table(acc))
    for acc in AITER_LOW_PRECISION:
        print(aiter_table(acc, acc))
    for acc, (measured_as, why) in AITER_SAME_SILICON.items():
        print(aiter_table(acc, measured_as, why))


if __name__ == "__main__":
    main()
