"""Shape checks on validation/infer_heldout8.csv, the eighth serving hold-out (data only: no flopwatt prediction
is made on these rows, see validation/SPLIT_infer.md). Written in the shared schema as an outside party would write
it (as the sixth and seventh): new prefixes with no conventions entry, framework `mlperf-nvidia` for NVIDIA's MLPerf
harness, `tensorrt-llm` for trtllm-bench and blank for every other engine, the engine and its release in notes only.
Focus decided by the lead before any prediction: mixture-of-experts models served at full load (MLPerf Offline, Server
at its p99 limits, or trtllm-bench's offline run of 1000+ queued requests), on NVIDIA and AMD GPUs; every row with its
plan as published or derived and its lengths as the source gives them."""

from __future__ import annotations

import heldout_data
from flopwatt import catalog
from flopwatt import validate as val
from heldout_data import ROOT

CSV = ROOT / "validation" / "infer_heldout8.csv"
SERVER_LIMITS = {  # MLPerf loadgen mlperf.conf p99 Server limits (TTFT s, TPOT s) by expert count of the task's model
    "8": ("2", "0.2"),  # mixtral-8x7b
    "256": ("2", "0.08"),  # deepseek-r1
    "128": ("3", "0.08"),  # gpt-oss-120b
}
MAX_TOKENS_PER_S_PER_DEVICE = 50000  # range check only: gpt-oss-120b (5.1B active) on one B200/GB200 prints ~27k
MIXTRAL_REFERENCE_OUTPUT = 144.843  # the mixtral-8x7b set's reference generated mean (as the earlier hold-outs)


def _rows() -> list[dict[str, str]]:
    return heldout_data.rows(CSV)


def _mlperf_rows() -> list[dict[str, str]]:
    return [r for r in _rows() if r["id"].startswith("MLMOE")]


def _public_result(source: str) -> tuple[str, str]:
    """(Public ID, 'benchmark Scenario') as this file's source column names them."""
    return source.split("result ")[1].split(" (")[0], source.split("), ")[1].split(":")[0]


def test_no_public_result_repeats_one_already_collected():
    """No (MLPerf Public ID, benchmark, scenario) of this file is named in another data file's source column."""
    mlperf = _mlperf_rows()
    mine = {_public_result(r["source"]) for r in mlperf}
    assert len(mine) == len(mlperf)
    for name, other in heldout_data.others(CSV).items():
        for r in other:
            src = r.get("source", "")
            for pub, task in mine:
                assert not (f"result {pub} " in src and task in src), (name, r["id"], pub, task)


def test_enums_units_limits_and_held_out_marker():
    for r in _rows():
        assert r["kind"] == "infer" and r["unit"] == "tokens/s", r["id"]
        assert r["framework"] in heldout_data.SHARED_FRAMEWORKS, r["id"]
        assert r["metric"] == "output_tokens_per_s" and r["metric"] in val.INFER_METRICS, r["id"]
        assert r["scenario"] in {"offline", "server"}, r["id"]
        if r["scenario"] == "server":
            assert (r["ttft_p99_s"], r["tpot_p99_s"]) == SERVER_LIMITS[r["moe_experts"]], r["id"]
        assert r["source"] and r["network"], r["id"]
        assert r["id"].startswith("TRTPO") or "result VALID" in r["notes"], r["id"]
        assert "HELD OUT" in r["notes"] and "eighth hold-out" in r["notes"], r["id"]


def test_focus_decided_before_any_prediction():
    """The lead's focus: every row a MoE model at full load (offline or server), at least 20 rows, both vendors, and
    more than one model and engine family (NVIDIA's MLPerf harness, trtllm-bench, vLLM builds)."""
    known = catalog.accelerators()
    rows = _rows()
    assert len(rows) >= 20
    assert all(r["moe_experts"] and int(r["moe_experts"]) > 1 for r in rows)
    assert {known[r["accelerator"]].vendor for r in rows} == {"NVIDIA", "AMD"}
    assert set(SERVER_LIMITS) <= {r["moe_experts"] for r in rows}
    assert {r["framework"] for r in rows} == heldout_data.SHARED_FRAMEWORKS


