"""Validation against published training runs: thresholds that fail the build (issue #2 acceptance)."""

from __future__ import annotations

from pathlib import Path

import pytest

from flopwatt import catalog
from flopwatt.errors import InputError
from flopwatt.validate import read_rows, validate

MEDIAN_APE_MAX = 0.07
MAX_APE_MAX = 0.20


@pytest.fixture(scope="module")
def report(visible_csv):
    return validate(read_rows(visible_csv), kind="train")


def test_median_and_max_error_within_thresholds(report):
    summary = report["summary"]
    assert summary["median_ape"] <= MEDIAN_APE_MAX, summary
    assert summary["max_ape"] <= MAX_APE_MAX, [(r["id"], round(r["ape"], 3)) for r in report["rows"]]


def test_every_training_row_is_evaluated_or_says_what_it_lacks(report, visible_csv):
    train_ids = {r["id"] for r in read_rows(visible_csv) if r["kind"] == "train"}
    evaluated = {r["id"] for r in report["rows"]}
    skipped = {s["id"]: s["reason"] for s in report["summary"]["skipped"]}
    assert evaluated | set(skipped) == train_ids
    assert evaluated.isdisjoint(skipped)
    assert all("not published" in reason for reason in skipped.values()), skipped
    assert len(evaluated) >= 0.9 * len(train_ids)


def test_report_schema(report):
    row = report["rows"][0]
    assert {"id", "metric", "measured", "predicted", "ape", "status"} <= set(row)
    assert {"n", "median_ape", "p90_ape", "max_ape", "skipped"} <= set(report["summary"])
    assert row["ape"] == pytest.approx(abs(row["predicted"] - row["measured"]) / row["measured"])


def test_every_row_of_every_kind_is_listed_never_dropped(visible_csv):
    rows = read_rows(visible_csv)
    report = validate(rows)
    listed = {r["id"] for r in report["rows"]} | {s["id"] for s in report["summary"]["skipped"]}
    assert listed == {r["id"] for r in rows}


def test_bad_kind_is_an_input_error(visible_csv):
    with pytest.raises(InputError, match="--kind"):
        validate(read_rows(visible_csv), kind="nonsense")


