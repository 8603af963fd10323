"""Side-by-side: flopwatt's serving estimate vs llm-analysis (cli99, PyPI) on Llama-2-70B, 8x H100 SXM 80GB.

Same case on both tools: input 1024 / output 256 tokens, TP8 at a few fixed batch sizes, plus the plan
flopwatt chooses itself (free TP and batch; llm-analysis is then run at that TP and batch per replica and
scaled by the replica count). Precisions: bf16 (llm-analysis w16a16e16, 2-byte KV) and 8-bit
(flopwatt fp8 with its default fp8 KV; llm-analysis w8a8e16, KV at the 1-byte activation width).
llm-analysis runs twice per case: at its own defaults (flops_efficiency = hbm_memory_efficiency = 1,
its "lower bound") and at flopwatt's catalogue efficiencies (large-GEMM plateau, HBM fraction).

Per case the table shows TTFT, TPOT, output tokens/s, KV-cache and weight bytes per GPU. flopwatt's
figures come from its CLI (``python -m flopwatt serve ... --json``); flopwatt has no --batch flag, so a
fixed batch runs the same CLI with ``flopwatt.serve.BATCHES`` narrowed to that one batch. llm-analysis is
never imported here: it runs in its own virtualenv's interpreter (``LLMAnalysis(...).inference(...)``).

Run (from the repository root, in the project environment):
    python -m venv /work/scratch/llma-venv && /work/scratch/llma-venv/bin/pip install llm-analysis==0.2.2
    python bench/llm_analysis_compare.py [--llm-analysis-python /work/scratch/llma-venv/bin/python]
        [--batches 1 16 64] [--precisions bf16 fp8] [--llma-model upstage_Llama-2-70b-instruct-v2 | cfg.json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

LLMA_DTYPE = {"bf16": ("w16a16e16", 2), "fp8": ("w8a8e16", 1), "int8": ("w8a8e16", 1), "int4": ("w4a16e16", 1)}

LLMA = r"""
import json, logging, sys
from importlib.metadata import version
from llm_analysis.logger import logger
from llm_analysis.analysis import LLMAnalysis
from llm_analysis.config import ParallelismConfig, get_dtype_config_by_name, get_gpu_config_by_name, \
    get_model_config_by_name
logger.setLevel(logging.ERROR)
req, out = json.loads(sys.argv[1]), []
gpu, model = get_gpu_config_by_name(req["gpu"]), get_model_config_by_name(req["model"])
for c in req["cases"]:
    a = LLMAnalysis(model, gpu, get_dtype_config_by_name(c["dtype"]), ParallelismConfig(tp_size=c["tp"]),
                    flops_efficiency=c["flops_eff"], hbm_memory_efficiency=c["hbm_eff"])
    try:
        s = a.inference(batch_size_per_gpu=c["batch"], seq_len=c["inp"], num_tokens_to_generate=c["out"],
                        kv_cache_dtype_bytes=c["kv_bytes"])
    except AssertionError as e:
        out.append({"error": "llm-analysis OOM: " + str(e).split(" (requiring")[0][:90]})
        continue
    keys = ("prefill_latency", "decode_latency", "total_tokens_per_sec", "decode_tokens_per_sec",
            "kv_cache_memory_per_gpu", "weight_memory_per_gpu", "flops_efficiency", "hbm_memory_efficiency")
    parts = {k[len("decode_latency_fwd_"):]: s[k] for k in s if k.startswith("decode_latency_fwd_")}
    out.append({k: float(s[k]) for k in keys} | {"params": float(a.total_num_params),
                                                 "parts": parts | {"kv_cache": s["kv_cache_latency"]}})
print(json.dumps({"version": version("llm-analysis"), "gpu": vars(gpu), "model": vars(model), "results": out}))
"""

FW_FIXED = ("import sys, numpy as np, flopwatt.serve as s; s.BATCHES = np.array([int(sys.argv[1])]); "
            "from flopwatt.cli import main; raise SystemExit(main(sys.argv[2:]))")

FW_INFO = r"""
import json, sys
from flopwatt import catalog
from flopwatt.perf import engine_memory as em
from flopwatt.perf import serving as sv
model, acc = catalog.get("models", sys.argv[1]), sys.argv[2]
system, eff = catalog.system_for(acc), catalog.efficiency()
up = system.scale_up
print(json.dumps({"params": float(model.total_params()), "bytes": sv.BYTES,
                  "gemm_eff_max": float(max(eff.gemm_for(acc).efficiency)), "hbm_eff": eff.memory_for(acc),
                  "busbw": float(eff.collective_for(up.technology)(1e6)), "link_GBs": up.bandwidth_bytes_per_s / 1e9,
                  "link_us": up.latency_s * 1e6, "hbm_GB": system.accelerator.hbm_bytes / 1e9,
                  "usable": em.USABLE_MEMORY}))
