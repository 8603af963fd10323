"""KV pool per device: the engine memory rule (flopwatt.perf.engine_memory, vllm-0.9.2's profile) against published vLLM
V1 start-up logs (bench/data/engine_memory_logs.csv).

For every V1 log whose model is a catalog model, whose accelerator is a catalog id or a named A100/H100/H200 and
whose gpu_memory_utilization is printed or default, the rule's KV bytes per device are the utilisation x the device's
memory less the weights (flopwatt's weight bytes) less the activation peak of the start-up profile at the log's own
max_num_batched_tokens (else the profile's default on that device). The logged pool is kv_cache_bytes. The device
memory is the catalog's (the logs do not print the total), so a GiB of difference there shows up directly; where a
log prints its weights, the weights-free check (utilisation x memory - logged weights - logged pool = what the engine
kept for activations and non-torch memory) is printed next to the rule's activation peak.

    python bench/engine_memory_vs_logs.py
"""

from __future__ import annotations

import csv
import dataclasses
import statistics
from pathlib import Path

import numpy as np

from flopwatt import catalog
from flopwatt.catalog import engine_profiles
from flopwatt.errors import InputError
from flopwatt.perf import serving_ep
from flopwatt.serve import weight_bytes

DATA = Path(__file__).parent / "data" / "engine_memory_logs.csv"
GIB = 2.0**30
NAMED = {"A100 80GB": "a100-sxm4-80gb", "A100 40GB": "a100-sxm4-40gb", "H100": "h100-sxm5-80gb",
         "H200": "h200-sxm-141gb"}
"""Accelerator names in the logs -> catalog ids (SXM assumed where the log does not say)."""
PRECISION = {"fp8": "fp8", "bfloat16": "bf16", "mxfp4": "bf16"}
"""Weight dtype in the logs -> flopwatt precision (mxfp4: gpt-oss, whose experts keep their released width). ``auto``
(the checkpoint's own) is read only for a model whose catalog entry states its released width (gpt-oss); any other
``auto`` or blank row is left out (Kimi-K2-Thinking's own checkpoint is INT4, not K2's FP8)."""


def _model(hf_id: str):
    try:
        return catalog.model_by_name(hf_id.split("/")[-1])
    except InputError:
        return None


def _row_check(row: dict[str, str]):
    acc_id = NAMED.get(row["accelerator"], row["accelerator"])
    model = _model(row["model_hf_id"])
    if model is None or acc_id not in catalog.accelerators() or row["scheduler"] != "v1" or not row["kv_cache_bytes"]:
        return None
    dtype = row["weight_dtype"]
    if dtype == "auto" and model.released_expert_weight_bytes is not None:
        dtype = "mxfp4"
    if dtype not in PRECISION:
        return None
    acc = catalog.accelerators()[acc_id]
    tp = float(row["tp"] or 1)
    profile = engine_profiles.get("vllm-0.9.2")
    if row["max_num_batched_tokens"]:
        profile = dataclasses.replace(profile, max_num_tokens=int(row["max_num_batched_tokens"]),
                                      reduced_max_num_tokens=int(row["max_num_batched_tokens"]))
    settings = engine_profiles.settings(profile, accelerator=acc)
    held = settings.engine_memory
    share = float(row["gpu_memory_utilization"] or profile.gpu_memory_utilization)
    held = dataclasses.replace(held, share=share)
    per_weight, _ = weight_bytes(model, PRECISION[dtype])
    weights = float(serving_ep.weights_per_device(model, per_weight, np.array([tp]), np.array([1.0]),
                                                  np.array([1.0]))[0])
    limit = float(held.kv_limit_bytes(model, acc.hbm_bytes, np.array([tp]))[0])
    activation = share * acc.hbm_bytes - limit
    kept = (share * acc.hbm_bytes - float(row["weights_bytes"]) - float(row["kv_cache_bytes"])
            if row["weights_bytes"] else None)
    return {"id": row["id"], "model": model.id, "acc": acc_id, "tp": int(tp), "share": share,
            "logged_kv": float(row["kv_cache_bytes"]), "rule_kv": limit - weights,
            "logged_w": float(row["weights_bytes"]) if row["weights_bytes"] else None, "rule_w": weights,
            "activation": activation, "kept": kept}


def main() -> None:
    with DATA.open(newline="") as fh:
        checks = [c for c in map(_row_check, csv.DictReader(fh)) if c is not None]
    print(f"{'id':8s} {'model':22s} {'accelerator':15s} tp  share  KV log GiB  KV rule GiB   ratio  "
          f"W log  W rule  kept log  act rule")
    for c in checks:
        ratio = c["rule_kv"] / c["logged_kv"]
        w_log = f"{c['logged_w'] / GIB:6.2f}" if c["logged_w"] else "     -"
        kept = f"{c['kept'] / GIB:8.2f}" if c["kept"] is not None else "       -"
        print(f"{c['id']:8s} {c['model'][:22]:22s} {c['acc']:15s} {c['tp']:2d}  {c['share']:.2f}  "
              f"{c['logged_kv'] / GIB:10.2f}  {c['rule_kv'] / GIB:11.2f}  {ratio:6.2f}  {w_log}  "
              f"{c['rule_w'] / GIB:6.2f}  {kept}  {c['activation'] / GIB:8.2f}")
    errors = [abs(c["rule_kv"] / c["logged_kv"] - 1) * 100 for c in checks]
    if errors:
        print(f"n={len(errors)}  median |KV error| {statistics.median(errors):.1f}%  max {max(errors):.1f}%")


if __name__ == "__main__":
    main()