def test_header_must_match_schema(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("id,kind\nX,train\n")
    with pytest.raises(InputError, match="missing column"):
        read_rows(path)


ENERGY_MEDIAN_APE_MAX = 0.15


def test_energy_rows_within_threshold(visible_csv):
    report = validate(read_rows(visible_csv), kind="energy")
    assert report["summary"]["n"] >= 2
    assert report["summary"]["median_ape"] <= ENERGY_MEDIAN_APE_MAX, report["rows"]
    energy_ids = {r["id"] for r in read_rows(visible_csv) if r["kind"] == "energy"}
    listed = {r["id"] for r in report["rows"]} | {s["id"] for s in report["summary"]["skipped"]}
    assert listed == energy_ids


def test_reliability_rows_listed_and_llama3_reproduced(visible_csv):
    from flopwatt.validate import read_reliability_rows, validate_reliability

    path = visible_csv.parent / "reliability.csv"
    rows = read_reliability_rows(path)
    report = validate_reliability(rows)
    listed = {r["id"] for r in report["rows"]} | {s["id"] for s in report["summary"]["skipped"]}
    assert listed == {r["id"] for r in rows}
    llama = next(r for r in report["rows"] if r["id"] == "LLAMA3R-03")
    assert llama["predicted"] == pytest.approx(419)  # circular by construction: rates come from this run


INFER_MEDIAN_APE_MAX = 0.10  # issue #5 acceptance


@pytest.fixture(scope="module")
def infer_report(visible_csv):
    return validate(read_rows(visible_csv), kind="infer")


def test_inference_rows_evaluated_with_the_dataset_mean_prompt(infer_report, visible_csv):
    infer_ids = {r["id"] for r in read_rows(visible_csv) if r["kind"] == "infer"}
    listed = {r["id"] for r in infer_report["rows"]} | {s["id"] for s in infer_report["summary"]["skipped"]}
    assert listed == infer_ids
    assert len(infer_report["rows"]) == len(infer_ids), infer_report["summary"]["skipped"]
    assert all(0 < r["predicted"] < float("inf") for r in infer_report["rows"])


def test_inference_median_error_within_issue5_threshold(infer_report):
    assert infer_report["summary"]["median_ape"] <= INFER_MEDIAN_APE_MAX


def test_serving_dataset_catalog_matches_mlperf_rows_only():
    from flopwatt import catalog

    orca = catalog.serving_dataset("mlperf-inference", "llama2-70b")
    assert orca is not None and orca.mean_input_tokens < 1024 and "24,576" in orca.source and orca.retrieved
    assert catalog.serving_dataset("mlperf-inference", "llama2-7b") is None
    assert catalog.serving_dataset("sharegpt", "llama2-70b") is None


def test_serving_dataset_needs_positive_lengths_and_keywords():
    from flopwatt.specs.workload import ServingDataset

    with pytest.raises(InputError, match="mean_input_tokens"):
        ServingDataset(id="x", keywords=("a",), mean_input_tokens=0.0, mean_output_tokens=1.0, source="s",
                       retrieved="2026-11-22")
    with pytest.raises(InputError, match="keywords"):
        ServingDataset(id="x", keywords=(), mean_input_tokens=1.0, mean_output_tokens=1.0, source="s",
                       retrieved="2026-11-22")


def test_mlperf_request_sets_and_parenthesised_model_names_resolve():
    from flopwatt import catalog

    mixtral = catalog.serving_dataset("mlperf-inference", "mixtral-8x7b")
    big = catalog.serving_dataset("mlperf-inference", "llama3.1-405b")
    assert mixtral is not None and "15,000" in mixtral.source and mixtral.mean_input_tokens > mixtral.mean_output_tokens
    assert big is not None and "8,313" in big.source and big.mean_input_tokens > 9000
    assert catalog.model_by_name("Mixtral 8x7B (MLPerf mixtral-8x7b)").id == "mixtral-8x7b"
    assert catalog.model_by_name("Llama 3.1 405B Instruct (MLPerf llama3.1-405b)").id == "llama3.1-405b"
    assert catalog.model_by_name("Some 7B (internal)") is None


def test_inference_rows_pass_their_published_plan_and_engine(visible_csv):
    """A row's pp and (MoE) ep reach the serving search, and a vLLM row grows its KV on demand."""
    from flopwatt.validate import _infer_row

    row = next(r for r in read_rows(visible_csv) if r["kind"] == "infer")
    fixed = _infer_row({**row, "tp": "2", "pp": "1"})
    assert fixed.plan["tp"] == 2 and fixed.plan["pp"] == 1
    assert "engine KV allocation: reserve" in " ".join(fixed.assumptions)
    vllm = _infer_row({**row, "id": "NOCONV-01", "framework": "vllm", "input_len": "222.33"})
    assert "engine KV allocation: on-demand (the profile's)" in vllm.assumptions
    assert vllm.predicted != fixed.predicted or vllm.plan != fixed.plan


def test_infer_row_takes_the_engine_release_from_the_conventions(visible_csv):
    """MLPI rows name their round's harness; a framework that names no profiled engine (blank in the shared
    schema, or a name without a profile) runs flopwatt serve's default engine, and says so."""
    from flopwatt.catalog import engine_profiles
    from flopwatt.validate import _infer_row

    rows = {r["id"]: r for r in read_rows(visible_csv) if r["kind"] == "infer"}
    assert "engine: mlperf-nvidia-v4.0" in " ".join(_infer_row(rows["MLPI-01"]).assumptions)
    assert "engine: mlperf-nvidia-v4.1" in " ".join(_infer_row(rows["MLPI-04"]).assumptions)
    default = engine_profiles.DEFAULT_ENGINE
    for framework, said in (("lmdeploy", "framework 'lmdeploy' has no engine profile"),
                            ("", "framework not published")):
        result = _infer_row({**rows["MLPI-01"], "id": "NOCONV-01", "framework": framework, "input_len": "222.33"})
        assert f"{said}: engine {default}, the default engine of flopwatt serve (rule)" in result.assumptions
        assert f"engine: {default} ({engine_profiles.get(default).name})" in result.assumptions


def test_a_row_of_an_unknown_source_takes_its_models_one_request_set(visible_csv):
    """No conventions suite: the one datasets.toml request set of the row's catalog model gives the prompt
    length (a stated rule); a model with none is skipped with the reason."""
    from flopwatt.validate import Skip, _infer_row

    row = next(r for r in read_rows(visible_csv) if r["kind"] == "infer")
    unknown = {**row, "id": "NOCONV-01", "input_len": ""}
    result = _infer_row(unknown)
    assert ("mean input length not published: the request set of the catalog's one benchmark for llama2-70b, "
            "mlperf-llama2-70b-openorca (rule)") in result.assumptions
    given = _infer_row({**unknown, "input_len": "222.33"})
    assert given.predicted > 0 and result.predicted > 0
    with pytest.raises(Skip, match="mean input length not published"):
        _infer_row({**unknown, "model": "Llama 2 7B"})


def test_conventions_name_existing_engine_profiles_of_the_right_engine():
    from flopwatt.catalog import engine_profiles
    from flopwatt.validate import FRAMEWORKS, conventions

    named = {k: v["engine"] for k, v in conventions.conventions().items() if "engine" in v}
    assert named, "no engine conventions"
    for key, engine_id in named.items():
        engine_profiles.get(engine_id)  # raises on an unknown id
        assert engine_profiles.get(engine_id).engine in set(FRAMEWORKS.values()), key


def test_input_tokens_per_s_is_the_prefill_side_of_output_throughput(visible_csv):
    """input_tokens_per_s = output tokens/s x mean prompt / mean output (steady state of one request set)."""
    from flopwatt.validate import _infer_row

    row = next(r for r in read_rows(visible_csv) if r["kind"] == "infer")
    out = _infer_row(row)
    inp = _infer_row({**row, "metric": "input_tokens_per_s", "value": "1000"})
    prompt = 222.33  # datasets.toml mlperf-llama2-70b-openorca mean_input_tokens
    assert inp.predicted == pytest.approx(out.predicted * prompt / float(row["output_len"]), rel=1e-9)


def test_interactive_rows_are_server_rows_with_their_tighter_limits(visible_csv):
    """MLPerf Interactive = LoadGen Server with tighter p99 limits: the same path, lower throughput."""
    from flopwatt.validate import _infer_row

    row = next(r for r in read_rows(visible_csv) if r["kind"] == "infer" and r["scenario"] == "server")
    server = _infer_row(row)
    interactive = _infer_row({**row, "ttft_p99_s": "0.45", "tpot_p99_s": "0.04"})
    assert interactive.predicted < server.predicted


def test_a_published_ep_inside_the_tp_group_takes_the_layout_of_the_rows_engine(visible_csv):
    """tp 8 x ep 8 on 8 devices (expert ranks inside the TP group, attention tensor- or data-parallel, the columns
    cannot say), a stated rule by the engine the row runs: a blank framework (the default engine, vLLM) runs attention
    tensor-parallel over tp 8 with the experts split over its ranks, the plan of tp 8 with ep 1; a TensorRT-LLM row
    leaves tp and ep to the search, the plan it would get with both blank. A tp x pp beyond the devices is skipped."""
    from flopwatt.validate import Skip, _infer_row

    row = next(r for r in read_rows(visible_csv) if r["kind"] == "infer")
    moe = {**row, "model": "Mixtral 8x7B", "moe_experts": "8", "moe_topk": "2", "moe_ffn_hidden": "14336",
           "tp": "8", "ep": "8", "layers": "32", "hidden": "4096", "ffn_hidden": "14336", "heads": "32",
           "kv_heads": "8", "vocab": "32000", "input_len": "400", "id": "EPTP-01"}
    open_engine = _infer_row({**moe, "framework": ""})
    plain = _infer_row({**moe, "framework": "", "ep": "1"})
    assert open_engine.plan["tp"] == 8 and open_engine.plan["ep"] == 1
    assert open_engine.plan == plain.plan and open_engine.predicted == plain.predicted
    assert any("attention tensor-parallel over tp 8, the default of vllm" in a for a in open_engine.assumptions)
    trt = _infer_row({**moe, "framework": "tensorrt-llm"})
    blank = _infer_row({**moe, "framework": "tensorrt-llm", "tp": "", "ep": ""})
    assert trt.plan == blank.plan and trt.predicted == blank.predicted
    assert any("tp and ep left to the search" in a for a in trt.assumptions)
    with pytest.raises(Skip, match="tp x pp = 16 exceeds the 8 devices"):
        _infer_row({**moe, "pp": "2"})


@pytest.mark.parametrize("name", ["train_fit.csv", "train_heldout.csv"])
def test_catalog_models_named_by_published_rows_agree_with_the_shape_the_rows_give(name):
    """A row whose model name resolves to a catalog entry takes its blanks from it: every shape cell the row
    does give must be the entry's own (the NeMo GPT3 / Nemotron configs, MegaScale's 530B: heads differ and
    come from the row, so heads is not compared for models the row names with another head count)."""
    rows = read_rows(Path(__file__).resolve().parents[1] / "validation" / name)
    resolved = 0
    for row in rows:
        if not row["id"].startswith(("NEMO24-01", "NEMO24-02", "NEMO24-08", "NEMO24-09", "MEGASC")):
            continue
        model = catalog.model_by_name(row["model"])
        assert model is not None, row["id"]
        resolved += 1
        for key in ("layers", "hidden", "ffn_hidden", "vocab"):
            if row[key].strip():
                assert int(row[key]) == getattr(model, key), (row["id"], key)
    assert resolved >= 4


def test_a_published_split_the_stack_rule_refuses_still_runs_with_the_rule_stated():
    """Megatron-Bridge's Llama 3.1 405B layout (126 layers, pp 8 x vpp 8) with a blank framework: the default
    stack's first-last rule refuses it, the run shows it ran, so L + 2 units are balanced (rule, stated)."""
    from flopwatt.validate import _train_row

    fit = Path(__file__).resolve().parents[1] / "validation" / "train_fit.csv"
    row = next(r for r in read_rows(fit) if r["id"] == "MBRIDGE-17")
    own = _train_row(row)
    assert not any("published pp x vpp split" in a for a in own.assumptions)
    blank = _train_row({**row, "id": "NOCONV-01", "framework": ""})
    assert any("is not one stack megatron-core's 'first-last' rule accepts" in a for a in blank.assumptions)
    assert (blank.plan["pp"], blank.plan["vpp"]) == (8, 8)
    assert blank.predicted > 0


def test_a_serving_row_without_a_matmul_peak_at_its_precision_says_weight_only(visible_csv):
    """FP8 on an A100 (no FP8 peak): weights in FP8, matmuls at the 16-bit peak, the same line serve gives."""
    from flopwatt.serve import weight_only_note
    from flopwatt.validate import _infer_row

    row = next(r for r in read_rows(visible_csv) if r["kind"] == "infer")
    result = _infer_row({**row, "accelerator": "a100-sxm4-80gb", "precision": "fp8"})
    note = weight_only_note("fp8", catalog.get("accelerators", "a100-sxm4-80gb"))
    assert note and note in result.assumptions
    assert not any("weight-only" in a for a in _infer_row(row).assumptions)


def test_an_energy_row_of_an_unknown_source_is_a_tdp_estimate_without_pue(visible_csv):
    """DATASET.md: energy_kwh is 'mostly TDP- or measured-power x time x PUE'. A source conventions.toml does
    not know: GPU-hours x board power, no PUE (a stated rule)."""
    from flopwatt.validate import _energy_row

    row = next(r for r in read_rows(visible_csv) if r["id"] == "BLOOM-03")
    unknown = {**row, "id": "NOCONV-01"}
    energy = _energy_row(unknown)
    hours = _energy_row({**unknown, "metric": "gpu_hours"})
    board_w = catalog.get("accelerators", row["accelerator"]).board_power_w
    assert energy.predicted == pytest.approx(hours.predicted * board_w / 1e3, rel=1e-12)
    assert any("GPU-hours x board power, no PUE (rule)" in a for a in energy.assumptions)
    assert not any("no PUE (rule)" in a for a in _energy_row(row).assumptions)


def test_a_training_row_without_a_sequence_length_takes_the_models_published_context():
    """The rule flopwatt train states: seq_len = the catalog model's published context, listed; a model without
    one is skipped with the reason."""
    from flopwatt.validate import Skip, _train_row

    fit = Path(__file__).resolve().parents[1] / "validation" / "train_fit.csv"
    row, model = next((r, m) for r in read_rows(fit) if r["metric"] == "tflops_per_device"
                      and (m := catalog.model_by_name(r["model"])) is not None and str(m.seq_len) == r["seq_len"])
    blank = _train_row({**row, "seq_len": ""})
    given = _train_row({**row, "seq_len": str(model.seq_len)})
    assert blank.predicted == pytest.approx(given.predicted, rel=1e-12)
    assert f"seq_len = {model.seq_len}: the published context of {model.id} (rule, as flopwatt train)" in \
        blank.assumptions
    with pytest.raises(Skip, match="no catalog model gives a published context"):
        _train_row({**row, "seq_len": "", "model": "Some 7B (internal)", **{k: str(getattr(model, k)) for k in
                                                                            ("layers", "hidden", "ffn_hidden", "heads",
                                                                             "kv_heads", "vocab")}})


def test_a_training_row_whose_degrees_miss_its_devices_is_not_fatal(visible_csv):
    """tp x pp x cp x dp not the device count: dp comes from the devices (a stated rule); tp x pp x cp not dividing
    them: the row is skipped with the reason. Either way the run goes on."""
    base = next(r for r in read_rows(visible_csv) if r["kind"] == "train" and r["tp"] and r["pp"] and r["dp"])
    report = validate([{**base, "id": "ZZT-01", "dp": str(int(base["dp"]) + 1)},
                       {**base, "id": "ZZT-02", "tp": "3", "pp": "1"}])
    (row,) = report["rows"]
    assert row["id"] == "ZZT-01" and any("from the devices (rule)" in a for a in row["assumptions"])
    (skip,) = report["summary"]["skipped"]
    assert skip["id"] == "ZZT-02" and "does not divide" in skip["reason"]
