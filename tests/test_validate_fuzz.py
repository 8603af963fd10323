"""Rows whose every cell is well-formed (DATASET.md's enums, whole numbers >= 1, blanks) never end a validate run:
each is predicted or skipped with a reason, and no prediction is NaN (validate/, README 'Assumptions')."""

from __future__ import annotations

import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flopwatt.validate import read_rows, validate
from heldout_data import ROOT, SHARED_ACCELERATORS

BASE = [r for name in ("visible.csv", "infer_heldout8.csv", "infer_heldout10.csv", "train_heldout.csv")
        for r in read_rows(ROOT / "validation" / name)]
COUNTS = ["tp", "pp", "dp", "cp", "ep", "vpp", "micro_batch", "global_batch_seqs", "seq_len", "input_len",
          "output_len", "n_devices", "moe_experts", "moe_topk", "moe_shared_experts", "layers", "heads", "kv_heads"]
CELLS = {
    "accelerator": st.sampled_from(sorted(SHARED_ACCELERATORS)),
    "precision": st.sampled_from(["fp16", "bf16", "fp8", "fp4", ""]),
    "scenario": st.sampled_from(["offline", "server", "max_load", ""]),
    "framework": st.sampled_from(["", "tensorrt-llm", "mlperf-nvidia", "megatron-2022", "maxtext", "deepseek"]),
    "metric": st.sampled_from(["tflops_per_device", "mfu", "tokens_per_s", "step_time_s", "gpu_hours", "energy_kwh",
                               "output_tokens_per_s"]),
    **{name: st.sampled_from(["", "1", "2", "3", "4", "8", "16", "64", "128", "256", "1024"]) for name in COUNTS},
}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(base=st.sampled_from(BASE), changes=st.dictionaries(st.sampled_from(sorted(CELLS)), st.just(None),
                                                           min_size=1, max_size=3), data=st.data())
def test_a_well_formed_row_is_predicted_or_skipped_never_fatal(base, changes, data):
    row = {**base, "id": "ZZF-01", **{name: data.draw(CELLS[name], label=name) for name in changes}}
    report = validate([row])
    assert len(report["rows"]) + len(report["summary"]["skipped"]) == 1
    for result in report["rows"]:
        assert math.isfinite(result["predicted"]) and result["predicted"] >= 0, result