def test_rows_are_in_range_and_in_the_catalog():
    """Every row publishes devices, the plan (tp, pp, dp using exactly the row's devices), precision and the mean
    generated length; input_len is blank exactly on MLPerf rows (they name the dataset only); its value is a physical
    generated-token rate; its accelerator (with a peak at the row's precision) is in the catalog; its model resolves
    to a catalog model of the row's shape, or the row carries the architecture."""
    for r in _rows():
        heldout_data.check_run_inputs(r)
        assert bool(r["input_len"]) == r["id"].startswith("TRTPO"), r["id"]
        if r["ep"]:
            assert int(r["ep"]) == int(r["tp"]) <= int(r["n_devices"]), r["id"]
        assert all(r[k] for k in heldout_data.MOE_COLUMNS), r["id"]  # every row an MoE model
        heldout_data.check_catalog_row(r, MAX_TOKENS_PER_S_PER_DEVICE)


def test_mlperf_nvidia_rows_name_their_config_and_attention_data_parallel():
    """mlperf-nvidia rows cite NVIDIA-harness configuration files; every DeepSeek-R1 row (tp 8, ep 8) states in notes
    that attention ran data-parallel (the columns cannot say it); mixtral rows run one engine per GPU (tp 1, dp =
    n_devices) and carry the set's reference generated mean."""
    for r in _mlperf_rows():
        if r["framework"] != "mlperf-nvidia":
            continue
        assert "/configs/" in r["source"] and "TensorRT" in r["notes"], r["id"]
        if r["moe_experts"] == "256":
            assert (r["tp"], r["ep"], r["precision"]) == ("8", "8", "fp4"), r["id"]
            assert "ATTENTION DATA-PARALLEL" in r["notes"] and "derived" in r["notes"], r["id"]
        else:
            assert r["tp"] == "1" and r["dp"] == r["n_devices"] and not r["ep"], r["id"]
            assert float(r["output_len"]) == MIXTRAL_REFERENCE_OUTPUT, r["id"]


def test_blank_framework_rows_are_vllm_gpt_oss_runs():
    """The rows outside NVIDIA's harness: gpt-oss-120b on vLLM builds (AMD's harness on MI355X, llm-d on B200), one
    engine per GPU, MXFP4 weights stored as fp4; the Red Hat plan is marked as assumed."""
    rows = [r for r in _rows() if not r["framework"]]
    assert len(rows) == 8
    for r in rows:
        assert r["moe_experts"] == "128" and r["precision"] == "fp4" and "vLLM" in r["notes"], r["id"]
        assert r["tp"] == "1" and r["dp"] == r["n_devices"], r["id"]
        if "RedHat" in r["source"]:
            assert "assumed" in r["notes"], r["id"]


def test_trtllm_bench_rows_are_offline_runs_with_fixed_lengths():
    """TRTPO rows: trtllm-bench throughput of the TensorRT-LLM perf overview, fixed ISL/OSL with a stated request
    count of at least 1000, value = per-GPU output rate x GPUs (derived), one engine (dp 1); DEP columns run attention
    data-parallel with ep = tp (assumed from the label, stated in notes)."""
    rows = [r for r in _rows() if r["id"].startswith("TRTPO")]
    assert len(rows) == 16
    for r in rows:
        assert r["framework"] == "tensorrt-llm" and r["scenario"] == "offline" and r["dp"] == "1", r["id"]
        assert (r["input_len"], r["output_len"]) in {("1024", "1024"), ("8192", "1024"), ("1024", "8192")}, r["id"]
        assert "requests" in r["notes"] and "derived" in r["notes"], r["id"]
        if r["ep"]:
            assert r["ep"] == r["tp"] and "ATTENTION DATA-PARALLEL" in r["notes"] and "assumed" in r["notes"], r["id"]


def test_read_by_the_validation_reader():
    """validate's own reader accepts the file (header order, numeric cells)."""
    assert len(val.read_rows(CSV)) == len(_rows())
