"""TPU ICI torus collectives (perf/collectives.py torus_*) and XLA's layout on them (perf/ici_layout.py).

Checked against the worked examples of jax-ml/scaling-book@0819a7d8 sharding.md and Google's slice tables."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from flopwatt import catalog
from flopwatt.catalog.efficiency import CollectiveTable
from flopwatt.catalog.ici import Torus, torus_for
from flopwatt.perf import collectives as coll
from flopwatt.perf import memory
from flopwatt.perf.plans import RECOMPUTE, Plans
from flopwatt.perf.training import evaluate_training
from flopwatt.specs import Link, TrainingWorkload


def _tier(link_one_way: float, axes: int) -> coll.Tier:
    """A scale-up tier whose per-direction chip bandwidth is 2 x axes links at ``link_one_way``, efficiency 1."""
    table = CollectiveTable(np.array([1e3, 1e9]), np.array([1.0, 1.0]), "test")
    return coll.Tier(Link(technology="ici-test", bandwidth_bytes_per_s=2 * axes * link_one_way, latency_s=0.0), table)


def test_slice_shapes_follow_googles_tables():
    v5p, v5e = torus_for("ici-v5p"), torus_for("ici-v5e")
    assert sorted(v5p.slice_shape(64)) == [4, 4, 4]
    assert sorted(v5p.slice_shape(512)) == [8, 8, 8]
    assert sorted(v5p.slice_shape(2048)) == [8, 16, 16]
    assert sorted(v5p.slice_shape(6144)) == [16, 16, 24]
    assert sorted(v5e.slice_shape(128)) == [8, 16]
    assert v5e.slice_shape(256) == (16, 16)


def test_line_all_gather_matches_the_v5e_worked_example():
    """v5e 4x4, AllGather of 34 MB over one 4-chip axis without wraparound: 3 x 8.4e6 B / 4.5e10 B/s = 560 us
    plus 3 hops of 1 us (sharding.md)."""
    torus = torus_for("ici-v5e")
    t = coll.torus_gather(np.array([[4, 1]]), np.array([[False, False]]), np.array([33.6e6]),
                          _tier(4.5e10, 2), torus)
    assert t[0] == pytest.approx(3 * 8.4e6 / 4.5e10 + 3e-6, rel=1e-9)


def test_wraparound_and_more_axes_each_double_the_bandwidth():
    torus = torus_for("ici-v4")
    tier, n = _tier(4.5e10, 3), np.array([1e9])
    line = coll.torus_gather(np.array([[4, 1, 1]]), np.array([[False] * 3]), n, tier, torus)[0]
    ring = coll.torus_gather(np.array([[4, 1, 1]]), np.array([[True, False, False]]), n, tier, torus)[0]
    two = coll.torus_gather(np.array([[4, 4, 1]]), np.array([[True, True, False]]), n, tier, torus)[0]
    assert line / ring == pytest.approx(2.0, rel=1e-3)
    # 16 chips over two rings: (15/16) n / (4 links) against (3/4) n / (2 links) on one ring
    assert ring / two == pytest.approx((3 / 4 / 2) / (15 / 16 / 4), rel=1e-3)


def test_small_messages_are_latency_bound_by_hops():
    torus = torus_for("ici-v5e")
    t = coll.torus_gather(np.array([[16, 16]]), np.array([[True, True]]), np.array([64.0]), _tier(4.5e10, 2), torus)
    assert t[0] == pytest.approx(16 * 1e-6, rel=1e-3)  # 8 + 8 hops of 1 us, the bytes negligible


@given(st.sampled_from([(16, 1), (16, 16), (256, 16), (64, 4), (1024, 8), (1024, 16), (6144, 4), (512, 1)]))
def test_placement_covers_the_slice(case):
    chips, inner = case
    torus = torus_for("ici-v5p") if chips > 256 or chips in (64,) else torus_for("ici-v5e")
    tp_ext, tp_wrap, fsdp_ext, fsdp_wrap = coll.torus_placement(torus, chips, inner)
    assert int(np.prod(tp_ext)) == inner
    assert int(np.prod(tp_ext)) * int(np.prod(fsdp_ext)) == chips
    shape = torus.slice_shape(chips)
    for ext, wrap in ((tp_ext, tp_wrap), (fsdp_ext, fsdp_wrap)):
        for e, w, s in zip(ext, wrap, shape, strict=True):
            assert not w or (e == s and s % torus.wraparound_multiple == 0)


def test_tensor_parallel_takes_a_whole_wrapped_axis_on_v5e():
    tp_ext, tp_wrap, fsdp_ext, fsdp_wrap = coll.torus_placement(torus_for("ici-v5e"), 256, 16)
    assert (tp_ext, tp_wrap, fsdp_ext, fsdp_wrap) == ((16, 1), (True, False), (1, 16), (False, True))


def test_unknown_technology_is_not_a_torus():
    assert torus_for("nvlink4") is None
    assert torus_for("ici-v3") is None  # wraparound rule not in our sources: the ring model stays


def test_torus_rejects_a_malformed_entry():
    from flopwatt.catalog.ici import _torus
    from flopwatt.errors import InputError

    with pytest.raises(InputError):
        _torus("ici-x", {"axes": 2, "pod_shape": [16], "max_slice_chips": 256, "wraparound_multiple": 16,
                         "hop_latency_s": 1e-6, "source": "s", "retrieved": "2026-12-06"})
    assert isinstance(torus_for("ici-v6e"), Torus)


def _fsdp_run(devices: int, global_batch: int):
    """Llama 2 7B, pure FSDP on v5e with MaxText's layout and no overlap (so every collective shows)."""
    model = catalog.get("models", "llama2-7b")
    system = catalog.get("systems", "tpu-v5e-slice")
    stack = dataclasses.replace(catalog.get("stacks", "maxtext"), dp_overlap=False, zero3_prefetch_overlap=False)
    n = 1
    plans = Plans(tp=np.ones(n, int), pp=np.ones(n, int), dp=np.full(n, devices), cp=np.ones(n, int),
                  ep=np.ones(n, int), vpp=np.ones(n, int), micro_batch=np.ones(n, int),
                  global_batch=np.full(n, global_batch), zero_stage=np.full(n, 3),
                  recompute=np.full(n, RECOMPUTE.index("full")), recompute_layers=np.ones(n),
                  sequence_parallel=np.zeros(n, bool))
    return evaluate_training(TrainingWorkload(model=model, seq_len=2048), system, plans, stack, devices), system


