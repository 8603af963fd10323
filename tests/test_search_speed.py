"""Issue 22: the fast plan search gives exactly what a straightforward search gives.

The optimised Pareto front is checked against a brute-force dominance test (property test with ties
and duplicates) and against the pre-issue-22 implementation kept in tests/pareto_reference.py; the
optimised engine (plan spaces enumerated once per process, one training evaluation shared by items
whose fabrics differ only in media, streaming front) against a reference search written the plain
way: every group enumerated and evaluated on its own, all feasible rows costed, one brute-force front.
"""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from flopwatt import catalog
from flopwatt.fabric.design import design
from flopwatt.fabric.network import FabricSpec
from flopwatt.perf import feasibility
from flopwatt.perf.space import PlanRequest, enumerate_plans
from flopwatt.perf.training import evaluate_training
from flopwatt.search import config as plan_config
from flopwatt.search import engine, run
from flopwatt.search.pareto import front_indices
from flopwatt.specs import TrainingWorkload
from pareto_reference import reference_front_indices

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "gpt3-175b-384-a100.toml"

BROAD = """
[workload]
model = "gpt3-175b"
tokens = 300e9
global_batch = 512

[menu]
accelerators = ["a100-sxm4-80gb", "h100-sxm5-80gb"]
devices = [128, 256]
stacks = ["megatron-core", "deepspeed-megatron"]
fabrics = ["ideal", "fat-tree", "rail-only", "dragonfly"]
media = ["auto", "optics", "lpo"]
oversubscription = [1, 3]
cooling = ["air", "direct-liquid"]
sites = ["us-virginia", "no-oslo"]

[plan]
pp = 8

[output]
top_k = 7
"""


def _brute_force_front(points: np.ndarray) -> list[int]:
    """Non-dominated rows, the first of equal rows only, in lexicographic order of the rows."""
    on_front = []
    for i, p in enumerate(points):
        dominated = np.any(np.all(points <= p, axis=1) & np.any(points < p, axis=1))
        repeated = np.any(np.all(points[:i] == p, axis=1))
        if not dominated and not repeated:
            on_front.append(i)
    return sorted(on_front, key=lambda i: (tuple(points[i]), i))


# small integer grids force ties in single objectives and whole duplicate rows
_POINTS = st.integers(1, 4).flatmap(lambda k: hnp.arrays(
    np.float64, st.tuples(st.integers(0, 60), st.just(k)),
    elements=st.sampled_from([0.0, 1.0, 2.0, 2.5, 3.0, 7.0, np.inf])))


@settings(max_examples=200, deadline=None)
@given(_POINTS)
def test_front_equals_brute_force_on_random_points_with_ties_and_duplicates(points):
    assert front_indices(points).tolist() == _brute_force_front(points)


@pytest.mark.parametrize(("n", "k", "decimals"), [(6000, 4, None), (6000, 4, 1), (9000, 2, 2), (20000, 3, None)])
def test_front_equals_the_previous_implementation_on_large_sets(n, k, decimals):
    """Large enough for the pivot thinning and several adaptive blocks; rounding makes ties and duplicates."""
    rng = np.random.default_rng(n + k)
    points = rng.random((n, k))
    points[:, 1] = 1 - points[:, 0] + 0.2 * points[:, 1]  # an anti-correlated pair: a long front
    if decimals is not None:
        points = np.round(points, decimals)
    assert np.array_equal(front_indices(points), reference_front_indices(points))


def test_media_do_not_change_the_training_evaluation():
    """What run.evaluate_items relies on to share one evaluation between items that differ only in media."""
    model, system = catalog.get("models", "gpt3-175b"), catalog.get("systems", "dgx-a100-80gb")
    stack = catalog.get("stacks", "deepspeed-megatron")
    workload = TrainingWorkload(model=model, seq_len=2048, tokens=3e11, precision="bf16")
    plans = enumerate_plans(PlanRequest(devices=256, global_batch=512), model, stack, system)
    results = []
    for topology, media in itertools.product(("fat-tree", "rail-only"), ("auto", "optics", "lpo")):
        fabric, _ = design(FabricSpec(topology=topology, switch="eth-51t2-400g", media=media, oversubscription=3.0),
                           256, system.devices_per_node)
        results.append(evaluate_training(workload, system, plans, stack, 256, fabric=fabric))
    for a, b in ((results[0], results[1]), (results[0], results[2]), (results[3], results[5])):
        for part in ("time", "memory", "metrics", "traffic"):
            for key, value in getattr(a, part).items():
                np.testing.assert_array_equal(value, getattr(b, part)[key], err_msg=key)
        np.testing.assert_array_equal(a.reason, b.reason)
    assert not np.array_equal(results[0].time["time/step"], results[3].time["time/step"])  # topology does


