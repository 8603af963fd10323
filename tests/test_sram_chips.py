"""SRAM-only inference chips (Groq LPU, Cerebras WSE-3): catalog data, the zero-HBM schema rule, and
that the training model reports such plans infeasible (or stops with one clear input error) instead of
crashing or producing NaN."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import warnings

import numpy as np
import pytest

from flopwatt import catalog
from flopwatt.energy import movement
from flopwatt.errors import InputError
from flopwatt.perf import feasibility
from flopwatt.perf.compute import DeviceRates
from flopwatt.perf.space import PlanRequest, enumerate_plans
from flopwatt.perf.training import evaluate_training
from flopwatt.specs import Accelerator, TrainingWorkload

SRAM_CHIPS = ("groq-lpu-v1", "cerebras-wse-3")
SRAM_SYSTEMS = {"groqnode": "groq-lpu-v1", "cs-3": "cerebras-wse-3"}
WSE3_VENDOR_PEAK = 125e15
"""Cerebras' '125 petaflops of peak AI performance': a sparsity-assisted figure, never a dense peak."""


@pytest.fixture(scope="module")
def groq() -> Accelerator:
    return catalog.get("accelerators", "groq-lpu-v1")


def _fields(acc: Accelerator, **changes: object) -> dict:
    """The constructor arguments of ``acc`` with ``changes`` applied."""
    return {**{f.name: getattr(acc, f.name) for f in dataclasses.fields(acc)}, **changes}


# --- catalog data -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("accelerator_id", SRAM_CHIPS)
def test_sram_chip_entries_are_sourced_and_sram_only(accelerator_id):
    acc = catalog.get("accelerators", accelerator_id)
    assert acc.source.strip() and acc.retrieved == "2026-11-22"
    assert acc.hbm_bytes == 0 and acc.hbm_bandwidth_bytes_per_s == 0
    assert not acc.has_off_chip_memory
    assert acc.sram_bytes > 0 and acc.sram_bandwidth_bytes_per_s > 0
    assert acc.streaming_bandwidth_bytes_per_s == acc.sram_bandwidth_bytes_per_s
    assert "VENDOR CLAIMS" in acc.notes  # tokens/s marketing is kept out of the figures and marked
    assert "board_power_w" in acc.notes  # the unpublished power is said to be unknown, not invented


@pytest.mark.parametrize(("system_id", "accelerator_id"), SRAM_SYSTEMS.items())
def test_sram_systems_are_sourced_and_mark_their_assumptions(system_id, accelerator_id):
    system = catalog.get("systems", system_id)
    assert system.accelerator.id == accelerator_id
    assert system.source.strip() and system.retrieved == "2026-11-22"
    assert "ASSUMPTION" in system.notes and "UNVERIFIED" in system.notes
    assert catalog.system_for(accelerator_id).id == system_id
    eff = catalog.efficiency()
    for tier in (system.scale_up, system.scale_out):
        assert eff.collective_for(tier.technology).source.startswith("ASSUMED")


@pytest.mark.parametrize("accelerator_id", SRAM_CHIPS)
def test_sram_chips_have_assumed_efficiency_tables(accelerator_id):
    eff = catalog.efficiency()
    assert "ASSUMED" in eff.gemm_for(accelerator_id).source
    assert 0 < eff.memory_for(accelerator_id) <= 1
    assert 0 <= eff.overlap_for(accelerator_id) <= 1


def test_groq_figures_match_the_isca_2022_sram_and_published_fp16_peak(groq):
    assert groq.sram_bytes == 220 * 2**20  # "Each TSP contributes 220 MiBytes" (ISCA 2022)
    assert groq.peak_flops_per_s == {"fp16": 188e12}
    assert groq.sram_bandwidth_bytes_per_s == 80e12


def test_wse3_has_no_sparse_peak_entered():
    wse3 = catalog.get("accelerators", "cerebras-wse-3")
    assert all(peak < WSE3_VENDOR_PEAK for peak in wse3.peak_flops_per_s.values())
    assert wse3.peak_flops_per_s == {}, "enter a dense WSE-3 peak only with a source for it"
    assert "UNKNOWN" in wse3.notes and "sparsity" in wse3.notes
    with pytest.raises(InputError, match="published dense peak"):
        wse3.peak(wse3.half_precision())


# --- the zero-HBM schema rule -----------------------------------------------------------------------------------

def test_zero_hbm_without_sram_is_rejected_naming_the_field(groq):
    with pytest.raises(InputError) as err:
        Accelerator(**_fields(groq, sram_bytes=None))
    assert err.value.field == "accelerator groq-lpu-v1.sram_bytes"
    assert "sram_bytes" in str(err.value)


def test_zero_hbm_without_sram_bandwidth_is_rejected_naming_the_field(groq):
    with pytest.raises(InputError) as err:
        Accelerator(**_fields(groq, sram_bandwidth_bytes_per_s=None))
    assert err.value.field == "accelerator groq-lpu-v1.sram_bandwidth_bytes_per_s"