def test_fsdp_stays_inside_the_slice_and_slices_add_one_dcn_all_reduce():
    (one, system), (two, _) = _fsdp_run(256, 256), _fsdp_run(512, 512)
    assert two.time["time/compute"][0] == pytest.approx(one.time["time/compute"][0], rel=1e-9)
    # FSDP over the 256-chip slice in both; the second slice adds the AllReduce of each chip's 1/256 gradient
    # shard with its one peer over DCN, once per step
    params = catalog.get("models", "llama2-7b").total_params()
    out = coll.Tier(system.scale_out, catalog.efficiency().collective_for(system.scale_out.technology))
    grads_shard = params * memory.GRAD_BYTES / 256
    dcn = coll.all_reduce(np.array([2.0]), np.array([grads_shard]), out)[0]
    extra = two.time["time/comm/dp"][0] - one.time["time/comm/dp"][0]
    assert extra == pytest.approx(dcn, rel=0.02)  # params held per chip differ from the total by the tied head


def test_only_the_gradient_shard_crosses_dcn():
    """Two v5e slices: per step each chip sends 2 (s-1)/s of its 1/256 gradient shard over DCN (s = 2 slices),
    and its FSDP gathers/scatters stay on ICI."""
    (two, _) = _fsdp_run(512, 512)
    (one, _) = _fsdp_run(256, 256)
    params = two.traffic["traffic/scale_out_bytes"][0] / (2 * (2 - 1) / 2 * memory.GRAD_BYTES / 256)
    assert one.traffic["traffic/scale_out_bytes"][0] == 0.0
    assert two.traffic["traffic/scale_up_bytes"][0] == pytest.approx(one.traffic["traffic/scale_up_bytes"][0])
    assert params == pytest.approx(catalog.get("models", "llama2-7b").total_params(), rel=0.02)


@pytest.mark.parametrize(("system_id", "devices"),
                         [("tpu-v5p-slice", 96), ("tpu-v5e-slice", 512), ("tpu-v4-slice", 64)])
def test_every_tpu_plan_has_finite_non_negative_times(system_id, devices):
    """All plans of a space on a torus (odd slice shapes, TP over several axes, several slices) compute."""
    from flopwatt.perf.space import PlanRequest, enumerate_plans

    model = catalog.get("models", "llama2-13b")
    system = catalog.get("systems", system_id)
    stack = catalog.get("stacks", "maxtext")
    plans = enumerate_plans(PlanRequest(devices=devices, global_batch=devices * 2), model, stack, system)
    result = evaluate_training(TrainingWorkload(model=model, seq_len=2048), system, plans, stack, devices)
    assert len(plans) > 10
    for key, value in result.time.items():
        assert np.all(np.isfinite(value)) and np.all(value >= 0), key
    assert np.all(result.traffic["traffic/scale_out_bytes"] >= 0)



def test_a_tpu_plans_time_does_not_depend_on_the_other_plans_in_its_batch():
    """A plan evaluated beside one whose tensor-parallel group is larger than the slice (so off the torus path)
    gets the step time it gets alone: one plan's numbers never depend on the others in its batch."""
    import dataclasses

    from flopwatt.perf.space import PlanRequest, enumerate_plans

    model = catalog.get("models", "llama2-13b")
    system = catalog.get("systems", "tpu-v5e-slice")  # slices of at most 256 chips
    stack = catalog.get("stacks", "maxtext")
    workload = TrainingWorkload(model=model, seq_len=2048)
    plans = enumerate_plans(PlanRequest(devices=1024, global_batch=2048), model, stack, system)
    one = plans.take(np.array([len(plans) // 2]))
    wide = dataclasses.replace(one, tp=one.tp * 0 + 512, dp=np.maximum(one.dp * one.tp // 512, 1))
    pair = dataclasses.replace(one, **{f.name: np.concatenate([getattr(one, f.name), getattr(wide, f.name)])
                                        for f in dataclasses.fields(one)})
    alone = evaluate_training(workload, system, one, stack, 1024).time["time/step"][0]
    beside = evaluate_training(workload, system, pair, stack, 1024).time["time/step"][0]
    assert beside == pytest.approx(alone, rel=1e-12)
