"""bf16_grad_reduce_fp32: stacks that reduce bf16 gradients in fp32 move twice the data-parallel bytes."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from flopwatt import catalog
from flopwatt.errors import InputError
from flopwatt.perf.space import PlanRequest, enumerate_plans
from flopwatt.perf.training import evaluate_training
from flopwatt.specs import TrainingWorkload

DEVICES = 512


@pytest.fixture(scope="module")
def setup(gpt3, dgx_a100):
    stack = dataclasses.replace(catalog.get("stacks", "megatron-lm-2024"), bf16_grad_reduce_fp32=False)
    plans = enumerate_plans(PlanRequest(devices=DEVICES, global_batch=512, tp=8, pp=8), gpt3, stack, dgx_a100)
    return gpt3, dgx_a100, stack, plans


def _run(setup, precision, fp32):
    model, system, stack, plans = setup
    workload = TrainingWorkload(model=model, seq_len=2048, tokens=300e9, precision=precision)
    return evaluate_training(workload, system, plans, dataclasses.replace(stack, bf16_grad_reduce_fp32=fp32), DEVICES)


def test_fp32_reduction_doubles_data_parallel_bytes_and_time_for_bf16(setup):
    base, fp32 = _run(setup, "bf16", False), _run(setup, "bf16", True)
    assert np.all(base.plans.dp > 1)
    dp_bytes = {k: fp32.traffic[k] - base.traffic[k] for k in ("traffic/scale_up_bytes", "traffic/scale_out_bytes")}
    assert sum(v.sum() for v in dp_bytes.values()) > 0
    # only the gradient reduction changes
    np.testing.assert_array_less(base.time["time/comm/dp"], fp32.time["time/comm/dp"])
    for key in ("time/compute", "time/comm/tp", "time/comm/pp", "time/bubble"):
        np.testing.assert_array_equal(base.time[key], fp32.time[key])
    assert np.all(fp32.metrics["mfu"] <= base.metrics["mfu"])


def test_fp16_runs_keep_two_byte_gradients(setup):
    base, flagged = _run(setup, "fp16", False), _run(setup, "fp16", True)
    for key, value in base.time.items():
        np.testing.assert_array_equal(value, flagged.time[key])
    for key, value in base.traffic.items():
        np.testing.assert_array_equal(value, flagged.traffic[key])


def test_megatron_lm_2024_profile_reduces_bf16_gradients_in_fp32():
    stack = catalog.get("stacks", "megatron-lm-2024")
    assert stack.bf16_grad_reduce_fp32
    assert "accumulate_allreduce_grads_in_fp32" in stack.source


def test_flag_must_be_a_boolean():
    stack = catalog.get("stacks", "megatron-lm-2024")
    with pytest.raises(InputError, match="bf16_grad_reduce_fp32"):
        dataclasses.replace(stack, bf16_grad_reduce_fp32="yes")