@pytest.mark.parametrize(("changes", "field"), [
    ({"hbm_bandwidth_bytes_per_s": 1e12}, "hbm_bandwidth_bytes_per_s"),  # bandwidth without capacity
    ({"hbm_bytes": 80e9}, "hbm_bytes"),  # capacity without bandwidth
    ({"hbm_bytes": False, "hbm_bandwidth_bytes_per_s": False}, "hbm_bytes"),  # a boolean is not 0
    ({"hbm_bytes": -1.0, "hbm_bandwidth_bytes_per_s": 1e12}, "hbm_bytes"),
    ({"sram_bytes": 0.0}, "sram_bytes"),
])
def test_inconsistent_memory_figures_are_rejected(groq, changes, field):
    with pytest.raises(InputError) as err:
        Accelerator(**_fields(groq, **changes))
    assert err.value.field == f"accelerator groq-lpu-v1.{field}"


def test_devices_with_hbm_keep_streaming_from_hbm():
    gaudi3 = catalog.get("accelerators", "gaudi3")
    assert gaudi3.has_off_chip_memory and gaudi3.sram_bytes is not None
    assert gaudi3.streaming_bandwidth_bytes_per_s == gaudi3.hbm_bandwidth_bytes_per_s
    h100 = catalog.get("accelerators", "h100-sxm5-80gb")
    assert h100.sram_bytes is None and h100.streaming_bandwidth_bytes_per_s == h100.hbm_bandwidth_bytes_per_s


def test_zero_bandwidth_device_rates_give_infinite_time_not_a_division_by_zero(groq):
    eff = catalog.efficiency()
    rates = DeviceRates(peak_flops_per_s=groq.peak("fp16"), hbm_bandwidth_bytes_per_s=groq.hbm_bandwidth_bytes_per_s,
                        gemm_efficiency=eff.gemm_for(groq.id), memory_efficiency=eff.memory_for(groq.id),
                        act_bytes=2.0, overlap_slowdown=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.all(np.isinf(rates.memory_time(np.array([0.0, 1e9]))))
        assert np.isinf(rates.gemm_time(np.array([1e12]), np.array([1e9]))[0])


# --- training on SRAM-only systems ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def groq_training():
    model = catalog.get("models", "gpt3-125m")
    system = catalog.get("systems", "groqnode")
    stack = catalog.get("stacks", "megatron-core")
    workload = TrainingWorkload(model=model, seq_len=2048, tokens=1e9, precision="fp16")
    plans = enumerate_plans(PlanRequest(devices=64, global_batch=64), model, stack, system)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no divide-by-zero or invalid-value warnings either
        result = evaluate_training(workload, system, plans, stack, 64)
    return result


def test_training_on_groq_is_infeasible_out_of_memory(groq_training):
    assert len(groq_training) > 100
    assert not groq_training.feasible.any()
    assert feasibility.reason_counts(groq_training.reason) == {"oom": len(groq_training)}


def test_training_on_groq_gives_finite_numbers(groq_training):
    for part in (groq_training.time, groq_training.memory, groq_training.metrics, groq_training.traffic):
        for key, values in part.items():
            assert np.all(np.isfinite(values)), key
    assert np.all(groq_training.time["time/step"] > 0)
    assert np.all(groq_training.traffic["traffic/hbm_bytes"] == 0)  # no off-chip memory to move bytes to


def test_data_movement_energy_on_groq_has_no_nan(groq_training):
    device_j = groq_training.time["time/step"] * 100.0  # any finite device energy: the split must stay finite
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        parts = movement.step_energy(groq_training.traffic, device_j, catalog.data_movement(), scale_out_pj=10.0)
    for key, values in parts.items():
        assert np.all(np.isfinite(values)), key
    assert np.all(parts["movement/hbm_j"] == 0)


def test_training_on_cerebras_stops_at_the_missing_dense_peak():
    model = catalog.get("models", "gpt3-125m")
    system = catalog.get("systems", "cs-3")
    stack = catalog.get("stacks", "megatron-core")
    workload = TrainingWorkload(model=model, seq_len=2048, precision="fp16")
    plans = enumerate_plans(PlanRequest(devices=4, global_batch=64), model, stack, system)
    with pytest.raises(InputError, match="published dense peak") as err:
        evaluate_training(workload, system, plans, stack, 4)
    assert err.value.field == "precision"


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flopwatt", *args], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(("args", "needles"), [
    (["--accelerator", "groq-lpu-v1", "--devices", "64"], ("plan", "does not fit in device memory")),
    (["--system", "groqnode", "--devices", "64"], ("plan", "does not fit in device memory")),
    (["--accelerator", "cerebras-wse-3", "--devices", "4"], ("precision", "published dense peak")),
])
def test_flopwatt_train_on_sram_chips_is_one_clear_line(args, needles):
    proc = _cli("train", "--model", "gpt3-125m", "--global-batch", "64", *args)
    assert proc.returncode == 2, proc
    assert proc.stdout == "" and "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert all(needle in lines[0] for needle in needles), lines[0]
    assert "nan" not in lines[0].lower()