def reference_search(cfg: plan_config.PlanConfig) -> dict:
    """The plain search: each group enumerated and evaluated alone, all feasible rows, one brute front."""
    settings_ = list(itertools.product(cfg.sites, cfg.cooling))
    counts = {"configurations": 0, "infeasible": {}, "eliminated": {}}
    tables, groups = [], []
    for g in run.groups(cfg):
        model, system = catalog.get("models", cfg.model), catalog.get("systems", g.system)
        stack = catalog.get("stacks", g.stack)
        workload = TrainingWorkload(model=model, seq_len=cfg.seq_len, tokens=cfg.tokens,
                                    precision=g.precision or system.accelerator.half_precision())
        plans = enumerate_plans(PlanRequest(devices=g.devices, global_batch=g.global_batch, **cfg.fixed),
                                model, stack, system)
        fabric = None if g.fabric == "ideal" else design(
            FabricSpec(topology=g.fabric, switch=cfg.switch, media=g.media, oversubscription=g.oversubscription),
            g.devices, system.devices_per_node)
        result = evaluate_training(workload, system, plans, stack, g.devices, fabric=fabric and fabric[0])
        counts["configurations"] += len(plans) * len(settings_)
        for name, count in feasibility.reason_counts(result.reason).items():
            if name != "ok":
                counts["infeasible"][name] = counts["infeasible"].get(name, 0) + count * len(settings_)
        good = result.take(np.flatnonzero(result.feasible))
        chunk = run.ChunkResult()
        for place in settings_:
            tables.append(run._costed(cfg, g, good, (workload, system, fabric), place, chunk))
            groups.append(g)
        for name, count in chunk.eliminated.items():
            counts["eliminated"][name] = counts["eliminated"].get(name, 0) + count
    points = np.concatenate([np.column_stack([t[k] for k in run.OBJECTIVES]) for t in tables])
    starts = np.cumsum([0] + [len(t["wall_s"]) for t in tables])

    def row(i: int) -> dict:
        n = int(np.searchsorted(starts, i, side="right")) - 1
        return run._rows(cfg, groups[n], tables[n], [i - starts[n]])[0]

    counts["front"] = sorted((row(i) for i in reference_front_indices(points)),
                             key=lambda r: tuple(r[k] for k in run.OBJECTIVES))
    counts["top"] = [row(i) for i in np.lexsort((points[:, 1], points[:, 0]))[:cfg.top_k]]  # stable sort
    counts["feasible"] = len(points)
    return counts


def _report(report: engine.PlanReport) -> dict:
    fields = ("configurations", "infeasible", "eliminated", "front", "top", "feasible")
    return {k: v for k, v in dataclasses.asdict(report).items() if k in fields}


def _example_menu(tmp_path: Path, stacks: list[str]) -> plan_config.PlanConfig:
    """examples/gpt3-175b-384-a100.toml with fewer stacks, sites and cooling options (test time)."""
    lines = []
    for line in EXAMPLE.read_text().splitlines():
        key = line.split("=")[0].strip()
        replace = {"stacks": stacks, "sites": ["no-oslo"], "cooling": ["immersion"]}
        lines.append(f"{key} = {replace[key]!r}".replace("'", '"') if key in replace else line)
    path = tmp_path / "example.toml"
    path.write_text("\n".join(lines) + "\n")
    return plan_config.load(path)


def test_search_equals_reference_on_the_gpt3_example_menu(tmp_path):
    cfg = _example_menu(tmp_path, ["megatron-core", "deepspeed-megatron"])
    assert len(cfg.fabrics) == 5 and len(cfg.media) == 3 and len(cfg.oversubscription) == 3
    expected = reference_search(cfg)
    assert expected["front"] and expected["top"]
    assert _report(engine.search(cfg, workers=2)) == expected


@pytest.mark.parametrize("max_configs", [engine.MAX_CONFIGS_PER_ITEM, 5000])
def test_search_equals_reference_on_a_broad_menu(tmp_path, monkeypatch, max_configs):
    """Several systems, device counts, stacks, fabrics, media and ratios; also with groups cut into slices."""
    path = tmp_path / "broad.toml"
    path.write_text(BROAD)
    cfg = plan_config.load(path)
    monkeypatch.setattr(engine, "MAX_CONFIGS_PER_ITEM", max_configs)
    report = engine.search(cfg, workers=1)
    if max_configs == 5000:
        assert report.items > len(run.groups(cfg))
    assert _report(report) == reference_search(cfg)