"""


def run_json(cmd: list[str]) -> dict:
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, check=False)
    except OSError as exc:
        return {"error": str(exc)}
    if p.returncode != 0:
        return {"error": (p.stderr.strip().splitlines() or [f"rc {p.returncode}"])[-1][:110]}
    return json.loads(p.stdout)


def flopwatt(args, precision: str, tp: int | None, batch: int | None) -> dict:
    cli = ["serve", "--model", args.model, "--accelerator", args.accelerator, "--devices", str(args.devices),
           "--input-len", str(args.input_len), "--output-len", str(args.output_len), "--precision", precision, "--json"]
    cli += ["--tp", str(tp)] if tp else []
    if batch is None:
        return run_json([args.flopwatt_python, "-m", "flopwatt", *cli])
    return run_json([args.flopwatt_python, "-c", FW_FIXED, str(batch), *cli])


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--llm-analysis-python", default="/work/scratch/llma-venv/bin/python")
    ap.add_argument("--flopwatt-python", default=sys.executable)
    ap.add_argument("--model", default="llama2-70b")
    ap.add_argument("--accelerator", default="h100-sxm5-80gb")
    ap.add_argument("--llma-model", default="upstage_Llama-2-70b-instruct-v2", help="shipped name or JSON path")
    ap.add_argument("--llma-gpu", default="h100-sxm-80gb")
    ap.add_argument("--devices", type=int, default=8)
    ap.add_argument("--input-len", type=int, default=1024)
    ap.add_argument("--output-len", type=int, default=256)
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 16, 64])
    ap.add_argument("--precisions", nargs="+", default=["bf16", "fp8"], choices=sorted(LLMA_DTYPE))
    ap.add_argument("--breakdown", action="store_true", help="also print each tool's TPOT components (ms)")
    return ap.parse_args()


def flopwatt_rows(args) -> list[tuple]:
    """(label, precision, tp, batch per replica, replicas, flopwatt JSON) for every case."""
    rows = []
    for prec in args.precisions:
        for b in args.batches:
            rows.append((f"{prec} tp8 b={b}", prec, 8, b, args.devices // 8, flopwatt(args, prec, 8, b)))
        for tp in (None, 8):
            fw = flopwatt(args, prec, tp, None)
            if "error" in fw:
                rows.append((f"{prec} chosen tp={tp or 'free'}", prec, tp or 8, 1, 1, fw))
                continue
            p = fw["plan"]
            rows.append((f"{prec} fw-chosen{'@tp8' if tp else ''} tp{p['tp']} b={p['batch_per_replica']}"
                         f" x{p['replicas']}", prec, p["tp"], p["batch_per_replica"], p["replicas"], fw))
    return rows


def parts(d: dict) -> str:
    return "    TPOT parts ms: " + ", ".join(f"{k.removesuffix('_s')} {v * 1e3:.2f}" for k, v in d.items() if v)


def print_table(args, info: dict, variants: list, rows: list, llma: dict) -> None:
    head = (f"{'case':<32} {'tool':<24} {'TTFT ms':>9} {'TPOT ms':>8} {'out tok/s':>9} {'dec-only':>9}"
            f" {'KV GB/GPU':>9} {'W GB/GPU':>8}  efficiency (flops/gemm, hbm)")
    print(f"{args.model} (llm-analysis: {args.llma_model}) on {args.devices} x {args.accelerator} "
          f"({args.llma_gpu}), in {args.input_len} / out {args.output_len} tokens")
    print(head + "\n" + "-" * len(head))
    results = iter(llma["results"])
    for label, prec, tp, _, reps, fw in rows:
        if "error" in fw:
            print(f"{label:<32} {'flopwatt':<24} {fw['error']}")
        else:
            m = fw["metrics"]
            w = info["params"] * info["bytes"][prec] / tp
            print(f"{label:<32} {'flopwatt':<24} {m['ttft_s'] * 1e3:9.1f} {m['tpot_s'] * 1e3:8.2f}"
                  f" {m['output_tokens_per_s']:9.0f} {'-':>9} {(m['memory_bytes'] - w) / 1e9:9.2f} {w / 1e9:8.2f}"
                  f"  gemm<={info['gemm_eff_max']:.2f} by size, {info['hbm_eff']:.2f}")
            if args.breakdown:  # component times: "*_s" keys other than rates, TTFT/TPOT and their percentiles
                print(parts({k: v for k, v in m.items() if k.endswith("_s") and not k.endswith("per_s")
                             and not k.startswith(("ttft", "tpot"))}))
        for name, _, _ in variants:
            r = next(results)
            if "error" in r:
                print(f"{'':<32} {name:<24} {r['error']}")
                continue
            print(f"{'':<32} {name:<24} {r['prefill_latency'] * 1e3:9.1f} {r['decode_latency'] * 1e3:8.2f}"
                  f" {r['total_tokens_per_sec'] * reps:9.0f} {r['decode_tokens_per_sec'] * reps:9.0f}"
                  f" {r['kv_cache_memory_per_gpu'] / 1e9:9.2f} {r['weight_memory_per_gpu'] / 1e9:8.2f}"
                  f"  {r['flops_efficiency']:.2f}, {r['hbm_memory_efficiency']:.2f}")
            if args.breakdown:
                print(parts(r["parts"]))
    g, mc = llma["gpu"], llma["model"]
    params = next((r["params"] for r in llma["results"] if "params" in r), float("nan"))
    print(f"\nllm-analysis {llma['version']}: gpu {g['name']} ({g['peak_fp16_TFLOPS']} / {g['peak_i8_TFLOPS']} TFLOPS"
          f" fp16/i8, {g['hbm_bandwidth_in_GB_per_sec']} GB/s HBM, {g['mem_per_GPU_in_GB']} GiB, NVLink"
          f" {g['intra_node_bandwidth_in_GB_per_sec']} GB/s at 100%, {g['intra_node_min_message_latency'] * 1e6:g} us"
          f" floor); model {mc['name']} (ffn {mc['ffn_embed_dim']}, 2-matrix MLP, kv_heads"
          f" {mc['num_key_value_heads']}) = {params / 1e9:.2f} B params")
    print(f"flopwatt: {info['params'] / 1e9:.2f} B params; GEMM efficiency by op size up to {info['gemm_eff_max']}"
          f", HBM {info['hbm_eff']}, NVLink busbw {info['busbw']} x {info['link_GBs']:g} GB/s, {info['link_us']:g} us"
          f" per ring step; {info['usable']} x {info['hbm_GB']:g} GB usable")
    print("llm-analysis: static batch (whole batch prefilled, then decoded); out tok/s = b x out / (TTFT + out x"
          " TPOT), dec-only = b / TPOT, both x replicas; KV = b x (in + out).\nflopwatt: continuous batching with"
          " chunked prefill, steady state; KV = its memory_bytes - weights.")


def main() -> int:
    args = parse_args()
    info = run_json([args.flopwatt_python, "-c", FW_INFO, args.model, args.accelerator])
    if "error" in info:
        sys.exit(f"flopwatt info failed: {info['error']}")
    variants = [("llm-analysis (defaults)", None, None),
                ("llm-analysis (fw eff)", info["gemm_eff_max"], info["hbm_eff"])]
    rows = flopwatt_rows(args)
    cases = [{"dtype": LLMA_DTYPE[prec][0], "kv_bytes": LLMA_DTYPE[prec][1], "tp": tp, "batch": b,
              "inp": args.input_len, "out": args.output_len, "flops_eff": fe, "hbm_eff": he}
             for _, prec, tp, b, _, _ in rows for _, fe, he in variants]
    req = {"gpu": args.llma_gpu, "model": args.llma_model, "cases": cases}
    llma = run_json([args.llm_analysis_python, "-c", LLMA, json.dumps(req)])
    if "error" in llma:
        sys.exit(f"llm-analysis failed ({args.llm_analysis_python}): {llma['error']}")
    print_table(args, info, variants, rows, llma)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
